package monitor

import (
	"errors"
	"fmt"
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/slo"
)

// MaxPoints is the most points one series request may return.
const MaxPoints = 2000

// ErrNotFound is returned for a service or SLO that does not exist.
var ErrNotFound = errors.New("not found")

// ErrBadRange is returned for a series request whose range or step is
// unusable.
var ErrBadRange = errors.New("bad range")

// Series is one SLO's history at regular steps, in columns (as chart
// libraries such as uPlot take them). A nil value means no data.
type Series struct {
	Service string    `json:"service"`
	SLO     string    `json:"slo"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Step    string    `json:"step"`
	// Timestamps are the ends of each step, Unix seconds.
	Timestamps []int64 `json:"timestamps"`
	// SLI is the SLI within each step.
	SLI []*float64 `json:"sli"`
	// WindowSLI is the SLI over the SLO's window ending at each timestamp.
	WindowSLI []*float64 `json:"windowSli"`
	// BudgetRemaining is the remaining budget ratio at each timestamp.
	BudgetRemaining []*float64 `json:"budgetRemaining"`
	// BurnRates maps each burn window ("5m", "1h", ...) to its rate at each
	// timestamp.
	BurnRates map[string][]*float64 `json:"burnRates"`
	// Good and Total are the events (or minutes) within each step.
	Good  []float64 `json:"good"`
	Total []float64 `json:"total"`
	// OffHours are the stretches of [From, To] during which the SLO's
	// schedule spends no budget (outside its hours, holidays, maintenance),
	// as [start, end) Unix seconds, merged, for charts to shade. Empty,
	// never nil, for an always-on SLO.
	OffHours [][2]int64 `json:"offHours"`
}

// Series evaluates one SLO at each step end in (from, to]. step is rounded
// up to whole minutes; the number of points must not exceed MaxPoints.
func (m *Monitor) Series(service, name string, from, to time.Time, step time.Duration) (*Series, error) {
	e := m.entries[Key(service, name)]
	if e == nil {
		return nil, fmt.Errorf("service %q has no SLO %q: %w", service, name, ErrNotFound)
	}
	if !to.After(from) {
		return nil, fmt.Errorf("to (%s) must be after from (%s): %w", to.Format(time.RFC3339), from.Format(time.RFC3339), ErrBadRange)
	}
	if step <= 0 {
		return nil, fmt.Errorf("step must be positive: %w", ErrBadRange)
	}
	step = (step + time.Minute - 1).Truncate(time.Minute)
	from = from.UTC().Truncate(time.Minute)
	n := int(to.Sub(from) / step)
	if to.Sub(from)%step != 0 {
		n++
	}
	if n > MaxPoints {
		return nil, fmt.Errorf("%d points of step %s from %s to %s, at most %d: use a larger step: %w",
			n, step, from.Format(time.RFC3339), to.Format(time.RFC3339), MaxPoints, ErrBadRange)
	}
	s := &Series{
		Service: service, SLO: name, From: from, To: from.Add(time.Duration(n) * step),
		Step: slo.Window{Rolling: step}.String(), BurnRates: map[string][]*float64{},
	}
	s.OffHours = e.sched.Inactive(s.From, s.To)
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 1; i <= n; i++ {
		end := from.Add(time.Duration(i) * step)
		// The evaluation at end includes the minute starting at end, so
		// evaluate at the last minute of the step.
		at := end.Add(-time.Minute)
		st := e.tracker.Evaluate(at)
		c := e.tracker.Sum(end.Add(-step), end)
		s.Timestamps = append(s.Timestamps, end.Unix())
		s.Good = append(s.Good, c.Good)
		s.Total = append(s.Total, c.Total)
		s.SLI = append(s.SLI, ratio(c))
		if st.NoData {
			s.WindowSLI = append(s.WindowSLI, nil)
		} else {
			s.WindowSLI = append(s.WindowSLI, ptr(st.SLI))
		}
		s.BudgetRemaining = append(s.BudgetRemaining, ptr(st.RemainingRatio))
		for _, b := range st.Burn {
			k := slo.Window{Rolling: b.Window}.String()
			var v *float64
			if !b.NoData {
				v = ptr(b.Rate)
			}
			s.BurnRates[k] = append(s.BurnRates[k], v)
		}
	}
	return s, nil
}

func ratio(c budget.Counts) *float64 {
	if c.Total <= 0 {
		return nil
	}
	return ptr(c.Good / c.Total)
}
