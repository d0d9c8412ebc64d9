package budget

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/slo"
)

// reference is the obviously correct, slow model the engine is checked
// against: a plain map of minutes, walked minute by minute, asking the
// schedule about every minute.
type reference struct {
	slo   slo.SLO
	sched *slo.Schedule
	data  map[Minute]Counts
}

func (r *reference) add(m Minute, c Counts) {
	old := r.data[m]
	old.Good += c.Good
	old.Total += c.Total
	r.data[m] = old
}

func (r *reference) sum(from, to Minute) Counts {
	var s Counts
	for m := from; m < to; m++ {
		if !r.sched.Active(m.Time()) {
			continue
		}
		c := r.data[m]
		if r.slo.Budgeting == slo.Timeslices {
			if c.Total > 0 {
				s.Total++
				if c.Good/c.Total*100 >= r.slo.TimesliceThreshold {
					s.Good++
				}
			}
			continue
		}
		s.Good += c.Good
		s.Total += c.Total
	}
	return s
}

func (r *reference) activeMinutes(from, to Minute) int64 {
	var n int64
	for m := from; m < to; m++ {
		if r.sched.Active(m.Time()) {
			n++
		}
	}
	return n
}

func (r *reference) evaluate(now time.Time) Status {
	allowed := 1 - r.slo.Ratio()
	start, end := r.slo.Win.Bounds(now, r.sched.Location)
	from, to := MinuteOf(start), MinuteOf(end)
	st := Status{Start: start, End: end, Unit: UnitEvents, Active: r.sched.Active(MinuteOf(now).Time())}
	if r.slo.Budgeting == slo.Timeslices {
		st.Unit = UnitMinutes
	}
	c := r.sum(from, to)
	st.Good, st.Total, st.Bad = c.Good, c.Total, max(0, c.Total-c.Good)
	st.RemainingRatio = 1
	if c.Total > 0 {
		st.SLI = (c.Total - st.Bad) / c.Total
		st.Budget = allowed * c.Total
		st.Spent = st.Bad
		st.Remaining = st.Budget - st.Spent
		st.RemainingRatio = 1 - st.Spent/st.Budget
	} else {
		st.NoData = true
	}
	for _, w := range BurnWindows {
		c := r.sum(to-Minute(w/time.Minute), to)
		b := BurnRate{Window: w, Good: c.Good, Total: c.Total, NoData: c.Total <= 0}
		if !b.NoData {
			b.Rate = max(0, c.Total-c.Good) / c.Total / allowed
		}
		st.Burn = append(st.Burn, b)
	}
	st.Exhaustion1h = r.forecast(now, st, from, to, st.Burn[2])
	st.Exhaustion6h = r.forecast(now, st, from, to, st.Burn[4])
	return st
}

func (r *reference) forecast(now time.Time, st Status, from, to Minute, b BurnRate) *Exhaustion {
	if st.NoData {
		return nil
	}
	if st.RemainingRatio <= 0 {
		return &Exhaustion{At: now, BurnWindow: b.Window, BurnRate: b.Rate}
	}
	if b.NoData || b.Rate <= 0 {
		return nil
	}
	var span int64
	horizon := to + Minute(r.slo.Win.Rolling/time.Minute)
	if r.slo.Win.IsCalendar() {
		start, next := r.slo.Win.PeriodAt(now, r.sched.Location)
		horizon = MinuteOf(next)
		span = r.activeMinutes(MinuteOf(start), horizon)
	} else {
		span = r.activeMinutes(from, to)
	}
	if span == 0 {
		return nil
	}
	d := st.RemainingRatio * float64(span) / b.Rate
	m := MinuteOf(now)
	if !(d <= float64(horizon-m)) {
		return nil
	}
	rem := time.Duration(d * float64(time.Minute))
	for ; m < horizon; m++ {
		if !r.sched.Active(m.Time()) {
			continue
		}
		from := m.Time()
		if from.Before(now) {
			from = now
		}
		avail := (m + 1).Time().Sub(from)
		if rem <= avail {
			return &Exhaustion{At: from.Add(rem), BurnWindow: b.Window, BurnRate: b.Rate}
		}
		rem -= avail
	}
	return nil
}

// diffStatus lists the differences between got and want, numbers compared
// to 1e-9 relative (absolute near zero).
func diffStatus(got, want Status) []string {
	var d []string
	num := func(name string, g, w float64) {
		if math.IsNaN(g) || math.IsInf(g, 0) || !near(g, w) {
			d = append(d, fmt.Sprintf("%s: got %v, want %v", name, g, w))
		}
	}
	if !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
		d = append(d, fmt.Sprintf("window: got [%s, %s), want [%s, %s)", got.Start, got.End, want.Start, want.End))
	}
	if got.Unit != want.Unit || got.Active != want.Active || got.NoData != want.NoData {
		d = append(d, fmt.Sprintf("unit/active/noData: got %s/%v/%v, want %s/%v/%v",
			got.Unit, got.Active, got.NoData, want.Unit, want.Active, want.NoData))
	}
	num("good", got.Good, want.Good)
	num("total", got.Total, want.Total)
	num("bad", got.Bad, want.Bad)
	num("sli", got.SLI, want.SLI)
	num("budget", got.Budget, want.Budget)
	num("spent", got.Spent, want.Spent)
	num("remaining", got.Remaining, want.Remaining)
	num("remainingRatio", got.RemainingRatio, want.RemainingRatio)
	if len(got.Burn) != len(want.Burn) {
		d = append(d, fmt.Sprintf("burn windows: got %d, want %d", len(got.Burn), len(want.Burn)))
	} else {
		for i := range got.Burn {
			g, w := got.Burn[i], want.Burn[i]
			name := "burn " + slo.Window{Rolling: w.Window}.String()
			if g.Window != w.Window || g.NoData != w.NoData {
				d = append(d, fmt.Sprintf("%s: got window %v noData %v, want %v %v", name, g.Window, g.NoData, w.Window, w.NoData))
			}
			num(name+" good", g.Good, w.Good)
			num(name+" total", g.Total, w.Total)
			num(name+" rate", g.Rate, w.Rate)
		}
	}
	exh := func(name string, g, w *Exhaustion) {
		switch {
		case g == nil && w == nil:
		case g == nil || w == nil:
			d = append(d, fmt.Sprintf("%s: got %v, want %v", name, fmtExh(g), fmtExh(w)))
		default:
			if dt := g.At.Sub(w.At); dt < -time.Microsecond || dt > time.Microsecond || g.BurnWindow != w.BurnWindow || !near(g.BurnRate, w.BurnRate) {
				d = append(d, fmt.Sprintf("%s: got %v, want %v", name, fmtExh(g), fmtExh(w)))
			}
		}
	}
	exh("exhaustion 1h", got.Exhaustion1h, want.Exhaustion1h)
	exh("exhaustion 6h", got.Exhaustion6h, want.Exhaustion6h)
	return d
}

func fmtExh(x *Exhaustion) string {
	if x == nil {
		return "none"
	}
	return fmt.Sprintf("%s at burn %v (%v)", x.At.Format(time.RFC3339Nano), x.BurnRate, x.BurnWindow)
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b))
}

// checkEvaluate evaluates tr at now and fails t if it differs from ref.
func checkEvaluate(t *testing.T, tr *Tracker, ref *reference, now time.Time) Status {
	t.Helper()
	got, want := tr.Evaluate(now), ref.evaluate(now)
	if _, err := json.Marshal(got); err != nil {
		t.Fatalf("evaluate at %s: status does not encode as JSON: %v", now, err)
	}
	if d := diffStatus(got, want); len(d) > 0 {
		t.Fatalf("evaluate at %s (%s in %s):\n%s", now.UTC().Format(time.RFC3339),
			now.In(ref.sched.Location).Format(time.RFC3339), ref.sched.Location, strings.Join(d, "\n"))
	}
	return got
}
