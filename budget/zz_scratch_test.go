package budget

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/slogate/slogate/slo"
)

func TestScratchHeap(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	runtime.MemProfileRate = 512
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 1000
	trs := make([]*Tracker, n)
	s := slo.SLO{Name: "availability", Objective: 99.9, Win: rolling(28 * day)}
	from := MinuteOf(benchNow.Add(-28 * day))
	for i := range trs {
		g := newTraffic(uint64(i))
		h := NewHistory()
		for m := from; m <= MinuteOf(benchNow); m++ {
			if c, ok := g.next(); ok {
				h.Add(m, c)
			}
		}
		trs[i] = NewTracker(s, nil, h)
		trs[i].Evaluate(benchNow)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("HeapAlloc/SLO %.0f HeapInuse/SLO %.0f\n", float64(after.HeapAlloc-before.HeapAlloc)/n, float64(after.HeapInuse-before.HeapInuse)/n)
	var arena, arenaCap, refs, refsCap int
	for _, tr := range trs {
		h := tr.h
		arena += len(h.arena) - h.garbage
		arenaCap += cap(h.arena)
		refs += len(h.refs)
		refsCap += cap(h.refs)
	}
	fmt.Printf("arena live %d cap %d refs %d cap %d (per SLO)\n", arena/n, arenaCap/n, refs/n, refsCap/n)
	for _, c := range after.BySize {
		d := c.Mallocs - c.Frees
		if d > 100 {
			fmt.Printf("size %6d live %d\n", c.Size, d)
		}
	}
	f, _ := os.Create("/tmp/heap.out")
	pprof.Lookup("heap").WriteTo(f, 0)
	f.Close()
	runtime.KeepAlive(trs)
}
