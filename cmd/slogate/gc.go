package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// gcHeadroom is how much the heap may grow beyond its live size between
// collections, as long as that is between 25% and 100% of the live heap.
//
// SLO histories are long-lived and make up most of a large server's heap:
// Go's default (100%) would let such a process grow to twice their size.
// A fixed lower percentage would instead make a small server (a few MB
// live, busy answering the gate) collect every few hundred requests. A
// fixed headroom serves both: a 55 MiB heap of 1,000 SLOs grows to about
// 79 MiB, a 5 MiB heap to 10 MiB.
const gcHeadroom = 24 << 20

// tuneGC sets the GC target from the live heap every interval until ctx
// ends. It is not used when GOGC is set, which then wins.
func tuneGC(ctx context.Context, interval time.Duration) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	last := -1
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := gcPercent(sample[0].Value.Uint64()); p != last {
				debug.SetGCPercent(p)
				last = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// gcPercent is the GC target giving a heap of live bytes gcHeadroom to
// grow, within 25% and 100%.
func gcPercent(live uint64) int {
	if live == 0 {
		return 100
	}
	return int(min(100, max(25, uint64(gcHeadroom)*100/live)))
}
