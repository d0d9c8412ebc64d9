package budget

import (
	"testing"
	"time"

	"github.com/slogate/slogate/slo"
)

var (
	nyBusiness = slo.ScheduleSpec{
		Name: "ny-business", TimeZone: "America/New_York",
		Weekly: []slo.WeeklyRule{
			{Days: []string{"mon-fri"}, Hours: []string{"09:00-17:00"}},
			// Sunday night hours straddle the DST switches at 02:00.
			{Days: []string{"sun"}, Hours: []string{"00:30-03:30"}},
		},
	}
	berlinBusiness = slo.ScheduleSpec{
		Name: "berlin-business", TimeZone: "Europe/Berlin",
		Weekly: []slo.WeeklyRule{
			{Days: []string{"mon-fri"}, Hours: []string{"08:00-18:00"}},
			{Days: []string{"sun"}, Hours: []string{"01:00-04:00"}},
		},
	}
	usHolidays = slo.ScheduleSpec{
		Name: "us-business", TimeZone: "America/New_York",
		Weekly:   []slo.WeeklyRule{{Days: []string{"mon-fri"}, Hours: []string{"09:00-17:00"}}},
		Holidays: slo.Holidays{Country: "us", Dates: []string{"2024-12-24"}},
	}
	berlinMaintenance = slo.ScheduleSpec{
		Name: "berlin-maintenance", TimeZone: "Europe/Berlin",
		Maintenance: []slo.Maintenance{
			{Start: date("2024-06-05T10:00:00Z"), End: date("2024-06-05T14:30:00Z"), Reason: "database upgrade"},
		},
	}
)

func TestEvaluateMatchesReference(t *testing.T) {
	tests := []struct {
		name     string
		slo      slo.SLO
		schedule *slo.ScheduleSpec // nil: always on
		from, to string            // data
		prepare  func(*fixture)    // extra counts
		nows     []string
	}{
		{
			name:     "a New York business-hours SLO across the start of DST",
			slo:      slo.SLO{Objective: 99.5, Win: rolling(7 * day)},
			schedule: &nyBusiness,
			from:     "2024-03-01T00:00:00Z", to: "2024-03-15T00:00:00Z",
			nows: []string{"2024-03-10T06:59:00Z", "2024-03-10T07:00:00Z", "2024-03-10T07:29:59Z", "2024-03-10T07:31:00Z",
				"2024-03-11T12:59:30Z", "2024-03-11T13:00:00Z", "2024-03-11T21:00:00Z", "2024-03-14T23:59:00Z"},
		},
		{
			name:     "a New York business-hours SLO across the end of DST, calendar week",
			slo:      slo.SLO{Objective: 99.9, Win: calendar(slo.Week)},
			schedule: &nyBusiness,
			from:     "2024-10-25T00:00:00Z", to: "2024-11-10T00:00:00Z",
			nows: []string{"2024-11-03T05:59:00Z", "2024-11-03T06:00:00Z", "2024-11-03T06:30:00Z", "2024-11-03T07:00:00Z",
				"2024-11-04T04:59:00Z", "2024-11-04T05:00:00Z", "2024-11-04T14:00:00Z", "2024-11-09T23:00:00Z"},
		},
		{
			name:     "a Berlin business-hours SLO across the start of DST, calendar month",
			slo:      slo.SLO{Objective: 99, Win: calendar(slo.Month)},
			schedule: &berlinBusiness,
			from:     "2024-02-25T00:00:00Z", to: "2024-04-03T00:00:00Z",
			nows: []string{"2024-03-31T00:59:00Z", "2024-03-31T01:00:00Z", "2024-03-31T01:59:00Z", "2024-03-31T02:00:00Z",
				"2024-03-31T21:59:00Z", "2024-03-31T22:00:00Z", "2024-04-01T06:00:00Z", "2024-04-02T12:00:00Z"},
		},
		{
			name:     "a Berlin business-hours SLO across the end of DST, calendar month",
			slo:      slo.SLO{Objective: 99.9, Win: calendar(slo.Month)},
			schedule: &berlinBusiness,
			from:     "2024-09-28T00:00:00Z", to: "2024-11-02T00:00:00Z",
			nows: []string{"2024-10-27T00:00:00Z", "2024-10-27T00:59:00Z", "2024-10-27T01:00:00Z", "2024-10-27T01:30:00Z",
				"2024-10-27T02:00:00Z", "2024-10-31T22:59:00Z", "2024-10-31T23:00:00Z", "2024-11-01T09:00:00Z"},
		},
		{
			name:     "a business-hours SLO over US holidays",
			slo:      slo.SLO{Objective: 99.5, Win: rolling(7 * day)},
			schedule: &usHolidays,
			from:     "2024-12-15T00:00:00Z", to: "2024-12-31T00:00:00Z",
			nows: []string{"2024-12-24T15:00:00Z", "2024-12-25T15:00:00Z", "2024-12-26T15:00:00Z", "2024-12-30T23:00:00Z"},
		},
		{
			name:     "an SLO with a maintenance window",
			slo:      slo.SLO{Objective: 99.9, Win: rolling(day)},
			schedule: &berlinMaintenance,
			from:     "2024-06-03T00:00:00Z", to: "2024-06-07T00:00:00Z",
			prepare: func(f *fixture) {
				for m := MinuteOf(date("2024-06-05T10:00:00Z")); m < MinuteOf(date("2024-06-05T14:00:00Z")); m++ {
					f.add(m, Counts{Total: 500})
				}
			},
			nows: []string{"2024-06-05T09:59:00Z", "2024-06-05T12:00:00Z", "2024-06-05T14:29:00Z", "2024-06-05T14:30:00Z", "2024-06-06T11:00:00Z"},
		},
		{
			name: "an SLO with a counter reset and a two-hour gap",
			slo:  slo.SLO{Objective: 99.9, Win: rolling(day)},
			from: "2024-05-01T00:00:00Z", to: "2024-05-03T00:00:00Z",
			prepare: func(f *fixture) {
				gap := MinuteOf(date("2024-05-02T10:00:00Z"))
				for m := gap; m < gap+120; m++ {
					c := f.data[m]
					f.add(m, Counts{Good: -c.Good, Total: -c.Total})
				}
				f.add(gap+120, Counts{Good: 59_000, Total: 60_000})
				f.add(gap+121, Counts{Good: 1 << 40, Total: 1<<40 + 12345})
			},
			nows: []string{"2024-05-02T11:00:00Z", "2024-05-02T12:00:00Z", "2024-05-02T12:01:00Z", "2024-05-02T12:30:00Z", "2024-05-02T23:59:00Z"},
		},
		{
			name: "an SLO without traffic",
			slo:  slo.SLO{Objective: 99.9, Win: rolling(day)},
			from: "2024-05-01T00:00:00Z", to: "2024-05-01T00:00:00Z",
			nows: []string{"2024-05-01T00:00:00Z", "2024-05-02T12:00:00Z"},
		},
		{
			name: "an SLO whose traffic stopped before its window",
			slo:  slo.SLO{Objective: 99.9, Win: rolling(day)},
			from: "2024-05-01T00:00:00Z", to: "2024-05-02T00:00:00Z",
			nows: []string{"2024-05-02T06:00:00Z", "2024-05-03T00:00:00Z", "2024-05-04T00:00:00Z"},
		},
		{
			name: "a calendar week across the new year",
			slo:  slo.SLO{Objective: 99.5, Win: calendar(slo.Week)},
			from: "2024-12-20T00:00:00Z", to: "2025-01-08T00:00:00Z",
			nows: []string{"2024-12-29T23:59:00Z", "2024-12-30T00:00:00Z", "2025-01-01T00:00:00Z", "2025-01-05T23:59:59Z"},
		},
		{
			name:     "a calendar quarter in Berlin",
			slo:      slo.SLO{Objective: 99.9, Win: calendar(slo.Quarter)},
			schedule: &berlinBusiness,
			from:     "2024-04-01T00:00:00Z", to: "2024-07-02T00:00:00Z",
			nows: []string{"2024-06-30T21:59:00Z", "2024-06-30T22:00:00Z", "2024-07-01T10:00:00Z"},
		},
		{
			name:     "a timeslice SLO with business hours",
			slo:      slo.SLO{Objective: 99, Budgeting: slo.Timeslices, TimesliceThreshold: 99.5, Win: rolling(7 * day)},
			schedule: &berlinBusiness,
			from:     "2024-03-20T00:00:00Z", to: "2024-04-03T00:00:00Z",
			nows: []string{"2024-03-31T01:30:00Z", "2024-04-01T12:00:00Z", "2024-04-02T23:59:00Z"},
		},
		{
			name: "a rolling 28-day SLO",
			slo:  slo.SLO{Objective: 99.95, Win: rolling(28 * day)},
			from: "2024-01-01T00:00:00Z", to: "2024-02-05T00:00:00Z",
			nows: []string{"2024-01-20T00:00:00Z", "2024-01-31T12:34:56Z", "2024-02-04T23:59:00Z"},
		},
		{
			name:     "a rolling 7-day SLO with fractional counts",
			slo:      slo.SLO{Objective: 99, Win: rolling(7 * day)},
			schedule: &nyBusiness,
			from:     "2024-03-01T00:00:00Z", to: "2024-03-12T00:00:00Z",
			prepare: func(f *fixture) { f.add(MinuteOf(date("2024-03-11T14:00:00Z")), Counts{Good: 0.375, Total: 1.125}) },
			nows:    []string{"2024-03-08T15:00:00Z", "2024-03-11T14:00:00Z", "2024-03-11T23:00:00Z"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			g := newTraffic(uint64(i + 1))
			if tt.name == "a rolling 7-day SLO with fractional counts" {
				g.fraction = 0.25
			}
			f.fill(g, date(tt.from), date(tt.to))
			for _, now := range tt.nows {
				// A burst of errors in the hour before each evaluation,
				// so forecasts fall within their horizon.
				n := MinuteOf(date(now))
				for m := n - 50; m < n-20; m++ {
					f.add(m, Counts{Total: 30})
				}
			}
			if tt.prepare != nil {
				tt.prepare(f)
			}
			sched := slo.AlwaysOn()
			if tt.schedule != nil {
				sched = mustSchedule(t, *tt.schedule)
			}
			tr, ref := f.track(tt.slo, sched)
			for _, now := range tt.nows {
				checkEvaluate(t, tr, ref, date(now))
			}
			// Again from a fresh tracker, in reverse order, so no result
			// depends on what an earlier evaluation cached.
			tr, _ = f.track(tt.slo, sched)
			for j := len(tt.nows) - 1; j >= 0; j-- {
				checkEvaluate(t, tr, ref, date(tt.nows[j]))
			}
		})
	}
}

func TestSchedulesDoNotShareResults(t *testing.T) {
	f := newFixture()
	f.fill(newTraffic(7), date("2024-03-01T00:00:00Z"), date("2024-03-12T00:00:00Z"))
	s := slo.SLO{Objective: 99.9, Win: rolling(7 * day)}
	ny, ref1 := f.track(s, mustSchedule(t, nyBusiness))
	berlin, ref2 := f.track(s, mustSchedule(t, berlinBusiness))
	always, ref3 := f.track(s, slo.AlwaysOn())
	now := date("2024-03-11T15:00:00Z")
	for i := range 90 {
		at := now.Add(time.Duration(i) * time.Minute)
		f.add(MinuteOf(at), Counts{Good: 400, Total: 410})
		a := checkEvaluate(t, ny, ref1, at)
		b := checkEvaluate(t, berlin, ref2, at)
		c := checkEvaluate(t, always, ref3, at)
		if a.Total == b.Total || b.Total == c.Total {
			t.Fatalf("at %s: totals %v, %v and %v under three schedules; want them to differ", at, a.Total, b.Total, c.Total)
		}
	}
}

func TestEvaluateWithoutData(t *testing.T) {
	tr := NewTracker(slo.SLO{Objective: 99.9, Win: calendar(slo.Month)}, mustSchedule(t, berlinBusiness), nil)
	now := date("2024-03-31T22:30:00Z") // 00:30 on April 1st in Berlin
	st := tr.Evaluate(now)
	if !st.NoData || st.RemainingRatio != 1 || st.SLI != 0 || st.Budget != 0 || st.Exhaustion1h != nil || st.Exhaustion6h != nil {
		t.Errorf("got %+v, want no data, the whole budget left and no forecast", st)
	}
	for _, b := range st.Burn {
		if !b.NoData || b.Rate != 0 {
			t.Errorf("burn %v: got %+v, want no data", b.Window, b)
		}
	}
	if want := date("2024-03-31T22:00:00Z"); !st.Start.Equal(want) {
		t.Errorf("window start: got %s, want %s (April 1st, local midnight)", st.Start, want)
	}
	if st.Active {
		t.Error("active at 00:30 on a Monday: got true, want false")
	}
}

// TestCachedSumsFollowChanges checks that a tracker's cached block sums
// follow every way a History changes between evaluations: more late
// changes than the History's change log remembers, a few, trims (after
// which trimmed hours are added to again) and loaded blocks.
func TestCachedSumsFollowChanges(t *testing.T) {
	f := newFixture()
	start, now := date("2024-05-01T00:00:00Z"), date("2024-05-06T12:30:00Z")
	f.fill(newTraffic(11), start, now)
	s := slo.SLO{Objective: 99.9, Win: rolling(3 * day)}
	always, ref1 := f.track(s, slo.AlwaysOn())
	business, ref2 := f.track(s, mustSchedule(t, berlinBusiness))
	slices, ref3 := f.track(slo.SLO{Objective: 99, Budgeting: slo.Timeslices, TimesliceThreshold: 99.5, Win: rolling(3 * day)}, slo.AlwaysOn())
	check := func(t *testing.T) {
		t.Helper()
		checkEvaluate(t, always, ref1, now)
		checkEvaluate(t, business, ref2, now)
		checkEvaluate(t, slices, ref3, now)
	}
	trim := func(cut Minute) {
		f.h.Trim(cut)
		for m := range f.data {
			if m < cut/blockMinutes*blockMinutes {
				delete(f.data, m)
			}
		}
	}
	check(t)
	late := func(n int) {
		for i := range n {
			f.add(MinuteOf(now.Add(-time.Duration(i*5+2)*time.Hour)), Counts{Good: 7, Total: 9})
		}
	}
	t.Run("more late changes than the log holds", func(t *testing.T) {
		late(3 * changeLogSize)
		check(t)
	})
	t.Run("a few late changes", func(t *testing.T) {
		late(2)
		check(t)
	})
	t.Run("a trim, then minutes added to trimmed hours", func(t *testing.T) {
		// The trimmed hours come back before the trackers see the trim,
		// so their cached sums of those hours must go with it.
		trim(MinuteOf(now.Add(-2 * day)))
		f.add(MinuteOf(now.Add(-52*time.Hour)), Counts{Good: 1, Total: 2})
		check(t)
		trim(MinuteOf(now.Add(-2 * day)))
		check(t)
		for _, back := range []time.Duration{50 * time.Hour, 60 * time.Hour, 49 * time.Hour} {
			f.add(MinuteOf(now.Add(-back)), Counts{Good: 100, Total: 130})
			check(t)
		}
	})
	t.Run("a loaded block", func(t *testing.T) {
		src := NewHistory()
		m := MinuteOf(now.Add(-30*time.Hour)) / blockMinutes * blockMinutes
		src.Add(m+3, Counts{Good: 5, Total: 50})
		if err := f.h.LoadBlock(src.Dirty()[0]); err != nil {
			t.Fatal(err)
		}
		for i := range Minute(blockMinutes) {
			delete(f.data, m+i)
		}
		f.data[m+3] = Counts{Good: 5, Total: 50}
		check(t)
	})
	t.Run("hours of new minutes with retention trims", func(t *testing.T) {
		g := newTraffic(12)
		for range 3 * blockMinutes {
			now = now.Add(time.Minute)
			if c, ok := g.next(); ok {
				f.add(MinuteOf(now), c)
			}
			trim(MinuteOf(now.Add(-4 * day)))
			check(t)
		}
	})
}
