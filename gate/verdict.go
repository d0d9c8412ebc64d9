package gate

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/slo"
)

// Per-SLO statuses in a verdict, from worst to best as Judge ranks them.
const (
	// StatusSlowDown: the SLO's budget is spent (below the minimum) or it
	// is burning fast.
	StatusSlowDown = "slow_down"
	// StatusNoData: no events in the SLO's window.
	StatusNoData = "no_data"
	// StatusStale: the SLO's data is old, its source failing, or its
	// history still loading.
	StatusStale = "stale"
	// StatusInsufficientData: fewer events than the policy's minimum, so
	// the budget is not judged.
	StatusInsufficientData = "insufficient_data"
	// StatusWarning: budget below the warning threshold.
	StatusWarning = "warning"
	// StatusOK: budget left, no fast burn, data fine.
	StatusOK = "ok"
)

// Verdict is a service's budget-based decision at one evaluation. Judge
// computes it once per evaluation tick, not per request; Decide answers
// requests from it. A Verdict is read-only once judged and safe for
// concurrent use.
type Verdict struct {
	// Service is the service's name.
	Service string `json:"service"`
	// Decision is Ship or SlowDown from the budgets alone (freezes and
	// change types are the request's business).
	Decision string `json:"decision"`
	// Reasons has one sentence per gated SLO that slows the service down,
	// with its numbers, plus one per data problem when onNoData is
	// slow_down. Never nil.
	Reasons []string `json:"reasons"`
	// Warnings has one sentence per gated SLO with a low budget, and one
	// per data problem when onNoData is ship. Never nil.
	Warnings []string `json:"warnings"`
	// SLOs summarizes every SLO of the service, gated or not, in spec
	// order. Never nil.
	SLOs []SLOSummary `json:"slos"`
	// Stale names the SLOs (gated or not) whose data is stale or missing.
	// Never nil.
	Stale []string `json:"stale"`
	// EvaluatedAt is the evaluation time the verdict was judged at.
	EvaluatedAt time.Time `json:"evaluated_at"`

	// freezeReasons[i] is Reasons with freeze rule i's sentence appended,
	// so Decide never allocates.
	freezeReasons [][]string
}

// SLOSummary is one SLO as the gate saw it.
type SLOSummary struct {
	// Name is the SLO's name.
	Name string `json:"name"`
	// Gated reports whether the SLO counts for the decision.
	Gated bool `json:"gated"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// BudgetRemaining is the remaining budget ratio (below zero once
	// overspent); absent without data.
	BudgetRemaining *float64 `json:"budget_remaining"`
	// Burn1h and Burn6h are the burn rates over 1h and 6h; absent
	// without data in those windows.
	Burn1h *float64 `json:"burn_1h"`
	Burn6h *float64 `json:"burn_6h"`
	// Window is the compliance window as written (28d, month).
	Window string `json:"window"`
	// Objective is the objective in percent.
	Objective float64 `json:"objective"`
	// Events is the number of events (minutes for timeslice SLOs) in the
	// window.
	Events float64 `json:"events"`
}

// Judge decides from a service's SLO statuses. Only gated SLOs count
// (every SLO when p.SLOs is empty). A gated SLO slows the service down when
//
//   - its remaining budget ratio is below p.MinBudgetRemaining, strictly;
//     with a minimum of 0 a budget at exactly 0 counts as spent too, so the
//     default reads "slow down once the budget is used up"; or
//   - its burn rate exceeds p.FastBurnRate over every one of
//     p.FastBurnWindows (a rate of 0 turns this off; a window without data
//     does not burn).
//
// It warns when the remaining ratio is below p.WarnBudgetRemaining.
//
// Data problems are never a silent pass: no data in the window, fewer
// than p.MinEvents events, or stale data (the source reports an error, the
// history is still loading, or, while the SLO's schedule is active, the
// latest data is older than p.MaxDataAge or unknown) put a sentence naming
// the SLO and the problem in Warnings when p.OnNoData is ship, or in
// Reasons with a slow-down when it is slow_down. With no data or too few
// events the budget is not judged (it means nothing yet); stale data is
// still judged, since a spent budget stays spent.
//
// svc may be nil when the service has not been evaluated yet; that is a
// data problem too. A gated SLO missing from svc counts as having no data.
// Business-hours SLOs arrive already judged on business-hours budgets.
func Judge(p *Policy, svc *monitor.ServiceStatus, at time.Time) *Verdict {
	v := &Verdict{
		Service: p.service, Decision: Ship, EvaluatedAt: at,
		Reasons: []string{}, Warnings: []string{}, SLOs: []SLOSummary{}, Stale: []string{},
	}
	dataProblem := func(sentence string) {
		if p.OnNoData == slo.OnNoDataSlowDown {
			v.Reasons = append(v.Reasons, sentence)
			v.Decision = SlowDown
		} else {
			v.Warnings = append(v.Warnings, sentence)
		}
	}

	if svc == nil {
		dataProblem(nameOr(p.service, "the service") + " has not been evaluated yet")
	} else {
		v.Service = svc.Name
		for _, o := range svc.SLOs {
			gated := p.gates(o.Name)
			j := judgeSLO(p, o)
			v.SLOs = append(v.SLOs, j.summary(o, gated))
			if j.stale != "" || j.noData != "" {
				v.Stale = append(v.Stale, o.Name)
			}
			if !gated {
				continue
			}
			if j.slowDown != "" {
				v.Reasons = append(v.Reasons, j.slowDown)
				v.Decision = SlowDown
			}
			for _, s := range []string{j.noData, j.stale, j.insufficient} {
				if s != "" {
					dataProblem(s)
				}
			}
			if j.warning != "" {
				v.Warnings = append(v.Warnings, j.warning)
			}
		}
		for _, name := range p.SLOs {
			if !slices.ContainsFunc(svc.SLOs, func(o *monitor.SLOStatus) bool { return o.Name == name }) {
				v.SLOs = append(v.SLOs, SLOSummary{Name: name, Gated: true, Status: StatusNoData})
				v.Stale = append(v.Stale, name)
				dataProblem(name + " has no data: it is not in the latest evaluation")
			}
		}
	}

	v.freezeReasons = make([][]string, len(p.Freeze))
	for i, f := range p.Freeze {
		where := f.Schedule
		if f.When == slo.FreezeWhenInactive {
			where = "outside " + f.Schedule
		}
		sentence := "freeze in force (" + where + ")"
		if f.Reason != "freeze ("+f.Schedule+")" {
			sentence = "freeze in force: " + f.Reason + " (" + where + ")"
		}
		v.freezeReasons[i] = append(slices.Clip(v.Reasons), sentence)
	}
	return v
}

// gates reports whether the SLO named name counts for the decision.
func (p *Policy) gates(name string) bool {
	return len(p.SLOs) == 0 || slices.Contains(p.SLOs, name)
}

// sloJudgement is what Judge found about one SLO: sentences for each kind
// of finding, empty when there is none.
type sloJudgement struct {
	slowDown     string
	warning      string
	noData       string
	stale        string
	insufficient string
}

func judgeSLO(p *Policy, o *monitor.SLOStatus) sloJudgement {
	var j sloJudgement
	b := &o.Budget
	unit := b.Unit
	if unit == "" {
		unit = "events"
	}
	switch {
	case b.NoData:
		j.noData = o.Name + " has no data in its " + o.Window + " window"
	case b.Total < p.MinEvents:
		j.insufficient = o.Name + " has insufficient data: " + formatCount(b.Total) + " " + unit + " in its " +
			o.Window + " window, at least " + formatCount(p.MinEvents) + " needed"
	}
	switch d := &o.Data; {
	case b.NoData:
		// Nothing to be stale.
	case d.SourceError != "":
		j.stale = o.Name + " has stale data: its source reports an error: " + d.SourceError
	case d.Backfilling:
		j.stale = o.Name + " has incomplete data: its history is still being loaded"
	case !o.Schedule.Active:
		// Outside its schedule an SLO expects no traffic, so old data is
		// normal.
	case d.AgeSeconds == nil:
		j.stale = o.Name + " has stale data: no minute with events is known"
	case *d.AgeSeconds > p.MaxDataAge.Seconds():
		j.stale = o.Name + " has stale data: the latest is " + formatAge(*d.AgeSeconds) +
			" old, more than the " + formatDuration(p.MaxDataAge) + " allowed"
	}
	if j.noData != "" || j.insufficient != "" || b.RemainingRatio == nil {
		return j
	}

	remaining := *b.RemainingRatio
	var spent string
	switch {
	case remaining <= 0:
		spent = "has spent " + formatPercent(1-remaining) + "% of its " + o.Window + " budget"
	case remaining < p.MinBudgetRemaining:
		spent = "has " + formatPercent(remaining) + "% of its " + o.Window + " budget left, below the " +
			formatPercent(p.MinBudgetRemaining) + "% minimum"
	}
	if spent != "" {
		spent += " (" + objectiveNote(o) + ")"
	}
	burning := burnClause(p, o)
	switch {
	case spent != "" && burning != "":
		j.slowDown = o.Name + " " + spent + " and " + burning
	case spent != "":
		j.slowDown = o.Name + " " + spent
	case burning != "":
		j.slowDown = o.Name + " " + burning
	case remaining < p.WarnBudgetRemaining:
		j.warning = o.Name + " has " + formatPercent(remaining) + "% of its " + o.Window +
			" budget left, below the " + formatPercent(p.WarnBudgetRemaining) + "% warning threshold"
	}
	return j
}

// objectiveNote says what the budget is measured against: "99.9%
// objective, SLI 99.896%", and the schedule when it is not always on.
func objectiveNote(o *monitor.SLOStatus) string {
	s := formatFloat(o.Objective) + "% objective"
	if o.Budget.SLI != nil {
		s += ", SLI " + formatSLI(*o.Budget.SLI, o.Objective) + "%"
	}
	if n := o.Schedule.Name; n != "" && n != slo.AlwaysName {
		s += ", counting " + n + " only"
	}
	return s
}

// burnClause returns "is burning 16.2x its budget over 1h and 21.0x over
// 5m" when the fast-burn condition holds, or "".
func burnClause(p *Policy, o *monitor.SLOStatus) string {
	if !(p.FastBurnRate > 0) || len(p.FastBurnWindows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("is burning ")
	for i, w := range p.FastBurnWindows {
		rate := burnRate(o, w)
		if rate == nil || !(*rate > p.FastBurnRate) {
			return ""
		}
		switch {
		case i == 0:
		case i == len(p.FastBurnWindows)-1:
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatFloat(*rate, 'f', 1, 64))
		b.WriteString("x ")
		if i == 0 {
			b.WriteString("its budget ")
		}
		b.WriteString("over ")
		b.WriteString(w)
	}
	return b.String()
}

func burnRate(o *monitor.SLOStatus, window string) *float64 {
	for i := range o.Burn {
		if o.Burn[i].Window == window {
			return o.Burn[i].Rate
		}
	}
	return nil
}

func (j sloJudgement) summary(o *monitor.SLOStatus, gated bool) SLOSummary {
	s := SLOSummary{
		Name: o.Name, Gated: gated, Window: o.Window, Objective: o.Objective, Events: o.Budget.Total,
		Burn1h: burnRate(o, "1h"), Burn6h: burnRate(o, "6h"),
	}
	if !o.Budget.NoData {
		s.BudgetRemaining = o.Budget.RemainingRatio
	}
	switch {
	case j.slowDown != "":
		s.Status = StatusSlowDown
	case j.noData != "":
		s.Status = StatusNoData
	case j.stale != "":
		s.Status = StatusStale
	case j.insufficient != "":
		s.Status = StatusInsufficientData
	case j.warning != "":
		s.Status = StatusWarning
	default:
		s.Status = StatusOK
	}
	return s
}

func nameOr(name, fallback string) string {
	if name == "" {
		return fallback
	}
	return name
}

// formatPercent writes a ratio as a percentage: whole numbers from 10%
// up (104, 71), one decimal below (2.5, 0.4).
func formatPercent(ratio float64) string {
	v := ratio * 100
	if math.Abs(v) >= 10 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
}

// formatSLI writes an SLI ratio as a percentage with one more decimal than
// the objective has, and at least three, so 99.896% against 99.9% shows.
func formatSLI(sli, objective float64) string {
	decimals := 0
	if s := formatFloat(objective); strings.Contains(s, ".") && !strings.Contains(s, "e") {
		decimals = len(s) - strings.IndexByte(s, '.') - 1
	}
	return strconv.FormatFloat(sli*100, 'f', max(3, decimals+1), 64)
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// formatCount writes an event count, which can be fractional when it comes
// from PromQL increases, as a whole number.
func formatCount(n float64) string { return strconv.FormatFloat(math.Round(n), 'f', 0, 64) }

// formatAge writes an age in seconds to the second under a minute and to
// the minute above.
func formatAge(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	if d >= time.Minute {
		return formatDuration(d.Round(time.Minute))
	}
	return formatDuration(d.Round(time.Second))
}
