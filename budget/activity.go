package budget

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/slogate/slogate/slo"
)

// activity memoizes which minutes of each block a schedule makes active.
// It is shared by every tracker of the same *slo.Schedule, so thousands of
// SLOs on one business-hours schedule ask the schedule about each minute
// once, not once each. It is safe for concurrent use: lookups read an
// immutable table without locking; misses extend a copy of it.
type activity struct {
	mu    sync.Mutex // serializes extensions
	table atomic.Pointer[activeTable]
}

// activeTable has the active minutes of blocks base, base+1, ...
type activeTable struct {
	base  int64
	masks []uint64
}

// activitySpan is how many blocks a miss computes beyond the block asked
// for, so that extensions are rare: a week.
const activitySpan = 7 * 24

// activities holds the activity of each live schedule. Entries go away
// with their schedule, so reloading the config does not leak.
var activities struct {
	sync.Mutex
	m map[weak.Pointer[slo.Schedule]]*activity
}

// activityOf returns the shared activity of s.
func activityOf(s *slo.Schedule) *activity {
	key := weak.Make(s)
	activities.Lock()
	defer activities.Unlock()
	if a := activities.m[key]; a != nil {
		return a
	}
	if activities.m == nil {
		activities.m = map[weak.Pointer[slo.Schedule]]*activity{}
	}
	a := &activity{}
	activities.m[key] = a
	runtime.AddCleanup(s, func(k weak.Pointer[slo.Schedule]) {
		activities.Lock()
		delete(activities.m, k)
		activities.Unlock()
	}, key)
	return a
}

// mask returns the active minutes of block b under s, whose activity a
// is.
func (a *activity) mask(s *slo.Schedule, b int64) uint64 {
	if t := a.table.Load(); t != nil {
		if i := b - t.base; i >= 0 && i < int64(len(t.masks)) {
			return t.masks[i]
		}
	}
	return a.extend(s, b)
}

func (a *activity) extend(s *slo.Schedule, b int64) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.table.Load()
	lo, hi := b-activitySpan, b+activitySpan // blocks [lo, hi]
	if old != nil {
		if i := b - old.base; i >= 0 && i < int64(len(old.masks)) {
			return old.masks[i]
		}
		end := old.base + int64(len(old.masks)) - 1
		if b > end {
			lo = old.base
		} else {
			hi = end
		}
	}
	t := &activeTable{base: lo, masks: make([]uint64, hi-lo+1)}
	for blk := lo; blk <= hi; blk++ {
		if old != nil && blk >= old.base && blk < old.base+int64(len(old.masks)) {
			t.masks[blk-lo] = old.masks[blk-old.base]
			continue
		}
		var m uint64
		for i := range blockMinutes {
			if s.Active(Minute(blk*blockMinutes + int64(i)).Time()) {
				m |= 1 << i
			}
		}
		t.masks[blk-lo] = m
	}
	a.table.Store(t)
	return t.masks[b-lo]
}
