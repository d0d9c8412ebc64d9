package budget

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/slogate/slogate/slo"
)

// fixture is one History and the same counts in a plain map, for the
// reference.
type fixture struct {
	h    *History
	data map[Minute]Counts
}

func newFixture() *fixture {
	return &fixture{h: NewHistory(), data: map[Minute]Counts{}}
}

func (f *fixture) add(m Minute, c Counts) {
	f.h.Add(m, c)
	old := f.data[m]
	old.Good += c.Good
	old.Total += c.Total
	f.data[m] = old
}

// track returns a tracker and its reference for s under sched over f.
func (f *fixture) track(s slo.SLO, sched *slo.Schedule) (*Tracker, *reference) {
	return NewTracker(s, sched, f.h), &reference{slo: s, sched: sched, data: f.data}
}

// traffic is a generator of realistic counts: a few hundred events a
// minute with Poisson-like noise, a trickle of bad events, rare bursts of
// errors and rare gaps after which a source catches up in one big minute.
type traffic struct {
	rng        *rand.Rand
	rate       float64
	burstLeft  int
	burstRatio float64
	gapLeft    int
	owed       Counts
	// BurstChance and GapChance are per-minute probabilities.
	burstChance, gapChance float64
	// fraction, when not zero, makes counts multiples of it.
	fraction float64
}

func newTraffic(seed uint64) *traffic {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &traffic{rng: rng, rate: 300 + 700*rng.Float64(), burstChance: 0.0005, gapChance: 0.0002}
}

// next returns the counts of the next minute; ok is false for a minute
// without data.
func (g *traffic) next() (Counts, bool) {
	r := g.rng
	total := math.Max(0, math.Round(g.rate+math.Sqrt(g.rate)*r.NormFloat64()))
	bad := math.Floor(r.ExpFloat64() * 0.3)
	if g.burstLeft == 0 && r.Float64() < g.burstChance {
		g.burstLeft, g.burstRatio = 5+r.IntN(25), 0.01+0.2*r.Float64()
	}
	if g.burstLeft > 0 {
		g.burstLeft--
		bad += math.Round(total * g.burstRatio)
	}
	bad = math.Min(bad, total)
	c := Counts{Good: total - bad, Total: total}
	if g.fraction != 0 {
		c = Counts{Good: c.Good * g.fraction, Total: c.Total * g.fraction}
		if r.IntN(3) == 0 {
			c.Good += g.fraction / 2
			c.Total += g.fraction
		}
	}
	if g.gapLeft == 0 && r.Float64() < g.gapChance {
		g.gapLeft = 10 + r.IntN(170)
	}
	if g.gapLeft > 0 {
		g.gapLeft--
		g.owed.Good += c.Good
		g.owed.Total += c.Total
		return Counts{}, false
	}
	c.Good += g.owed.Good
	c.Total += g.owed.Total
	g.owed = Counts{}
	return c, true
}

// fill adds g's traffic for every minute in [from, to) to f.
func (f *fixture) fill(g *traffic, from, to time.Time) {
	for m := MinuteOf(from); m < MinuteOf(to); m++ {
		if c, ok := g.next(); ok {
			f.add(m, c)
		}
	}
}

func mustSchedule(t testing.TB, spec slo.ScheduleSpec) *slo.Schedule {
	t.Helper()
	s, err := slo.CompileSchedule(spec)
	if err != nil {
		t.Fatalf("compile schedule %q: %v", spec.Name, err)
	}
	return s
}

func rolling(d time.Duration) slo.Window { return slo.Window{Rolling: d} }
func calendar(p string) slo.Window       { return slo.Window{Period: p} }

const day = 24 * time.Hour

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
