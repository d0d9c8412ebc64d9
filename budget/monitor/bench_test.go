package monitor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/slo"
)

// benchCatalog has n SLOs with 28-day windows on the always-on schedule.
func benchCatalog(n int) *slo.Catalog {
	svc := &slo.Service{Name: "svc", Owner: slo.Owner{Team: "t"}}
	for i := range n {
		svc.SLOs = append(svc.SLOs, slo.SLO{
			Name: fmt.Sprintf("slo-%d", i), Objective: 99.9, Window: "28d",
			Win: slo.Window{Rolling: 28 * 24 * time.Hour}, Budgeting: slo.Occurrences,
			SLI: slo.SLI{Push: &slo.PushSLI{}},
		})
	}
	return &slo.Catalog{
		Config:    &slo.Config{RetentionMargin: model.Duration(24 * time.Hour)},
		Services:  []*slo.Service{svc},
		Schedules: map[string]*slo.Schedule{slo.AlwaysName: slo.AlwaysOn()},
	}
}

// fillStore writes 28 days of minute buckets for every SLO of cat: about
// 500 events a minute with Poisson-like noise and rare bad bursts.
func fillStore(b testing.TB, path string, cat *slo.Catalog, now time.Time) {
	b.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	from, to := budget.MinuteOf(now.Add(-28*24*time.Hour)), budget.MinuteOf(now)
	for i, s := range cat.Services[0].SLOs {
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		h := budget.NewHistory()
		for m := from; m <= to; m++ {
			total := float64(int(500 + 22*rng.NormFloat64()))
			bad := 0.0
			if rng.IntN(2000) == 0 {
				bad = float64(rng.IntN(50))
			}
			h.Add(m, budget.Counts{Good: total - bad, Total: total})
		}
		var recs []store.BlockRecord
		for _, blk := range h.Dirty() {
			recs = append(recs, store.BlockRecord{SLO: Key(cat.Services[0].Name, s.Name), Block: blk})
		}
		if err := st.Save(context.Background(), recs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestart1000SLOs28d measures what a restart costs: open the
// store, restore 1,000 SLOs × 28 days of minute buckets and evaluate them
// all once, which is when /readyz turns ready. It reports the process's
// resident memory afterwards with the GC target serve uses.
func BenchmarkRestart1000SLOs28d(b *testing.B) {
	const n = 1000
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cat := benchCatalog(n)
	path := filepath.Join(b.TempDir(), "bench.db")
	fillStore(b, path, cat, now)
	old := debug.SetGCPercent(25)
	defer debug.SetGCPercent(old)
	runtime.GC()
	debug.FreeOSMemory()
	for b.Loop() {
		st, err := store.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		m, err := New(Config{Catalog: cat, Store: st})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Restore(context.Background(), now); err != nil {
			b.Fatal(err)
		}
		snap := m.Evaluate(now)
		if got := snap.Services[0].SLOs[0].Budget.Total; got < 28*24*60*400 {
			b.Fatalf("restored %v events in the first SLO's window, want about %v", got, 28*24*60*500)
		}
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MiB")
		b.ReportMetric(rssMiB(), "rss-MiB")
		fi, _ := os.Stat(path)
		b.ReportMetric(float64(fi.Size())/n/1024, "disk-KiB/SLO")
		runtime.KeepAlive(m)
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkReload1000SLOs28d measures what a reload costs the monitor:
// a new monitor for the same 1,000 SLOs copies their 28 days of history
// from the running one and evaluates them all once.
func BenchmarkReload1000SLOs28d(b *testing.B) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	running, st, cat := restoredMonitor(b, 1000, now)
	for b.Loop() {
		m, err := New(Config{Catalog: cat, Store: st})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.RestoreFrom(context.Background(), running, now, nil); err != nil {
			b.Fatal(err)
		}
		snap := m.Evaluate(now)
		if got := snap.Services[0].SLOs[0].Budget.Total; got < 28*24*60*400 {
			b.Fatalf("copied %v events in the first SLO's window, want about %v", got, 28*24*60*500)
		}
	}
}

// BenchmarkSeries28dAt2000Points measures the chart series request at its
// largest: 2,000 points over 28 days of one SLO.
func BenchmarkSeries28dAt2000Points(b *testing.B) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m, _, _ := restoredMonitor(b, 1, now)
	from := now.Add(-28 * 24 * time.Hour)
	step := 28 * 24 * time.Hour / 2000
	for b.Loop() {
		s, err := m.Series("svc", "slo-0", from, now, step)
		if err != nil || len(s.Timestamps) < 1900 {
			b.Fatalf("got %v points, %v", len(s.Timestamps), err)
		}
	}
}

// restoredMonitor is a monitor over benchCatalog(n), restored as at a
// start from a new store holding 28 days of history up to now, which it
// returns open (closed when tb ends) with the catalog.
func restoredMonitor(tb testing.TB, n int, now time.Time) (*Monitor, *store.Store, *slo.Catalog) {
	tb.Helper()
	cat := benchCatalog(n)
	path := filepath.Join(tb.TempDir(), "bench.db")
	fillStore(tb, path, cat, now)
	st, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	m, err := New(Config{Catalog: cat, Store: st})
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Restore(context.Background(), now); err != nil {
		tb.Fatal(err)
	}
	return m, st, cat
}

// rssMiB returns the process's resident memory, or 0 where unknown.
func rssMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(rest)[0])
			return float64(kb) / 1024
		}
	}
	return 0
}
