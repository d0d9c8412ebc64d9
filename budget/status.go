package budget

import (
	"time"

	"github.com/slogate/slogate/slo"
)

// BurnWindows are the windows burn rates are computed over, shortest
// first. Alert rules pair them (for example 5m with 1h, 30m with 6h). It is
// slo.BurnWindows, so specs are checked against the windows computed here.
var BurnWindows = slo.BurnWindows

// Status is one SLO's budget at one time. It holds no NaN or infinity, so
// it always encodes as JSON.
type Status struct {
	// Start and End bound the window, [Start, End): End is the start of the
	// minute after the evaluation time, so its minute is included. A
	// calendar window starts at local midnight in the schedule's zone.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Unit is what Good, Total, Bad and the budget count: UnitEvents, or
	// UnitMinutes for timeslice SLOs.
	Unit string `json:"unit"`
	// Active reports whether the evaluation time's minute spends budget
	// under the SLO's schedule.
	Active bool `json:"active"`
	// NoData is true when the window holds no events in active minutes:
	// the SLI is then unknown and the budget untouched.
	NoData bool `json:"noData"`
	// Good, Total and Bad sum the window's active minutes. Bad is Total
	// minus Good, and never negative. For timeslices they count minutes
	// with events: good minutes reach the timeslice threshold.
	Good  float64 `json:"good"`
	Total float64 `json:"total"`
	Bad   float64 `json:"bad"`
	// SLI is the fraction of good events (or minutes), between 0 and 1;
	// zero when NoData.
	SLI float64 `json:"sli"`
	// Budget is how many bad events (or minutes) the objective allows
	// for the window's Total; Spent is Bad and Remaining their difference,
	// negative once overspent. All three are zero when NoData.
	Budget    float64 `json:"budget"`
	Spent     float64 `json:"spent"`
	Remaining float64 `json:"remaining"`
	// RemainingRatio is 1 - Spent/Budget: 1 with nothing spent, 0 when
	// exhausted, below zero when overspent; 1 when NoData.
	RemainingRatio float64 `json:"remainingRatio"`
	// Burn has one burn rate per BurnWindows entry, in that order.
	Burn []BurnRate `json:"burn"`
	// Exhaustion1h and Exhaustion6h forecast when the budget runs out if
	// the 1h (6h) burn rate holds; nil when it does not run out within
	// the forecast horizon (see Tracker.Evaluate).
	Exhaustion1h *Exhaustion `json:"exhaustion1h"`
	Exhaustion6h *Exhaustion `json:"exhaustion6h"`
}

// BurnRate is how fast an SLO spent budget over one window ending with the
// evaluation's window: 1 spends exactly the budget over the SLO's window,
// 14.4 spends 2% of a 30-day budget in an hour.
type BurnRate struct {
	// Window is the burn window's length.
	Window time.Duration `json:"window"`
	// Good and Total sum the burn window's active minutes, like
	// Status.Good and Status.Total.
	Good  float64 `json:"good"`
	Total float64 `json:"total"`
	// NoData is true when the burn window has no events in active
	// minutes; Rate is then zero and meaningless.
	NoData bool `json:"noData"`
	// Rate is the fraction of bad events divided by the fraction the
	// objective allows.
	Rate float64 `json:"rate"`
}

// Exhaustion is a forecast of when an SLO's budget runs out.
type Exhaustion struct {
	// At is when the remaining budget is spent if the burn rate holds;
	// the evaluation time when it is spent already.
	At time.Time `json:"at"`
	// BurnWindow is the window of the burn rate the forecast assumes.
	BurnWindow time.Duration `json:"burnWindow"`
	// BurnRate is that rate; zero when the budget is spent already and
	// the burn window has no data.
	BurnRate float64 `json:"burnRate"`
}

// Evaluate returns the SLO's status at now, from the History's counts and
// the schedule's active minutes only. It depends on nothing but its inputs,
// so it can be evaluated at past times too (to draw charts); any now is
// fine, in any order.
//
// Exhaustion forecasts assume the burn rate of their window holds and
// traffic is spread evenly over the active time of the SLO's window: with
// remaining ratio r, burn rate b and W the active time of the window (the
// rolling window's span ending at End, or the whole calendar period,
// counting only active minutes), the budget lasts r*W/b more active time.
// That is turned into a time by walking forward from now through active
// minutes only, so a business-hours SLO burning on Friday evening runs out
// during Monday's hours. The walk stops at the forecast horizon, one window
// length after End for rolling windows and the end of the period for
// calendar windows (when the budget resets): an exhaustion beyond it, no
// data, or a burn rate of zero give no forecast. A budget already spent
// gives At = now.
func (t *Tracker) Evaluate(now time.Time) Status {
	start, end := t.slo.Win.Bounds(now, t.loc)
	from, to := MinuteOf(start), MinuteOf(end)
	t.trimCaches()
	if len(t.windows) != len(BurnWindows)+1 {
		t.windows = make([]windowSum, len(BurnWindows)+1)
	}
	st := Status{Start: start, End: end, Unit: UnitEvents, Active: t.active(to - 1)}
	if t.slices {
		st.Unit = UnitMinutes
	}
	c := t.sum(from, to, &t.windows[0])
	st.Good, st.Total, st.Bad = c.Good, c.Total, max(0, c.Total-c.Good)
	st.RemainingRatio = 1
	if c.Total <= 0 {
		st.NoData = true
	} else {
		st.SLI = (c.Total - st.Bad) / c.Total
		st.Budget = t.allowed * c.Total
		st.Spent = st.Bad
		st.Remaining = st.Budget - st.Spent
		st.RemainingRatio = 1 - st.Spent/st.Budget
	}
	st.Burn = make([]BurnRate, len(BurnWindows))
	for i, w := range BurnWindows {
		st.Burn[i] = t.burn(w, to, &t.windows[i+1])
	}
	st.Exhaustion1h = t.forecast(now, &st, from, to, t.burnOf(&st, time.Hour, to))
	st.Exhaustion6h = t.forecast(now, &st, from, to, t.burnOf(&st, 6*time.Hour, to))
	return st
}

// burn returns the burn rate over the window of length w ending at minute
// to (exclusive).
func (t *Tracker) burn(w time.Duration, to Minute, memo *windowSum) BurnRate {
	c := t.sum(to-Minute(w/time.Minute), to, memo)
	br := BurnRate{Window: w, Good: c.Good, Total: c.Total}
	if c.Total <= 0 {
		br.NoData = true
		return br
	}
	br.Rate = max(0, c.Total-c.Good) / c.Total / t.allowed
	return br
}

// burnOf returns st's burn rate for window w, computing it when
// BurnWindows lacks w.
func (t *Tracker) burnOf(st *Status, w time.Duration, to Minute) BurnRate {
	for _, b := range st.Burn {
		if b.Window == w {
			return b
		}
	}
	return t.burn(w, to, nil)
}
