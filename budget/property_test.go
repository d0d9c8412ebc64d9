package budget

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/slogate/slogate/slo"
)

var zones = []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu"}

// randomSchedule returns a random valid schedule spec with weekly hours,
// holidays and maintenance windows near around.
func randomSchedule(t *testing.T, rng *rand.Rand, around time.Time) *slo.Schedule {
	days := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun", "mon-fri", "sat-sun", "fri-mon"}
	spec := slo.ScheduleSpec{Name: "random", TimeZone: zones[rng.IntN(len(zones))]}
	for range rng.IntN(4) {
		from := rng.IntN(24*4) * 15
		to := from + 15 + rng.IntN(24*4*15-from)/15*15
		spec.Weekly = append(spec.Weekly, slo.WeeklyRule{
			Days:  []string{days[rng.IntN(len(days))]},
			Hours: []string{fmt.Sprintf("%02d:%02d-%02d:%02d", from/60, from%60, to/60, to%60)},
		})
	}
	for range rng.IntN(3) {
		spec.Holidays.Dates = append(spec.Holidays.Dates, around.AddDate(0, 0, rng.IntN(20)-10).Format(time.DateOnly))
	}
	if rng.IntN(4) == 0 {
		spec.Holidays.Country = "de"
	}
	for range rng.IntN(3) {
		start := around.Add(time.Duration(rng.Int64N(int64(20*day))) - 10*day)
		spec.Maintenance = append(spec.Maintenance, slo.Maintenance{
			Start: start, End: start.Add(time.Duration(rng.Int64N(int64(6 * time.Hour)))),
		})
	}
	return mustSchedule(t, spec)
}

func randomSLO(rng *rand.Rand) slo.SLO {
	windows := []slo.Window{rolling(time.Hour), rolling(6 * time.Hour), rolling(day), rolling(3 * day),
		rolling(7 * day), rolling(90 * time.Minute), calendar(slo.Week), calendar(slo.Month)}
	objectives := []float64{90, 99, 99.5, 99.9, 99.95}
	s := slo.SLO{Objective: objectives[rng.IntN(len(objectives))], Win: windows[rng.IntN(len(windows))]}
	if rng.IntN(3) == 0 {
		s.Budgeting, s.TimesliceThreshold = slo.Timeslices, 95+5*rng.Float64()
	}
	return s
}

// TestEvaluateRandomMatchesReference checks random SLOs under random
// schedules over random histories against the reference at random times,
// and again after every step of new and late data, which proves that
// cached block sums are invalidated when a block changes.
func TestEvaluateRandomMatchesReference(t *testing.T) {
	bases := []string{"2024-03-10T12:00:00Z", "2024-03-31T12:00:00Z", "2024-10-27T12:00:00Z",
		"2024-11-03T12:00:00Z", "2024-12-31T18:00:00Z", "2024-04-06T00:00:00Z"}
	var exhausted, walked int
	for seed := uint64(1); seed <= 18; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			base := date(bases[rng.IntN(len(bases))])
			start, end := base.Add(-12*day), base.Add(8*day)
			f := newFixture()
			g := newTraffic(seed)
			g.rate = 5 + 200*rng.Float64()
			g.burstChance, g.gapChance = 0.003, 0.001
			if rng.IntN(4) == 0 {
				g.fraction = 0.125
			}
			cursor := base.Add(-time.Duration(rng.IntN(48)) * time.Hour)
			f.fill(g, start, cursor)

			s := randomSLO(rng)
			trs := make([]*Tracker, 2)
			refs := make([]*reference, 2)
			for i := range trs {
				sched := randomSchedule(t, rng, base)
				if rng.IntN(5) == 0 {
					sched = slo.AlwaysOn()
				}
				trs[i], refs[i] = f.track(s, sched)
			}
			check := func(now time.Time) {
				t.Helper()
				for i := range trs {
					st := checkEvaluate(t, trs[i], refs[i], now)
					for _, x := range []*Exhaustion{st.Exhaustion1h, st.Exhaustion6h} {
						switch {
						case x == nil:
						case x.At.Equal(now):
							exhausted++
						default:
							walked++
						}
					}
				}
			}
			for range 12 {
				check(start.Add(time.Duration(rng.Int64N(int64(end.Sub(start) + 2*day)))))
			}
			for range 10 {
				from := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
				to := from.Add(time.Duration(rng.Int64N(int64(3 * day))))
				for i := range trs {
					got := trs[i].Sum(from, to)
					want := refs[i].sum(MinuteOf(from), MinuteOf(to))
					if !near(got.Good, want.Good) || !near(got.Total, want.Total) {
						t.Fatalf("sum [%s, %s): got %+v, want %+v", from, to, got, want)
					}
				}
			}
			// New minutes, late minutes and undone minutes, evaluated
			// after each step.
			for range 60 {
				for range 1 + rng.IntN(90) {
					if c, ok := g.next(); ok {
						f.add(MinuteOf(cursor), c)
					}
					cursor = cursor.Add(time.Minute)
				}
				switch rng.IntN(4) {
				case 0:
					m := MinuteOf(cursor) - Minute(rng.IntN(3*24*60))
					f.add(m, Counts{Good: float64(rng.IntN(50)), Total: float64(50 + rng.IntN(50))})
				case 1:
					m := MinuteOf(cursor) - Minute(rng.IntN(3*24*60))
					c := f.data[m]
					f.add(m, Counts{Good: -c.Good, Total: -c.Total})
				}
				now := cursor.Add(-time.Duration(rng.IntN(120)) * time.Second)
				if rng.IntN(3) == 0 {
					// A source lagging hours behind: the hour it adds to
					// lies inside the windows.
					now = cursor.Add(time.Duration(1+rng.IntN(5*60)) * time.Minute)
				}
				check(now)
			}
			// A History restored from its blocks evaluates the same.
			restored := NewHistory()
			for _, b := range f.h.Dirty() {
				if err := restored.LoadBlock(b); err != nil {
					t.Fatalf("load block %d: %v", b.Start, err)
				}
			}
			for i := range trs {
				tr := NewTracker(s, refs[i].sched, restored)
				for range 5 {
					check := cursor.Add(-time.Duration(rng.Int64N(int64(10 * day))))
					checkEvaluate(t, tr, refs[i], check)
				}
			}
		})
	}
	if exhausted == 0 || walked == 0 {
		t.Errorf("forecasts: %d already exhausted, %d walked; want some of each", exhausted, walked)
	}
}
