// Package slo owns what users write: services, their owners, their SLOs and
// SLIs, the named schedules SLOs are measured on, and slogate's server
// configuration. It loads YAML specs and validates them, reporting every
// problem at once with file, line and field. It does no I/O beyond reading
// spec and config files.
package slo

import (
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// Service is one service's spec: the contents of one YAML file in a spec
// directory.
type Service struct {
	// Name identifies the service in the API, metrics and alerts.
	Name string `yaml:"name"`
	// Description says what the service does, for people.
	Description string `yaml:"description"`
	// Owner names who builds and runs the service.
	Owner Owner `yaml:"owner"`
	// Labels are free-form key/value pairs copied onto the service's metrics
	// and alerts.
	Labels map[string]string `yaml:"labels"`
	// Runbook is a URL with what to do when the service's SLOs burn.
	Runbook string `yaml:"runbook"`
	// SLOs are the service's objectives, at least one.
	SLOs []SLO `yaml:"slos"`
	// Gate overrides the server config's gate policy for this service.
	Gate *GatePolicy `yaml:"gate"`
	// Alerting overrides which receivers the service's alerts go to.
	Alerting *ServiceAlerting `yaml:"alerting"`

	// File is the path the spec was loaded from; empty for specs built in
	// code.
	File string `yaml:"-"`
}

// Owner names the team that owns a service.
type Owner struct {
	// Team is the owning team's name.
	Team string `yaml:"team"`
}

// Budgeting methods an SLO can use.
const (
	// Occurrences counts events: the SLI is good events over total events.
	Occurrences = "occurrences"
	// Timeslices counts minutes: a minute is good when its ratio of good
	// events meets the SLO's timeslice threshold.
	Timeslices = "timeslices"
)

// SLO is one service level objective.
type SLO struct {
	// Name identifies the SLO within its service.
	Name string `yaml:"name"`
	// Description says what the SLO promises, for people.
	Description string `yaml:"description"`
	// Objective is the target in percent, strictly between 0 and 100
	// (99.9 means 99.9%).
	Objective float64 `yaml:"objective"`
	// Window is the compliance window as written: a rolling duration such as
	// "28d", "7d" or "30d", or a calendar period "week", "month" or
	// "quarter". Validation fills Win from it.
	Window string `yaml:"window"`
	// Budgeting is Occurrences (the default when empty) or Timeslices.
	Budgeting string `yaml:"budgeting"`
	// TimesliceThreshold is, for Timeslices, the percentage of good events a
	// minute needs to count as a good minute (e.g. 99).
	TimesliceThreshold float64 `yaml:"timesliceThreshold"`
	// Schedule names a schedule from the server config; empty means the
	// built-in always-on schedule.
	Schedule string `yaml:"schedule"`
	// SLI says how good and total events are measured.
	SLI SLI `yaml:"sli"`
	// Alerting tunes the SLO's burn-rate alerts; nil keeps the defaults.
	Alerting *SLOAlerting `yaml:"alerting"`

	// Win is the parsed Window, set by validation.
	Win Window `yaml:"-"`
}

// Ratio returns the objective as a fraction between 0 and 1.
func (s SLO) Ratio() float64 { return s.Objective / 100 }

// SLOAlerting tunes when an SLO's burn-rate alerts fire.
type SLOAlerting struct {
	// MinBadEvents is the low-traffic guard: the fewest bad events (bad
	// minutes, for timeslices) in a rule's long window for it to fire. Nil
	// means the alerting default (10); 0 means no guard.
	MinBadEvents *float64 `yaml:"minBadEvents"`
	// Rules replace the default rules, the SRE workbook's multiwindow set
	// scaled to the SLO's window. Nil keeps the defaults; an empty, non-nil
	// list means no burn-rate alerts.
	Rules []AlertRule `yaml:"rules"`
}

// AlertRule is one multiwindow burn-rate condition as written in a spec:
// it holds when the burn rate is above Burn over both Long and Short.
type AlertRule struct {
	// Severity is page or ticket.
	Severity string `yaml:"severity"`
	// Long and Short are windows from BurnWindows, Short shorter than
	// Long: the long window says the burn is significant, the short one
	// that it is still going on.
	Long  model.Duration `yaml:"long"`
	Short model.Duration `yaml:"short"`
	// Burn is the burn-rate threshold, above 0 (14.4 spends 2% of a
	// 30-day budget in an hour).
	Burn float64 `yaml:"burn"`
}

// BurnWindows are the windows burn rates are computed over, shortest
// first: the only windows alert rules and the gate's fast-burn condition
// can use. The budget engine computes exactly these (budget.BurnWindows is
// this slice); do not change it.
var BurnWindows = []time.Duration{
	5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
	6 * time.Hour, 24 * time.Hour, 72 * time.Hour,
}

// SLI says where an SLO's good and total events come from. Exactly one of
// Ratio, Latency and Push is set.
type SLI struct {
	// Source names a PromQL source from the server config; empty means the
	// built-in scraper. Ignored for Push SLIs.
	Source string `yaml:"source"`
	// Ratio measures good (or bad) events against total events.
	Ratio *RatioSLI `yaml:"ratio"`
	// Latency measures requests faster than a histogram bucket boundary.
	Latency *LatencySLI `yaml:"latency"`
	// Push takes counts posted to the push intake (POST /api/v1/events).
	Push *PushSLI `yaml:"push"`
}

// RatioSLI measures good events against total events with two counter
// selectors. Exactly one of Good and Bad is set.
type RatioSLI struct {
	// Good selects counters of good events, e.g.
	// http_requests_total{job="checkout",code!~"5.."}.
	Good string `yaml:"good"`
	// Bad selects counters of bad events; good is then total minus bad.
	Bad string `yaml:"bad"`
	// Total selects counters of all events.
	Total string `yaml:"total"`

	// GoodMatchers, BadMatchers and TotalMatchers are the parsed selectors,
	// set by validation. Each includes the __name__ matcher.
	GoodMatchers  []*labels.Matcher `yaml:"-"`
	BadMatchers   []*labels.Matcher `yaml:"-"`
	TotalMatchers []*labels.Matcher `yaml:"-"`
}

// LatencySLI counts requests at or under a latency threshold as good, from a
// Prometheus histogram: good is the bucket count at le=Threshold, total is the
// histogram's _count.
type LatencySLI struct {
	// Metric is the histogram's base name, e.g. http_request_duration_seconds
	// (without _bucket or _count).
	Metric string `yaml:"metric"`
	// Selector restricts the series, e.g. {job="checkout"}; may be empty.
	Selector string `yaml:"selector"`
	// Threshold is the latency bound in the histogram's unit; it must equal
	// one of the histogram's le buckets.
	Threshold float64 `yaml:"threshold"`

	// BucketMatchers select <Metric>_bucket series with le equal to
	// Threshold; CountMatchers select <Metric>_count. Both are set by
	// validation and start with the __name__ matcher. The le matcher is an
	// equality (le="0.3") when the bound has one usual spelling, and an
	// anchored regexp of its spellings otherwise (le=~"1|1\.0": client_golang
	// writes 1, Prometheus 3 and OpenMetrics write 1.0), so match label
	// values with Matcher.Matches rather than comparing strings.
	BucketMatchers []*labels.Matcher `yaml:"-"`
	CountMatchers  []*labels.Matcher `yaml:"-"`
}

// PushSLI marks an SLO whose counts arrive through the push intake.
type PushSLI struct{}

// Calendar periods a Window can have.
const (
	Week    = "week"
	Month   = "month"
	Quarter = "quarter"
)

// Window is a parsed compliance window: either rolling (Rolling > 0) or a
// calendar Period that starts at local midnight in the SLO's schedule's time
// zone (weeks start on Monday).
type Window struct {
	// Rolling is the length of a rolling window, a whole number of minutes.
	Rolling time.Duration
	// Period is Week, Month or Quarter for calendar windows.
	Period string
}

// IsCalendar reports whether w is a calendar window.
func (w Window) IsCalendar() bool { return w.Period != "" }

// String renders w as it is written in a spec.
func (w Window) String() string {
	if w.IsCalendar() {
		return w.Period
	}
	d := w.Rolling
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	if d%time.Hour == 0 {
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
}

// Bounds returns the window that ends at now: [start, end) with end the
// start of the minute after now's minute, so the minute in progress is
// included. loc is the schedule's time zone, used by calendar windows.
func (w Window) Bounds(now time.Time, loc *time.Location) (start, end time.Time) {
	end = now.UTC().Truncate(time.Minute).Add(time.Minute)
	if !w.IsCalendar() {
		return end.Add(-w.Rolling), end
	}
	start, _ = w.PeriodAt(now, loc)
	return start, end
}

// PeriodAt returns the calendar period containing now: [start, next) where
// both are local midnights in loc, converted to UTC. It panics for rolling
// windows.
func (w Window) PeriodAt(now time.Time, loc *time.Location) (start, next time.Time) {
	l := now.In(loc)
	y, m, d := l.Date()
	switch w.Period {
	case Week:
		off := (int(l.Weekday()) + 6) % 7 // days since Monday
		start = time.Date(y, m, d-off, 0, 0, 0, 0, loc)
		next = time.Date(y, m, d-off+7, 0, 0, 0, 0, loc)
	case Month:
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		next = time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	case Quarter:
		qm := time.Month((int(m)-1)/3*3 + 1)
		start = time.Date(y, qm, 1, 0, 0, 0, 0, loc)
		next = time.Date(y, qm+3, 1, 0, 0, 0, 0, loc)
	default:
		panic("slo: PeriodAt on a rolling window")
	}
	return start.UTC(), next.UTC()
}

// Longest returns the longest span a window can cover, used to size
// retention: the rolling length, or the longest calendar period.
func (w Window) Longest() time.Duration {
	switch w.Period {
	case Week:
		return 7*24*time.Hour + time.Hour
	case Month:
		return 31*24*time.Hour + time.Hour
	case Quarter:
		return 92*24*time.Hour + time.Hour
	}
	return w.Rolling
}
