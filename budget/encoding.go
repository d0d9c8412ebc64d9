package budget

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// A block holds the 60 minutes of one UTC hour. Its encoding is the same in
// memory and on disk:
//
//	header    1 byte: bits 0-1 the mode (1 integer, 2 float, 3 integer with
//	          runs); bit 2 set when every minute has events, so the bitmap
//	          is omitted; bit 3 set (integer mode only) when no minute has
//	          bad events, so no bad counts are written; bits 4-7 zero.
//	bitmap    8 bytes, little endian: bit i set when minute i has events
//	          (Good or Total not zero); bits 60-63 zero.
//	integer mode, when at least one minute has events:
//	          base, the median Total of the minutes with events, a uvarint;
//	          k1, 1 byte, and unless bit 3 is set k2, 1 byte;
//	          a bit stream, least significant bit first, with for each
//	          minute with events in order Rice(k1) of zigzag(Total - base)
//	          and, unless bit 3 is set, Rice(k2) of Bad = Total - Good;
//	          zero-padded to a whole byte.
//	integer with runs mode, the same but for how Bad is written, for
//	          blocks with at least one minute with events and bad events:
//	          base, a uvarint;
//	          k1, k2 and kr, 2 bytes little endian: k1 in bits 0-5, k2 in
//	          bits 6-11, kr in bits 12-14, bit 15 zero;
//	          a bit stream with for each minute with events Rice(k1) of
//	          zigzag(Total - base), and after it, when the minute starts a
//	          run, Rice(kr) of the number of minutes with events from it on
//	          whose Bad is zero, and when the minute has bad events, Rice(k2)
//	          of Bad - 1. A run starts at the first minute with events and at
//	          each minute after one with bad events; a run is as long as it
//	          can be, so the minute after it has bad events.
//	float mode: Good then Total of each minute with events, as little
//	          endian IEEE 754 float64.
//
// Rice(k) of v is q = v>>k one bits, a zero bit and the k low bits of v; a
// quotient of riceEscape or more is written instead as riceEscape one bits,
// the bit length L of v in 6 bits and then the L bits of v, so a burst or a
// counter catching up after a gap costs a few bytes, not hundreds. Each
// minute's counts follow the previous minute's, so the first minutes of a
// block decode without the rest.
//
// Integer mode is used when every count is a whole number with
// 0 <= Good <= Total < 2^53, which is what counter increases give. Traffic
// of a few hundred events a minute then takes about one byte a minute;
// anything else falls back to the float mode's 16 bytes a minute. Bad
// events are usually rare, a minute or two an hour, so the encoder writes
// them as runs (which cost a few bits per minute with bad events instead
// of a bit per minute) unless that is longer. The runs mode was added
// after the first blocks were saved; the plain integer mode is still
// written for blocks without bad events and read for all.

const (
	blockMinutes = 60
	allMinutes   = uint64(1)<<blockMinutes - 1

	modeInt   = 1
	modeFloat = 2
	modeRuns  = 3
	modeBits  = 3
	flagFull  = 1 << 2
	flagNoBad = 1 << 3

	maxInteger = 1 << 53
	riceEscape = 20
	maxRiceK   = 55
)

// errBlock marks every block decoding error.
var errBlock = errors.New("invalid block encoding")

func blockErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBlock, fmt.Sprintf(format, args...))
}

// minutes is the content of one block, minute by minute; absent minutes
// are zero.
type minutes [blockMinutes]Counts

// presence returns the bitmap of the minutes of c that have events.
func (c *minutes) presence() uint64 {
	var p uint64
	for i := range c {
		if c[i].present() {
			p |= 1 << i
		}
	}
	return p
}

// isInteger reports whether header is that of an integer or runs mode
// block.
func isInteger(header byte) bool {
	m := header & modeBits
	return m == modeInt || m == modeRuns
}

// isCount reports whether v fits the integer mode.
func isCount(v float64) bool {
	return v >= 0 && v < maxInteger && v == math.Trunc(v)
}

// appendBlock appends the encoding of c to dst.
func appendBlock(dst []byte, c *minutes) []byte {
	present := c.presence()
	integer, noBad := true, present != 0
	for x := present; x != 0; x &= x - 1 {
		m := c[bits.TrailingZeros64(x)]
		if !isCount(m.Good) || !isCount(m.Total) || m.Good > m.Total {
			integer = false
			break
		}
		if m.Good != m.Total {
			noBad = false
		}
	}
	header := byte(modeFloat)
	if integer {
		header = modeInt
		if noBad {
			header |= flagNoBad
		}
	}
	if present == allMinutes {
		header |= flagFull
	}
	start := len(dst)
	dst = append(dst, header)
	if present != allMinutes {
		dst = binary.LittleEndian.AppendUint64(dst, present)
	}
	if !integer {
		for x := present; x != 0; x &= x - 1 {
			m := c[bits.TrailingZeros64(x)]
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(m.Good))
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(m.Total))
		}
		return dst
	}
	n := bits.OnesCount64(present)
	if n == 0 {
		return dst
	}
	var totals, bads [blockMinutes]uint64
	i := 0
	for x := present; x != 0; x &= x - 1 {
		m := c[bits.TrailingZeros64(x)]
		totals[i], bads[i] = uint64(m.Total), uint64(m.Total-m.Good)
		i++
	}
	sorted := totals
	slices.Sort(sorted[:n])
	base := sorted[n/2]
	dst = binary.AppendUvarint(dst, base)
	var deltas [blockMinutes]uint64
	for i := range n {
		deltas[i] = zigzag(int64(totals[i]) - int64(base))
	}
	k1, _ := riceParam(deltas[:n])
	var w bitWriter
	if noBad {
		dst = append(dst, byte(k1))
		for i := range n {
			w.rice(deltas[i], k1)
		}
		return w.appendTo(dst)
	}
	k2, perMinute := riceParam(bads[:n])
	var runs, vals [blockMinutes]uint64
	nr, nv := badTokens(bads[:n], &runs, &vals)
	kr, runCost := riceParam(runs[:nr])
	kv, valCost := riceParam(vals[:nv])
	if perMinute <= runCost+valCost {
		dst = append(dst, byte(k1), byte(k2))
		for i := range n {
			w.rice(deltas[i], k1)
			w.rice(bads[i], k2)
		}
		return w.appendTo(dst)
	}
	dst[start] = dst[start]&^modeBits | modeRuns
	dst = binary.LittleEndian.AppendUint16(dst, uint16(k1|kv<<6|kr<<12))
	var bs badState
	ri, vi := 0, 0
	for i := range n {
		w.rice(deltas[i], k1)
		if bs.needRun() {
			w.rice(runs[ri], kr)
			bs.run(runs[ri])
			ri++
		}
		if bs.bad() {
			w.rice(vals[vi], kv)
			vi++
		}
	}
	return w.appendTo(dst)
}

// badState follows the runs of minutes without bad events through a runs
// mode block, minute by minute, the same way when writing and reading.
type badState struct {
	// zeros is how many minutes of the current run are left, or 0 when
	// the next minute starts a run, or -1 when it has bad events.
	zeros int8
}

// needRun reports whether the next minute starts a run, whose length is
// to be passed to run.
func (s *badState) needRun() bool { return s.zeros == 0 }

func (s *badState) run(n uint64) {
	s.zeros = int8(n)
	if n == 0 {
		s.zeros = -1
	}
}

// bad steps to the next minute and reports whether it has bad events.
func (s *badState) bad() bool {
	if s.zeros < 0 {
		s.zeros = 0
		return true
	}
	if s.zeros--; s.zeros == 0 {
		s.zeros = -1
	}
	return false
}

// badTokens splits bads, the bad counts of the minutes with events, into
// the lengths of the runs without bad events and the other counts less
// one, in the order the runs mode writes them.
func badTokens(bads []uint64, runs, vals *[blockMinutes]uint64) (nr, nv int) {
	var bs badState
	for i, b := range bads {
		if bs.needRun() {
			n := 0
			for i+n < len(bads) && bads[i+n] == 0 {
				n++
			}
			runs[nr] = uint64(n)
			nr++
			bs.run(uint64(n))
		}
		if bs.bad() {
			vals[nv] = b - 1
			nv++
		}
	}
	return nr, nv
}

// decodeBlock decodes data into c and returns the bitmap of minutes with
// events. It never panics, whatever data holds.
func decodeBlock(data []byte, c *minutes) (uint64, error) {
	*c = minutes{}
	return decodePrefix(data, c, blockMinutes)
}

// decodePrefix decodes the minutes before limit of data into c, leaving
// c's other minutes as they were, and returns the bitmap of all minutes
// with events. With a limit below 60 it checks less of data, so it is
// meant for encodings that were checked before.
func decodePrefix(data []byte, c *minutes, limit int) (uint64, error) {
	if len(data) == 0 {
		return 0, blockErr("empty")
	}
	header := data[0]
	if header&^(modeBits|flagFull|flagNoBad) != 0 {
		return 0, blockErr("unknown header bits %#x", header)
	}
	mode := header & modeBits
	if mode == 0 {
		return 0, blockErr("unknown mode %d", mode)
	}
	if mode != modeInt && header&flagNoBad != 0 {
		return 0, blockErr("no-bad flag in mode %d", mode)
	}
	data = data[1:]
	present := allMinutes
	if header&flagFull == 0 {
		if len(data) < 8 {
			return 0, blockErr("short bitmap")
		}
		present = binary.LittleEndian.Uint64(data)
		data = data[8:]
		if present&^allMinutes != 0 {
			return 0, blockErr("bitmap has minutes past 59")
		}
		if present == allMinutes {
			return 0, blockErr("full bitmap written out")
		}
	}
	switch mode {
	case modeFloat:
		return present, decodeFloats(data, present, c)
	case modeRuns:
		return present, decodeRuns(data, present, c, limit)
	}
	return present, decodeIntegers(data, present, header&flagNoBad != 0, c, limit)
}

func decodeFloats(data []byte, present uint64, c *minutes) error {
	if len(data) != 16*bits.OnesCount64(present) {
		return blockErr("float block of %d bytes for %d minutes", len(data), bits.OnesCount64(present))
	}
	for x := present; x != 0; x &= x - 1 {
		i := bits.TrailingZeros64(x)
		m := Counts{
			Good:  math.Float64frombits(binary.LittleEndian.Uint64(data)),
			Total: math.Float64frombits(binary.LittleEndian.Uint64(data[8:])),
		}
		data = data[16:]
		if !m.finite() {
			return blockErr("minute %d is not finite", i)
		}
		if !m.present() {
			return blockErr("minute %d marked present but empty", i)
		}
		c[i] = m
	}
	return nil
}

func decodeIntegers(data []byte, present uint64, noBad bool, c *minutes, limit int) error {
	if present == 0 {
		if len(data) != 0 || noBad {
			return blockErr("data in an empty block")
		}
		return nil
	}
	base, k := binary.Uvarint(data)
	if k <= 0 || base >= maxInteger {
		return blockErr("bad base total")
	}
	data = data[k:]
	if len(data) < 1 || data[0] > maxRiceK {
		return blockErr("bad total parameter")
	}
	k1, k2 := uint(data[0]), uint(0)
	data = data[1:]
	if !noBad {
		if len(data) < 1 || data[0] > maxRiceK {
			return blockErr("bad bad-events parameter")
		}
		k2, data = uint(data[0]), data[1:]
	}
	// Count the values to read: one or two per minute before limit.
	per := 2
	if noBad {
		per = 1
	}
	nv := bits.OnesCount64(present&(uint64(1)<<min(limit, blockMinutes)-1)) * per
	// The bit reader's state lives in locals so that it stays in
	// registers; riceSlow takes over for escapes and the stream's end.
	var (
		vals [2 * blockMinutes]uint64
		acc  uint64 // unread bits; bits above nb are zero
		nb   uint
		pos  int
	)
	for j := range nv {
		k := k1
		if per == 2 && j&1 == 1 {
			k = k2
		}
		if nb <= 56 && pos+8 <= len(data) {
			adv := (64 - nb) >> 3
			v := binary.LittleEndian.Uint64(data[pos:])
			if adv < 8 {
				v &= 1<<(adv*8) - 1
			}
			acc |= v << nb
			pos += int(adv)
			nb += adv * 8
		}
		q := uint(bits.TrailingZeros64(^acc))
		if q < riceEscape && q+1+k <= nb {
			vals[j] = uint64(q)<<k | (acc>>(q+1))&(1<<k-1)
			acc >>= q + 1 + k
			nb -= q + 1 + k
			continue
		}
		r := bitReader{data: data, pos: pos, acc: acc, n: nb}
		v, ok := r.riceSlow(k)
		if !ok {
			return blockErr("short stream")
		}
		vals[j], pos, acc, nb = v, r.pos, r.acc, r.n
	}
	j := 0
	for x := present; x != 0 && j < nv; x &= x - 1 {
		i := bits.TrailingZeros64(x)
		total := int64(base) + unzigzag(vals[j])
		if total <= 0 || total >= maxInteger {
			return blockErr("minute %d: total out of range", i)
		}
		m := &c[i]
		m.Total = float64(total)
		m.Good = m.Total
		if per == 2 {
			bad := vals[j+1]
			if bad > uint64(total) {
				return blockErr("minute %d has more bad than total events", i)
			}
			m.Good = float64(total - int64(bad))
		}
		j += per
	}
	if limit < blockMinutes {
		return nil
	}
	if r := (bitReader{data: data, pos: pos, acc: acc, n: nb}); !r.done() {
		return blockErr("trailing data")
	}
	return nil
}

func decodeRuns(data []byte, present uint64, c *minutes, limit int) error {
	if present == 0 {
		return blockErr("runs mode without minutes")
	}
	base, k1, k2, kr, n, err := runsParams(data)
	if err != nil {
		return err
	}
	r := bitReader{data: data[n:]}
	var bs badState
	for x := present & span(0, min(limit, blockMinutes)); x != 0; x &= x - 1 {
		i := bits.TrailingZeros64(x)
		v, ok := r.rice(k1)
		total := int64(base) + unzigzag(v)
		if !ok || total <= 0 || total >= maxInteger {
			return blockErr("minute %d: short stream or total out of range", i)
		}
		var bad uint64
		if bs.needRun() {
			run, ok := r.rice(kr)
			if !ok || run > blockMinutes {
				return blockErr("minute %d: short stream or run out of range", i)
			}
			bs.run(run)
		}
		if bs.bad() {
			v, ok := r.rice(k2)
			if !ok || v >= uint64(total) {
				return blockErr("minute %d: short stream or more bad than total events", i)
			}
			bad = v + 1
		}
		c[i] = Counts{Good: float64(total - int64(bad)), Total: float64(total)}
	}
	if limit < blockMinutes {
		return nil
	}
	if bs.zeros > 0 {
		return blockErr("run past the last minute")
	}
	if !r.done() {
		return blockErr("trailing data")
	}
	return nil
}

// runsParams reads the base and Rice parameters that start the body of a
// runs mode block, and returns how many bytes they take.
func runsParams(data []byte) (base uint64, k1, k2, kr uint, n int, err error) {
	base, n = binary.Uvarint(data)
	if n <= 0 || base >= maxInteger {
		return 0, 0, 0, 0, 0, blockErr("bad base total")
	}
	if len(data) < n+2 {
		return 0, 0, 0, 0, 0, blockErr("short parameters")
	}
	p := binary.LittleEndian.Uint16(data[n:])
	k1, k2, kr = uint(p&63), uint(p>>6&63), uint(p>>12)
	if k1 > maxRiceK || k2 > maxRiceK || kr > 7 {
		return 0, 0, 0, 0, 0, blockErr("bad parameters %#x", p)
	}
	return base, k1, k2, kr, n + 2, nil
}

// blockPresence returns the bitmap of minutes with events of a block
// encoding that decodeBlock accepted.
func blockPresence(data []byte) uint64 {
	if data[0]&flagFull != 0 {
		return allMinutes
	}
	return binary.LittleEndian.Uint64(data[1:])
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// riceParam returns the Rice parameter that encodes vs in the fewest bits,
// and how many bits that is.
func riceParam(vs []uint64) (uint, int) {
	var most uint64
	for _, v := range vs {
		most |= v
	}
	best, bestCost := uint(0), math.MaxInt
	for k := uint(0); k <= uint(bits.Len64(most)); k++ {
		cost := 0
		for _, v := range vs {
			if q := v >> k; q < riceEscape {
				cost += int(q) + 1 + int(k)
			} else {
				cost += riceEscape + 6 + bits.Len64(v)
			}
		}
		if cost < bestCost {
			best, bestCost = k, cost
		}
	}
	return best, bestCost
}

// bitWriter collects bits, least significant first, in a fixed buffer
// rather than appending to a caller's slice: an append through a pointer
// would move the callers' stack buffers to the heap, a kilobyte of garbage
// per block encoded.
type bitWriter struct {
	buf [maxIntegerBlock]byte
	len int
	acc uint64
	n   uint
}

// maxIntegerBlock bounds the bit stream of an integer block: 120 values of
// at most riceEscape+6+55 bits each.
// The runs mode is only written when it is shorter than that.
const maxIntegerBlock = 2*blockMinutes*(riceEscape+6+maxRiceK)/8 + 1

// write appends the low n bits of v; n is at most 56.
func (w *bitWriter) write(v uint64, n uint) {
	for w.n >= 8 {
		w.buf[w.len] = byte(w.acc)
		w.len++
		w.acc >>= 8
		w.n -= 8
	}
	w.acc |= (v & (1<<n - 1)) << w.n
	w.n += n
}

func (w *bitWriter) rice(v uint64, k uint) {
	if q := v >> k; q < riceEscape {
		w.write(1<<q-1, uint(q)+1)
		w.write(v, k)
		return
	}
	l := uint(bits.Len64(v))
	w.write(1<<riceEscape-1, riceEscape)
	w.write(uint64(l), 6)
	w.write(v, l)
}

// appendTo appends the bits written, zero-padded to a whole byte, to dst.
func (w *bitWriter) appendTo(dst []byte) []byte {
	for w.n > 0 {
		w.buf[w.len] = byte(w.acc)
		w.len++
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
	return append(dst, w.buf[:w.len]...)
}

// bitReader reads bits written by bitWriter. Bits of acc above n are zero.
type bitReader struct {
	data []byte
	pos  int
	acc  uint64
	n    uint
}

func (r *bitReader) refill() {
	if r.pos+8 <= len(r.data) && r.n <= 56 {
		// Whole bytes that fit, in one load.
		k := (64 - r.n) / 8
		v := binary.LittleEndian.Uint64(r.data[r.pos:])
		if k < 8 {
			v &= 1<<(8*k) - 1
		}
		r.acc |= v << r.n
		r.pos += int(k)
		r.n += 8 * k
		return
	}
	for r.n <= 56 && r.pos < len(r.data) {
		r.acc |= uint64(r.data[r.pos]) << r.n
		r.pos++
		r.n += 8
	}
}

// read returns the next n bits; n is at most 57.
func (r *bitReader) read(n uint) (uint64, bool) {
	if r.n < n {
		r.refill()
		if r.n < n {
			return 0, false
		}
	}
	v := r.acc & (1<<n - 1)
	r.acc >>= n
	r.n -= n
	return v, true
}

// rice reads one Rice(k) value.
func (r *bitReader) rice(k uint) (uint64, bool) {
	if r.n <= 56 {
		r.refill()
	}
	q := uint(bits.TrailingZeros64(^r.acc))
	if q < riceEscape && q+1+k <= r.n {
		v := uint64(q)<<k | (r.acc>>(q+1))&(1<<k-1)
		r.acc >>= q + 1 + k
		r.n -= q + 1 + k
		return v, true
	}
	return r.riceSlow(k)
}

// riceSlow reads one Rice(k) value bit group by bit group, for escapes,
// long values and the end of the stream.
func (r *bitReader) riceSlow(k uint) (uint64, bool) {
	r.refill()
	q := uint(bits.TrailingZeros64(^r.acc))
	if q >= riceEscape {
		if r.n < riceEscape {
			return 0, false
		}
		r.acc >>= riceEscape
		r.n -= riceEscape
		l, ok := r.read(6)
		if !ok || l > maxRiceK {
			return 0, false
		}
		return r.read(uint(l))
	}
	if q+1 > r.n {
		return 0, false
	}
	r.acc >>= q + 1
	r.n -= q + 1
	low, ok := r.read(k)
	return uint64(q)<<k | low, ok
}

// done reports whether only zero padding of less than a byte is left.
func (r *bitReader) done() bool {
	return r.pos == len(r.data) && r.n < 8 && r.acc == 0
}

// intCursor decodes an integer-mode block minute by minute, resumably. It
// holds positions, not the bytes, so the History may move the block's
// encoding (which never changes without a new version) between calls.
type intCursor struct {
	present    uint64
	base       uint64
	acc        uint64 // reader state: unread bits, bits above nb zero
	pos        uint16 // reader state: next byte of the block's encoding
	nb         uint8
	k1, k2, kr uint8
	noBad      bool
	runs       bool     // a runs mode block
	bad        badState // in a runs mode block
	next       uint8    // minutes before next are decoded
}

// start sets c to the beginning of data, the encoding of an integer-mode
// block with at least one minute with events that decodeBlock accepted.
func (c *intCursor) start(data []byte) {
	*c = intCursor{present: blockPresence(data), noBad: data[0]&flagNoBad != 0, runs: data[0]&modeBits == modeRuns}
	p := 1
	if data[0]&flagFull == 0 {
		p += 8
	}
	if c.runs {
		base, k1, k2, kr, n, _ := runsParams(data[p:])
		c.base, c.k1, c.k2, c.kr = base, uint8(k1), uint8(k2), uint8(kr)
		c.pos = uint16(p + n)
		return
	}
	base, k := binary.Uvarint(data[p:])
	p += k
	c.base, c.k1 = base, data[p]
	p++
	if !c.noBad {
		c.k2 = data[p]
		p++
	}
	c.pos = uint16(p)
}

// advance decodes the minutes with events before limit that are not
// decoded yet, calling fn with each in order.
func (c *intCursor) advance(data []byte, limit int, fn func(i int, m Counts)) {
	r := bitReader{data: data, pos: int(c.pos), acc: c.acc, n: uint(c.nb)}
	for x := c.present &^ (uint64(1)<<c.next - 1); x != 0; x &= x - 1 {
		i := bits.TrailingZeros64(x)
		if i >= limit {
			break
		}
		v, _ := r.rice(uint(c.k1))
		total := float64(int64(c.base) + unzigzag(v))
		good := total
		switch {
		case c.runs:
			if c.bad.needRun() {
				n, _ := r.rice(uint(c.kr))
				c.bad.run(n)
			}
			if c.bad.bad() {
				bad, _ := r.rice(uint(c.k2))
				good = total - float64(bad+1)
			}
		case !c.noBad:
			bad, _ := r.rice(uint(c.k2))
			good = total - float64(bad)
		}
		fn(i, Counts{Good: good, Total: total})
	}
	c.next = uint8(max(int(c.next), min(limit, blockMinutes)))
	c.pos, c.acc, c.nb = uint16(r.pos), r.acc, uint8(r.n)
}
