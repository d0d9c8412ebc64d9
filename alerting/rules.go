// Package alerting owns who to tell about an SLO's burn and when: burn-rate
// alert rules kept as data, the evaluator that turns budget statuses into
// alert transitions with hold-downs, grouping and inhibition, and the
// backtest that replays history through them. Its top level is pure: time
// is a parameter and nothing here does I/O. Routing, notifiers and durable
// delivery live in the sub-packages.
package alerting

import (
	"fmt"
	"slices"
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/slo"
)

// Severities of rules and alerts.
const (
	// SeverityPage wakes the on-call developer: the budget burns fast
	// enough that it needs action now.
	SeverityPage = "page"
	// SeverityTicket goes to non-paging receivers: the budget burns slowly
	// or is spent, and needs action within days.
	SeverityTicket = "ticket"
)

// Rule is one multiwindow burn-rate condition: it holds when the burn rate
// is above Burn over both the Long and the Short window. The long window
// says the burn is significant, the short one that it is still going on,
// so an alert resets soon after recovery.
type Rule struct {
	// Severity is SeverityPage or SeverityTicket.
	Severity string `json:"severity" yaml:"severity"`
	// Long and Short are the windows, each one of budget.BurnWindows,
	// Short shorter than Long.
	Long  time.Duration `json:"long" yaml:"long"`
	Short time.Duration `json:"short" yaml:"short"`
	// Burn is the threshold the burn rate must exceed over both windows.
	Burn float64 `json:"burn" yaml:"burn"`
}

// String renders r for people, e.g. "page: burn > 14.4 over 1h0m0s and 5m0s".
func (r Rule) String() string {
	return fmt.Sprintf("%s: burn > %.4g over %v and %v", r.Severity, r.Burn, r.Long, r.Short)
}

// defaultRule is a rule of the SRE workbook's set as the share of the
// budget it spends over its long window, which is what stays the same when
// the SLO's window is not 30 days.
type defaultRule struct {
	severity    string
	long, short time.Duration
	percent     float64 // of the budget spent over long
}

// workbookRules are the SRE workbook's multiwindow multi-burn-rate alerts:
// for a 30-day window, page at 14.4 over 1h and 5m (2% of the budget in an
// hour) and 6 over 6h and 30m (5% in 6 hours); ticket at 3 over 1d and 2h
// (10% in a day) and 1 over 3d and 6h (10% in 3 days).
var workbookRules = []defaultRule{
	{SeverityPage, time.Hour, 5 * time.Minute, 2},
	{SeverityPage, 6 * time.Hour, 30 * time.Minute, 5},
	{SeverityTicket, 24 * time.Hour, 2 * time.Hour, 10},
	{SeverityTicket, 72 * time.Hour, 6 * time.Hour, 10},
}

// workbookWindow is the SLO window the workbook's thresholds are for.
const workbookWindow = 30 * 24 * time.Hour

// DefaultRules returns the SRE workbook's multiwindow multi-burn-rate rules
// scaled to an SLO window of length window, so each rule still fires at the
// same share of the budget spent over its long window: a rule spending p%
// of the budget in its long window L has threshold p/100 * window / L
// (14.4 for 2% in an hour of a 30-day window, 13.44 for a 28-day one).
// A window that is not positive is taken as 30 days. Pages come first,
// fastest first. The result is a new slice the caller may change.
func DefaultRules(window time.Duration) []Rule {
	if window <= 0 {
		window = workbookWindow
	}
	rules := make([]Rule, len(workbookRules))
	for i, d := range workbookRules {
		// percent*window/(100*long), in an order that keeps the workbook's
		// own thresholds exact in float64.
		burn := d.percent * window.Hours() / (100 * d.long.Hours())
		rules[i] = Rule{Severity: d.severity, Long: d.long, Short: d.short, Burn: burn}
	}
	return rules
}

// WindowLength returns the length to scale rules to for an SLO window: the
// rolling length, or for calendar windows a nominal 7, 30 or 91 days.
func WindowLength(w slo.Window) time.Duration {
	const day = 24 * time.Hour
	switch w.Period {
	case slo.Week:
		return 7 * day
	case slo.Month:
		return 30 * day
	case slo.Quarter:
		return 91 * day
	}
	return w.Rolling
}

// ValidateRules reports the first problem with rules: an unknown severity,
// a window that is not one of budget.BurnWindows, a short window not
// shorter than the long one, or a threshold that is not positive.
func ValidateRules(rules []Rule) error {
	for i, r := range rules {
		switch {
		case r.Severity != SeverityPage && r.Severity != SeverityTicket:
			return fmt.Errorf("rule %d: severity %q, want %q or %q", i, r.Severity, SeverityPage, SeverityTicket)
		case !slices.Contains(budget.BurnWindows, r.Long):
			return fmt.Errorf("rule %d: long window %v, want one of %v", i, r.Long, budget.BurnWindows)
		case !slices.Contains(budget.BurnWindows, r.Short):
			return fmt.Errorf("rule %d: short window %v, want one of %v", i, r.Short, budget.BurnWindows)
		case r.Short >= r.Long:
			return fmt.Errorf("rule %d: short window %v, want shorter than long window %v", i, r.Short, r.Long)
		case !(r.Burn > 0):
			return fmt.Errorf("rule %d: burn threshold %v, want above 0", i, r.Burn)
		}
	}
	return nil
}

// burnIn returns st's burn rate over window w; ok is false when the
// status has none for w.
func burnIn(st *budget.Status, w time.Duration) (budget.BurnRate, bool) {
	for _, b := range st.Burn {
		if b.Window == w {
			return b, true
		}
	}
	return budget.BurnRate{}, false
}

// ConfigFor is the alerting config of svc: each SLO's rules and
// low-traffic guard from its spec, or the defaults scaled to its window.
func ConfigFor(svc *slo.Service) Config {
	ac := Config{Service: svc.Name}
	for _, s := range svc.SLOs {
		c := SLOConfig{Name: s.Name, Window: WindowLength(s.Win)}
		if a := s.Alerting; a != nil {
			if a.Rules != nil {
				c.Rules = []Rule{}
				for _, r := range a.Rules {
					c.Rules = append(c.Rules, Rule{Severity: r.Severity,
						Long: time.Duration(r.Long), Short: time.Duration(r.Short), Burn: r.Burn})
				}
			}
			if a.MinBadEvents != nil {
				c.MinBadEvents = *a.MinBadEvents
				if c.MinBadEvents == 0 {
					c.MinBadEvents = -1 // the spec's 0 is "no guard"
				}
			}
		}
		ac.SLOs = append(ac.SLOs, c)
	}
	return ac
}
