package budget

import (
	"math"
	"math/bits"
	"slices"
	"unsafe"
)

// History holds one SLO's counts per minute. Minutes are grouped in blocks
// of one UTC hour, each kept in the compact encoding described with Block,
// about one byte a minute for ordinary traffic; the most recently added-to
// block is kept unencoded so that adding to the current minute is cheap.
// Memory grows with the span between the earliest and the latest block (8
// bytes an hour even for hours without data), so callers should not add
// minutes far outside their retention.
//
// A History is not safe for concurrent use.
type History struct {
	base    int64      // block number of refs[0]
	refs    []blockRef // one per block from base on
	arena   []byte     // encodings of the blocks, back to back
	garbage int        // bytes of arena no block refers to any more
	gen     uint32     // counts changes of any block
	// lateGen is gen as of the last change to a block other than the open
	// one, or to which block is open: sums over blocks that exclude the
	// open block are unchanged while it stays put.
	lateGen uint32
	openGen uint32 // gen as of the last change to the open block
	dirty   int    // blocks with refDirty set
	open    int64  // block number kept unencoded in raw, or noBlock
	raw     *minutes
	rawMask uint64 // minutes of raw with events
	// changes names the blocks whose content changed other than by adds
	// to the open block, so trackers drop only their sums. Blocks carry
	// no version of their own: that would cost 4 bytes an hour in the
	// History and again in every tracker.
	changes changeLog
}

// blockRef locates one block's encoding in the arena. size 0 means the
// block has no events, or is the open block.
type blockRef struct {
	off   uint32
	size  uint16
	flags uint8
}

// changeLog remembers the last changeLogSize spans of blocks whose
// content changed (or that became the open block, whose content then
// changes without being logged).
type changeLog struct {
	n     uint64 // spans logged so far
	spans [changeLogSize]blockSpan
}

// changeLogSize is how many changes a tracker may miss before it drops all
// its sums: late data comes a minute or a few at a time.
const changeLogSize = 8

// blockSpan is the blocks first to last.
type blockSpan struct{ first, last int64 }

func (l *changeLog) add(first, last int64) {
	l.spans[l.n%changeLogSize] = blockSpan{first, last}
	l.n++
}

// since calls fn with each span logged after the first n, and reports
// false, calling fn for none, when some of them were forgotten.
func (l *changeLog) since(n uint64, fn func(first, last int64)) bool {
	if l.n-n > changeLogSize {
		return false
	}
	for ; n < l.n; n++ {
		s := l.spans[n%changeLogSize]
		fn(s.first, s.last)
	}
	return true
}

const (
	refDirty   = 1 << iota // changed since last marked clean
	refOpen                // content lives in History.raw
	refInteger             // the encoding is in integer mode
)

const noBlock = math.MinInt64

// NewHistory returns an empty History.
func NewHistory() *History {
	return &History{open: noBlock}
}

// Clone returns a copy of h that shares no memory with it, dirty marks
// included.
func (h *History) Clone() *History {
	c := *h
	c.refs = slices.Clone(h.refs)
	c.arena = slices.Clone(h.arena)
	if h.raw != nil {
		raw := *h.raw
		c.raw = &raw
	}
	return &c
}

// blockOf returns the number of the block (UTC hour) containing m and m's
// offset in it.
func blockOf(m Minute) (int64, int) {
	b := floorDiv(int64(m), blockMinutes)
	return b, int(int64(m) - b*blockMinutes)
}

// index returns the position of block b in refs, or -1.
func (h *History) index(b int64) int {
	i := b - h.base
	if len(h.refs) == 0 || i < 0 || i >= int64(len(h.refs)) {
		return -1
	}
	return int(i)
}

// ensure makes room for block b in refs and returns its position.
func (h *History) ensure(b int64) int {
	switch {
	case len(h.refs) == 0:
		h.base = b
		h.refs = append(h.refs[:0], blockRef{})
	case b < h.base:
		n := int(h.base - b)
		h.refs = slices.Insert(h.refs, 0, make([]blockRef, n)...)
		h.base = b
	case b >= h.base+int64(len(h.refs)):
		n := int(b - h.base - int64(len(h.refs)) + 1)
		h.refs = growSlice(h.refs, n)
		h.refs = h.refs[:len(h.refs)+n]
		// Trim leaves old refs past the length.
		clear(h.refs[len(h.refs)-n:])
	}
	return int(b - h.base)
}

// growSlice returns s with room for n more elements. It grows by a
// sixteenth rather than append's quarter or more: the slices it grows hold
// one element an hour, are most of the memory besides the arena, and keep
// whatever capacity they reach once retention trims them.
func growSlice[E any](s []E, n int) []E {
	if len(s)+n <= cap(s) {
		return s
	}
	g := make([]E, len(s), len(s)+n+len(s)/16+4)
	copy(g, s)
	return g
}

// changedSince reports whether any of blocks first to last changed since
// the History's generation was gen.
func (h *History) changedSince(gen uint32, first, last int64) bool {
	if h.lateGen != gen && h.lateGen-gen < 1<<31 {
		return true
	}
	return h.open >= first && h.open <= last && h.openGen-gen-1 < 1<<31
}

// holds reports whether block b may have minutes with events.
func (h *History) holds(b int64) bool {
	i := h.index(b)
	return i >= 0 && (b == h.open || h.refs[i].size != 0)
}

// touch records that the block at position i changed.
func (h *History) touch(i int) {
	h.gen++
	if b := h.base + int64(i); b == h.open {
		h.openGen = h.gen
	} else {
		h.lateGen = h.gen
		h.changes.add(b, b)
	}
	if h.refs[i].flags&refDirty == 0 {
		h.refs[i].flags |= refDirty
		h.dirty++
	}
}

// Add adds c to minute m, which may be any minute, old or new. Adding
// negative counts undoes an earlier Add. Counts that are not finite are
// ignored, so no NaN or infinity can ever reach a sum.
func (h *History) Add(m Minute, c Counts) {
	if !c.finite() || !c.present() {
		return
	}
	b, off := blockOf(m)
	i := h.ensure(b)
	if b != h.open {
		if h.open != noBlock && b < h.open {
			var mins minutes
			h.decode(i, &mins)
			mins[off].Good += c.Good
			mins[off].Total += c.Total
			h.store(i, &mins)
			h.touch(i)
			return
		}
		h.seal()
		i = h.openBlock(b)
	}
	r := &h.raw[off]
	r.Good += c.Good
	r.Total += c.Total
	if r.present() {
		h.rawMask |= 1 << off
	} else {
		h.rawMask &^= 1 << off
	}
	h.touch(i)
}

// seal encodes the open block into the arena.
func (h *History) seal() {
	if h.open == noBlock {
		return
	}
	i := h.index(h.open)
	h.open = noBlock
	h.lateGen = h.gen
	h.refs[i].flags &^= refOpen
	h.store(i, h.raw)
}

// openBlock moves block b's content into raw and returns its position.
func (h *History) openBlock(b int64) int {
	if h.raw == nil {
		h.raw = new(minutes)
	}
	i := h.index(b)
	h.rawMask = h.decode(i, h.raw)
	h.release(i)
	h.refs[i].flags |= refOpen
	h.open = b
	h.lateGen = h.gen
	h.changes.add(b, b)
	return i
}

// decode decodes the block at position i into c and returns its minutes
// with events.
func (h *History) decode(i int, c *minutes) uint64 {
	r := h.refs[i]
	if r.flags&refOpen != 0 {
		*c = *h.raw
		return h.rawMask
	}
	if r.size == 0 {
		*c = minutes{}
		return 0
	}
	p, err := decodeBlock(h.arena[r.off:r.off+uint32(r.size)], c)
	if err != nil {
		panic("budget: corrupt block in memory: " + err.Error())
	}
	return p
}

// view returns the content of block b without copying the open block,
// decoding into scratch otherwise, and its minutes with events. Only the
// minutes before limit are decoded: scratch's others are left as they
// were.
func (h *History) view(b int64, scratch *minutes, limit int) (*minutes, uint64) {
	if b == h.open {
		return h.raw, h.rawMask
	}
	i := h.index(b)
	if i < 0 || h.refs[i].size == 0 {
		return scratch, 0
	}
	r := h.refs[i]
	p, err := decodePrefix(h.arena[r.off:r.off+uint32(r.size)], scratch, limit)
	if err != nil {
		panic("budget: corrupt block in memory: " + err.Error())
	}
	return scratch, p
}

// encoded returns the encoding of sealed block b, or nil.
func (h *History) encoded(b int64) []byte {
	i := h.index(b)
	if i < 0 || b == h.open || h.refs[i].size == 0 {
		return nil
	}
	r := h.refs[i]
	return h.arena[r.off : r.off+uint32(r.size)]
}

// exactPrefixes reports whether sums over block b's minutes are exact, so
// that a sum over its last minutes can be had as the block's sum minus its
// first minutes' without decoding them all: true for sealed blocks of
// whole counts.
func (h *History) exactPrefixes(b int64) bool {
	i := h.index(b)
	return i >= 0 && b != h.open && h.refs[i].flags&refInteger != 0
}

// release drops the arena bytes of the block at position i.
func (h *History) release(i int) {
	h.garbage += int(h.refs[i].size)
	h.refs[i].off, h.refs[i].size = 0, 0
	h.refs[i].flags &^= refInteger
}

// store encodes c as the content of the block at position i.
func (h *History) store(i int, c *minutes) {
	var buf [1 + 8 + 16*blockMinutes]byte
	enc := appendBlock(buf[:0], c)
	h.storeEncoded(i, enc, blockPresence(enc))
}

// storeEncoded keeps enc, a valid encoding with the given minutes with
// events, as the content of the block at position i.
func (h *History) storeEncoded(i int, enc []byte, present uint64) {
	h.release(i)
	if present == 0 {
		return
	}
	if len(h.arena)+len(enc) > cap(h.arena) {
		h.grow(len(enc))
	}
	h.refs[i].off = uint32(len(h.arena))
	h.refs[i].size = uint16(len(enc))
	if isInteger(enc[0]) {
		h.refs[i].flags |= refInteger
	}
	h.arena = append(h.arena, enc...)
}

// grow makes room for n more arena bytes, dropping garbage if there is
// enough of it to be worth a copy. Growth is by a sixteenth rather than
// doubling, and a large arena grows to whole 8 KiB pages, which the
// allocator would round it to anyway: the arena is most of a History's
// memory and is appended to about once an hour.
func (h *History) grow(n int) {
	live := len(h.arena) - h.garbage
	if h.garbage > 256 && h.garbage > live/16 {
		h.compact(arenaCap(live + n))
		return
	}
	a := make([]byte, len(h.arena), arenaCap(len(h.arena)+n))
	copy(a, h.arena)
	h.arena = a
}

// arenaCap returns the capacity to give an arena that must hold n bytes.
func arenaCap(n int) int {
	const page = 8 << 10
	if n+n/16 > 4*page {
		return (n + n/32 + page - 1) / page * page
	}
	return n + n/16 + 256
}

// compact copies the live blocks into a new arena of capacity c.
func (h *History) compact(c int) {
	a := make([]byte, 0, c)
	for i := range h.refs {
		r := &h.refs[i]
		if r.size == 0 {
			continue
		}
		off := len(a)
		a = append(a, h.arena[r.off:r.off+uint32(r.size)]...)
		r.off = uint32(off)
	}
	h.arena, h.garbage = a, 0
}

// At returns the counts of minute m; zero for a minute without data.
func (h *History) At(m Minute) Counts {
	b, off := blockOf(m)
	var scratch minutes
	c, _ := h.view(b, &scratch, blockMinutes)
	return c[off]
}

// Each calls fn for every minute in [from, to) that has data (Good or
// Total not zero), in order. Minutes without data are skipped. fn must not
// change h.
func (h *History) Each(from, to Minute, fn func(Minute, Counts)) {
	if from >= to || len(h.refs) == 0 {
		return
	}
	first, _ := blockOf(from)
	last, _ := blockOf(to - 1)
	first = max(first, h.base)
	last = min(last, h.base+int64(len(h.refs))-1)
	var scratch minutes
	for b := first; b <= last; b++ {
		c, p := h.view(b, &scratch, blockMinutes)
		for ; p != 0; p &= p - 1 {
			m := Minute(b*blockMinutes + int64(bits.TrailingZeros64(p)))
			if m >= from && m < to {
				fn(m, c[m-Minute(b*blockMinutes)])
			}
		}
	}
}

// Trim drops the blocks that end at or before before: whole hours only, so
// minutes of before's hour stay. Dropped blocks are no longer reported as
// dirty.
func (h *History) Trim(before Minute) {
	cut, _ := blockOf(before)
	if len(h.refs) == 0 || cut <= h.base {
		return
	}
	n := int(min(cut-h.base, int64(len(h.refs))))
	for i := range n {
		if h.refs[i].flags&refDirty != 0 {
			h.dirty--
		}
		h.release(i)
	}
	if h.open != noBlock && h.open < cut {
		h.open = noBlock
	}
	h.gen++
	h.lateGen = h.gen
	h.changes.add(math.MinInt64, cut-1)
	h.refs = h.refs[:copy(h.refs, h.refs[n:])]
	h.base += int64(n)
	live := len(h.arena) - h.garbage
	if h.garbage > 256 && h.garbage > live/16 {
		h.compact(arenaCap(live))
	}
}

// First returns the earliest minute with data, and false when there is
// none.
func (h *History) First() (Minute, bool) {
	for i := range h.refs {
		if p := h.presence(i); p != 0 {
			return Minute((h.base+int64(i))*blockMinutes + int64(bits.TrailingZeros64(p))), true
		}
	}
	return 0, false
}

// Last returns the latest minute with data, and false when there is none.
func (h *History) Last() (Minute, bool) {
	for i := len(h.refs) - 1; i >= 0; i-- {
		if p := h.presence(i); p != 0 {
			return Minute((h.base+int64(i))*blockMinutes + int64(63-bits.LeadingZeros64(p))), true
		}
	}
	return 0, false
}

// presence returns the minutes with events of the block at position i.
func (h *History) presence(i int) uint64 {
	r := h.refs[i]
	switch {
	case r.flags&refOpen != 0:
		return h.rawMask
	case r.size == 0:
		return 0
	}
	return blockPresence(h.arena[r.off:])
}

// Bytes returns about how many bytes of memory h holds.
func (h *History) Bytes() int {
	n := int(unsafe.Sizeof(*h)) + cap(h.arena) + cap(h.refs)*int(unsafe.Sizeof(blockRef{}))
	if h.raw != nil {
		n += int(unsafe.Sizeof(*h.raw))
	}
	return n
}
