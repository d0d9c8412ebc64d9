package budget

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/slo"
)

// benchNow is the evaluation time benchmarks start from: minute 17 of an
// hour, so windows have partial blocks at both edges.
var benchNow = time.Date(2024, 6, 12, 14, 17, 30, 0, time.UTC)

// blockPool returns n distinct hours of realistic traffic, encoded.
func blockPool(n int) []Block {
	h := NewHistory()
	g := newTraffic(99)
	var out []Block
	for m := Minute(0); len(out) < n; m += blockMinutes {
		g.rate = 300 + 700*g.rng.Float64()
		for i := range Minute(blockMinutes) {
			if c, ok := g.next(); ok {
				h.Add(m+i, c)
			}
		}
		out = append(out, h.Dirty()...)
		h.MarkClean(h.Dirty())
		h.Trim(m)
	}
	return out
}

// benchHistory returns a History with the 28 days before now, its blocks
// taken from pool and the current hour added minute by minute.
func benchHistory(rng *rand.Rand, pool []Block, now time.Time, days int) *History {
	h := NewHistory()
	cur, _ := blockOf(MinuteOf(now))
	for b := cur - int64(days*24); b < cur; b++ {
		src := pool[rng.IntN(len(pool))]
		if err := h.LoadBlock(Block{Start: Minute(b * blockMinutes), Data: src.Data}); err != nil {
			panic(err)
		}
	}
	for m := Minute(cur * blockMinutes); m <= MinuteOf(now); m++ {
		h.Add(m, Counts{Good: 600, Total: 600})
	}
	return h
}

// BenchmarkEvaluate10000SLOs measures one evaluation round of 10,000 SLOs
// with 28 days of history each, after one new minute was added to each:
// every SLO's budget, seven burn rates and two forecasts.
func BenchmarkEvaluate10000SLOs(b *testing.B) {
	pool := blockPool(3000)
	business := mustSchedule(b, slo.ScheduleSpec{
		Name: "business", TimeZone: "Europe/Berlin",
		Weekly: []slo.WeeklyRule{{Days: []string{"mon-fri"}, Hours: []string{"08:00-18:00"}}},
	})
	for _, bc := range []struct {
		name  string
		sched *slo.Schedule
	}{{"always on", slo.AlwaysOn()}, {"business hours", business}} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			s := slo.SLO{Name: "availability", Objective: 99.9, Win: rolling(28 * day)}
			trs := make([]*Tracker, 10000)
			for i := range trs {
				trs[i] = NewTracker(s, bc.sched, benchHistory(rng, pool, benchNow, 28))
			}
			now := benchNow
			for _, tr := range trs {
				tr.Evaluate(now)
			}
			var sink float64
			for b.Loop() {
				now = now.Add(time.Minute)
				m := MinuteOf(now)
				for i, tr := range trs {
					tr.History().Add(m, Counts{Good: float64(590 + i%10), Total: 600})
					st := tr.Evaluate(now)
					sink += st.RemainingRatio
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(trs)), "ns/SLO")
			_ = sink
		})
	}
}

// BenchmarkMemory1000SLOs builds 1,000 SLOs with 28 days of realistic
// minute-by-minute traffic, added as sources add it, and reports the
// memory they hold. It runs with the GC percent at 25, as the server does,
// so that rss-gogc25-MiB is the resident memory the server would have.
func BenchmarkMemory1000SLOs(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	for b.Loop() {
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
		var hist, cache int
		for _, tr := range trs {
			hist += tr.History().Bytes()
			cache += tr.Bytes()
		}
		b.ReportMetric(float64(hist)/n, "history-bytes/SLO")
		b.ReportMetric(float64(hist)/n/float64(28*24*60), "history-bytes/minute")
		b.ReportMetric(float64(cache)/n, "tracker-bytes/SLO")
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n, "heap-bytes/SLO")
		b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(rssMiB(), "rss-gogc25-MiB")
		debug.FreeOSMemory()
		b.ReportMetric(rssMiB(), "rss-after-free-MiB")
		runtime.KeepAlive(trs)
	}
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

func BenchmarkAdd(b *testing.B) {
	h := NewHistory()
	m := MinuteOf(benchNow)
	for b.Loop() {
		h.Add(m, Counts{Good: 1, Total: 1})
	}
}

func BenchmarkBlockEncoding(b *testing.B) {
	pool := blockPool(100)
	var c minutes
	b.Run("decode", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := decodeBlock(pool[i%len(pool)].Data, &c); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		for b.Loop() {
			buf = appendBlock(buf[:0], &c)
		}
	})
	total := 0
	for _, blk := range pool {
		total += len(blk.Data)
	}
	fmt.Fprintf(os.Stderr, "average block: %.1f bytes\n", float64(total)/float64(len(pool)))
}
