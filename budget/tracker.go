package budget

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"
	"unsafe"

	"github.com/slogate/slogate/slo"
)

// Tracker evaluates one SLO over its History under one schedule. It caches,
// per sealed block, the sums over the block's active minutes, dropping
// those of the blocks the History reports changed, so an evaluation after
// new data decodes only the blocks that changed and the partial blocks at
// window edges.
// Trackers never share caches: a tracker for another schedule or SLO over
// the same History computes its own.
//
// A Tracker is not safe for concurrent use, nor concurrently with changes
// to its History.
type Tracker struct {
	slo       slo.SLO
	sched     *slo.Schedule
	always    bool
	loc       *time.Location
	h         *History
	allowed   float64 // 1 - objective: the fraction that may be bad
	slices    bool
	threshold float64

	// sums[i] is the active sum of block base+i (events, or for
	// timeslices good and counted minutes), or notCached. It never extends
	// past h's blocks and never holds the open block, which changes every
	// minute. Sums are float32 to halve the cache, which is the tracker's
	// memory: a sum that float32 cannot hold exactly is wideSum there and
	// kept in wide. seen is h.changes.n when the sums were last checked
	// against the History's log of changed blocks.
	base int64
	sums []blockSum
	wide map[int64]Counts
	seen uint64

	// act has the schedule's active minutes, for schedules that are not
	// always on.
	act *activity

	// windows memoizes, for the SLO's window and each burn window, the
	// sum over the window's whole blocks, and how far into its first
	// block the sum of the minutes before the window was decoded: as time
	// passes the window moves on by a minute or so within the block.
	windows []windowSum

	// active memoizes the active minutes of whole blocks first to last.
	activeSpan struct{ first, last, n int64 }
}

// blockSum is a block's sum, exact in float32, or wideSum or notCached.
type blockSum struct{ good, total float32 }

var (
	// wideSum marks a sum kept in Tracker.wide.
	wideSum = blockSum{good: float32(math.NaN())}
	// notCached marks a block whose sum is not known.
	notCached = blockSum{good: float32(math.NaN()), total: float32(math.NaN())}
)

// cached reports whether s is not notCached; a cached total is never NaN.
func (s blockSum) cached() bool { return s.total == s.total }

// windowSum is the sum over whole blocks first to last as of the
// History's generation gen.
type windowSum struct {
	first, last int64
	gen         uint32
	sum         Counts
	before      prefixSum
}

// prefixSum is the active sum of the first minutes of sealed block block,
// as of the History's lateGen gen, decoded as far as cur says.
type prefixSum struct {
	block int64
	gen   uint32
	sum   Counts
	cur   intCursor
}

// alwaysOn is the schedule of trackers given none, shared because a
// Schedule takes 1.5 KB and trackers only read it.
var alwaysOn = slo.AlwaysOn()

// Units of a Status.
const (
	UnitEvents  = "events"
	UnitMinutes = "minutes"
)

// NewTracker returns a Tracker of s over h under sched. A nil sched means
// always on; a nil h a new empty History. s must be valid as slo's
// validation leaves it: NewTracker panics if the objective is not strictly
// between 0 and 100 or the window is not set.
func NewTracker(s slo.SLO, sched *slo.Schedule, h *History) *Tracker {
	if !(s.Objective > 0 && s.Objective < 100) {
		panic(fmt.Sprintf("budget: SLO %q has objective %v, want strictly between 0 and 100", s.Name, s.Objective))
	}
	switch {
	case s.Win.IsCalendar():
		if s.Win.Period != slo.Week && s.Win.Period != slo.Month && s.Win.Period != slo.Quarter {
			panic(fmt.Sprintf("budget: SLO %q has unknown calendar window %q", s.Name, s.Win.Period))
		}
	case s.Win.Rolling < time.Minute || s.Win.Rolling%time.Minute != 0:
		panic(fmt.Sprintf("budget: SLO %q has rolling window %v, want whole minutes", s.Name, s.Win.Rolling))
	}
	if sched == nil {
		sched = alwaysOn
	}
	if h == nil {
		h = NewHistory()
	}
	loc := sched.Location
	if loc == nil {
		loc = time.UTC
	}
	t := &Tracker{
		slo: s, sched: sched, always: sched.IsAlways(), loc: loc, h: h,
		allowed:   1 - s.Ratio(),
		slices:    s.Budgeting == slo.Timeslices,
		threshold: s.TimesliceThreshold,
	}
	if !t.always {
		t.act = activityOf(sched)
	}
	t.activeSpan.first = 1 // an empty range: nothing memoized yet
	return t
}

// History returns the History the tracker evaluates.
func (t *Tracker) History() *History { return t.h }

// Sum returns the sum over the active minutes of [from, to), both rounded
// down to the minute: events, or for timeslice SLOs the good minutes as
// Good and the minutes with events as Total.
func (t *Tracker) Sum(from, to time.Time) Counts {
	return t.sum(MinuteOf(from), MinuteOf(to), nil)
}

// sum returns the active sum over the minutes [from, to), memoizing the
// sum over its whole blocks in w if not nil.
func (t *Tracker) sum(from, to Minute, w *windowSum) Counts {
	if from >= to {
		return Counts{}
	}
	fb, fo := blockOf(from)
	lb, lo := blockOf(to - 1)
	var before *prefixSum
	if w != nil {
		before = &w.before
	}
	if fb == lb {
		return t.partial(fb, fo, lo+1, before)
	}
	s := t.partial(fb, fo, blockMinutes, before)
	if w == nil {
		s.add(t.full(fb+1, lb-1))
	} else {
		if w.first != fb+1 || w.last != lb-1 || t.h.changedSince(w.gen, fb+1, lb-1) {
			w.first, w.last, w.gen, w.sum = fb+1, lb-1, t.h.gen, t.full(fb+1, lb-1)
		}
		s.add(w.sum)
	}
	s.add(t.partial(lb, 0, lo+1, nil))
	return s
}

func (c *Counts) add(d Counts) {
	c.Good += d.Good
	c.Total += d.Total
}

// partial returns the active sum over the minutes [lo, hi) of block b,
// resuming from and keeping in before, if not nil, the sum of the minutes
// before lo.
func (t *Tracker) partial(b int64, lo, hi int, before *prefixSum) Counts {
	if lo == 0 && hi == blockMinutes {
		return t.full(b, b)
	}
	if !t.h.holds(b) {
		return Counts{}
	}
	if hi == blockMinutes && t.h.exactPrefixes(b) {
		// Decoding the first lo minutes is cheaper than decoding all, and
		// the difference of exact sums is exact, so the result is the
		// same as summing [lo, 60).
		whole := t.full(b, b)
		if whole.Total < maxInteger {
			var first Counts
			if before != nil {
				first = t.prefix(b, lo, before)
			} else {
				first = t.compute(b, span(0, lo), lo)
			}
			return Counts{Good: whole.Good - first.Good, Total: whole.Total - first.Total}
		}
	}
	return t.compute(b, span(lo, hi), hi)
}

// prefix returns the active sum over the minutes [0, lo) of block b, a
// sealed block of whole counts, continuing from p where it can.
func (t *Tracker) prefix(b int64, lo int, p *prefixSum) Counts {
	data := t.h.encoded(b)
	if gen := t.h.lateGen; p.block != b || p.gen != gen || int(p.cur.next) > lo {
		*p = prefixSum{block: b, gen: gen}
		p.cur.start(data)
	}
	if int(p.cur.next) >= lo {
		return p.sum
	}
	mask := allMinutes
	if !t.always {
		mask = t.mask(b)
	}
	p.cur.advance(data, lo, func(i int, m Counts) {
		if mask&(1<<i) == 0 {
			return
		}
		if !t.slices {
			p.sum.Good += m.Good
			p.sum.Total += m.Total
			return
		}
		if m.Total > 0 {
			p.sum.Total++
			if m.Good/m.Total*100 >= t.threshold {
				p.sum.Good++
			}
		}
	})
	return p.sum
}

// span returns the bitmap of minutes [lo, hi) of a block.
func span(lo, hi int) uint64 {
	return (uint64(1)<<hi - 1) &^ (uint64(1)<<lo - 1)
}

// full returns the active sum over the whole blocks first to last, from
// the cache where the History's block is unchanged.
func (t *Tracker) full(first, last int64) Counts {
	h := t.h
	first = max(first, h.base)
	last = min(last, h.base+int64(len(h.refs))-1)
	if first > last {
		return Counts{}
	}
	t.sync()
	t.cover(first, last)
	sums := t.sums[first-t.base : last-t.base+1]
	var s Counts
	for i := range sums {
		b := first + int64(i)
		if b == h.open {
			s.add(t.compute(b, allMinutes, blockMinutes))
			continue
		}
		if !sums[i].cached() {
			t.store(b, &sums[i], t.compute(b, allMinutes, blockMinutes))
		}
		g, tot := float64(sums[i].good), float64(sums[i].total)
		if g != g { // wideSum: not exact in float32
			c := t.wide[b]
			g, tot = c.Good, c.Total
		}
		s.Good += g
		s.Total += tot
	}
	return s
}

// store keeps c, the sum of block b, in *dst.
func (t *Tracker) store(b int64, dst *blockSum, c Counts) {
	delete(t.wide, b)
	*dst = blockSum{good: float32(c.Good), total: float32(c.Total)}
	if float64(dst.good) == c.Good && float64(dst.total) == c.Total {
		return
	}
	*dst = wideSum
	if t.wide == nil {
		t.wide = map[int64]Counts{}
	}
	t.wide[b] = c
}

// sync drops the sums of the blocks that changed since the last sync, or
// all sums when the History no longer knows which.
func (t *Tracker) sync() {
	if t.seen == t.h.changes.n {
		return
	}
	if !t.h.changes.since(t.seen, t.forget) {
		t.forget(math.MinInt64, math.MaxInt64)
	}
	t.seen = t.h.changes.n
}

// forget drops the sums of blocks first to last.
func (t *Tracker) forget(first, last int64) {
	first, last = max(first, t.base), min(last, t.base+int64(len(t.sums))-1)
	for b := first; b <= last; b++ {
		t.sums[b-t.base] = notCached
		delete(t.wide, b)
	}
}

// cover extends the sum cache to blocks first to last, which are blocks of
// the History.
func (t *Tracker) cover(first, last int64) {
	switch {
	case len(t.sums) == 0:
		t.base = first
		t.sums = append(t.sums[:0], uncached(int(last-first+1))...)
		return
	case first < t.base:
		t.sums = slices.Insert(t.sums, 0, uncached(int(t.base-first))...)
		t.base = first
	}
	if n := int(last - t.base + 1 - int64(len(t.sums))); n > 0 {
		t.sums = append(growSlice(t.sums, n), uncached(n)...)
	}
}

// uncached returns n notCached sums.
func uncached(n int) []blockSum {
	s := make([]blockSum, n)
	for i := range s {
		s[i] = notCached
	}
	return s
}

// compute sums the active minutes of block b within span, which has no
// minute from limit on.
func (t *Tracker) compute(b int64, span uint64, limit int) Counts {
	var scratch minutes
	c, p := t.h.view(b, &scratch, limit)
	p &= span
	if !t.always && p != 0 {
		p &= t.mask(b)
	}
	var s Counts
	if t.slices {
		for ; p != 0; p &= p - 1 {
			m := c[bits.TrailingZeros64(p)]
			if m.Total > 0 {
				s.Total++
				if m.Good/m.Total*100 >= t.threshold {
					s.Good++
				}
			}
		}
		return s
	}
	for ; p != 0; p &= p - 1 {
		m := &c[bits.TrailingZeros64(p)]
		s.Good += m.Good
		s.Total += m.Total
	}
	return s
}

// mask returns the active minutes of block b under a schedule that is not
// always on.
func (t *Tracker) mask(b int64) uint64 {
	return t.act.mask(t.sched, b)
}

// activeMinutes returns how many minutes of [from, to) are active.
func (t *Tracker) activeMinutes(from, to Minute) int64 {
	if from >= to {
		return 0
	}
	if t.always {
		return int64(to - from)
	}
	fb, fo := blockOf(from)
	lb, lo := blockOf(to - 1)
	if fb == lb {
		return int64(bits.OnesCount64(t.mask(fb) & span(fo, lo+1)))
	}
	n := int64(bits.OnesCount64(t.mask(fb)&span(fo, blockMinutes)) + bits.OnesCount64(t.mask(lb)&span(0, lo+1)))
	if a := &t.activeSpan; a.first != fb+1 || a.last != lb-1 {
		a.first, a.last, a.n = fb+1, lb-1, 0
		for b := fb + 1; b < lb; b++ {
			a.n += int64(bits.OnesCount64(t.mask(b)))
		}
	}
	return n + t.activeSpan.n
}

// active reports whether minute m is active.
func (t *Tracker) active(m Minute) bool {
	return t.always || t.sched.Active(m.Time())
}

// trimCaches drops the cached sums of blocks the History no longer has.
func (t *Tracker) trimCaches() {
	if n := int(min(t.h.base-t.base, int64(len(t.sums)))); n > 0 && len(t.h.refs) > 0 {
		for b := t.base; b < t.base+int64(n) && len(t.wide) > 0; b++ {
			delete(t.wide, b)
		}
		t.sums = t.sums[:copy(t.sums, t.sums[n:])]
		t.base += int64(n)
	}
}

// Bytes returns about how many bytes the tracker's caches hold, not
// counting its History.
func (t *Tracker) Bytes() int {
	return cap(t.sums)*8 + len(t.wide)*48 + cap(t.windows)*int(unsafe.Sizeof(windowSum{}))
}
