package slo

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

var (
	nameRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

// Rolling windows must lie in these bounds: shorter windows are too noisy to
// budget, longer ones outlive any reasonable retention.
const (
	minRolling = time.Hour
	maxRolling = 400 * 24 * time.Hour
)

// ParseWindow parses a compliance window as written in a spec: a rolling
// "<N>d", "<N>h" or "<N>m" between 1h and 400d, or "week", "month" or
// "quarter".
func ParseWindow(s string) (Window, error) {
	switch s {
	case Week, Month, Quarter:
		return Window{Period: s}, nil
	}
	bad := fmt.Errorf("must be a rolling window such as 28d, 7d or 12h, or week, month or quarter; got %q", s)
	if len(s) < 2 {
		return Window{}, bad
	}
	num, unit := s[:len(s)-1], s[len(s)-1]
	if !digits(num) || len(num) > 9 {
		return Window{}, bad
	}
	n, _ := strconv.Atoi(num)
	var d time.Duration
	switch unit {
	case 'd':
		d = time.Duration(n) * 24 * time.Hour
	case 'h':
		d = time.Duration(n) * time.Hour
	case 'm':
		d = time.Duration(n) * time.Minute
	default:
		return Window{}, bad
	}
	if d < minRolling || d > maxRolling {
		return Window{}, fmt.Errorf("must be between 1h and 400d, got %q", s)
	}
	return Window{Rolling: d}, nil
}

// ValidateService checks a service built in code (or re-checks a loaded
// one) and fills its parsed fields (SLO.Win, SLO.Budgeting, selector
// matchers). Its error is Problems without file or line.
func ValidateService(s *Service) error {
	r := &reporter{file: s.File}
	validateService(s, r)
	return r.problems.err()
}

// validateService checks everything a service file can get wrong on its
// own; references to the server config (schedules, sources) are checked by
// Load.
func validateService(s *Service, r *reporter) {
	switch {
	case s.Name == "":
		r.add("name", "required: the service's name, e.g. checkout")
	case !nameRE.MatchString(s.Name):
		r.add("name", "must be lowercase letters, digits, - and _, starting with a letter or digit; got %q", s.Name)
	}
	if strings.TrimSpace(s.Owner.Team) == "" {
		r.add("owner.team", "required: the team that owns the service")
	}
	if s.Runbook != "" {
		if msg := checkHTTPURL(s.Runbook); msg != "" {
			r.add("runbook", "%s", msg)
		}
	} else {
		r.warn("runbook", "name", "missing: alerts for this service will carry no runbook link; set runbook to a URL that says what to do when its SLOs burn")
	}
	checkLabels(s.Labels, r, "labels")
	if len(s.SLOs) == 0 {
		r.add("slos", "at least one SLO is required")
	}
	seen := map[string]int{}
	for i := range s.SLOs {
		p := index("slos", i)
		validateSLO(&s.SLOs[i], r, p)
		name := s.SLOs[i].Name
		if name == "" {
			continue
		}
		if first, dup := seen[name]; dup {
			r.add(field(p, "name"), "duplicate SLO name %q (also slos[%d])", name, first)
			continue
		}
		seen[name] = i
	}
	if s.Gate != nil {
		validateGate(s.Gate, s, r, "gate")
	}
	if s.Alerting != nil {
		validateServiceAlerting(s.Alerting, r, "alerting")
	}
}

func validateSLO(o *SLO, r *reporter, p string) {
	switch {
	case o.Name == "":
		r.add(field(p, "name"), "required: the SLO's name, e.g. availability")
	case !nameRE.MatchString(o.Name):
		r.add(field(p, "name"), "must be lowercase letters, digits, - and _, starting with a letter or digit; got %q", o.Name)
	}
	if !(o.Objective > 0 && o.Objective < 100) {
		r.add(field(p, "objective"), "must be between 0 and 100, got %s", formatFloat(o.Objective))
	}
	if o.Window == "" {
		r.add(field(p, "window"), "required: a rolling window such as 28d, or week, month or quarter")
	} else if w, err := ParseWindow(o.Window); err != nil {
		r.add(field(p, "window"), "%v", err)
	} else {
		o.Win = w
	}

	switch o.Budgeting {
	case "", Occurrences:
		o.Budgeting = Occurrences
		if o.TimesliceThreshold != 0 {
			r.add(field(p, "timesliceThreshold"), "only applies with budgeting: timeslices")
		}
	case Timeslices:
		switch th := o.TimesliceThreshold; {
		case th == 0:
			r.add(field(p, "timesliceThreshold"), "required with budgeting: timeslices: the percentage of good events that makes a good minute, e.g. 95")
		case !(th > 0 && th <= 100):
			r.add(field(p, "timesliceThreshold"), "must be greater than 0 and at most 100, got %s", formatFloat(th))
		}
	default:
		r.add(field(p, "budgeting"), "must be occurrences or timeslices, got %q", o.Budgeting)
	}
	if o.Schedule != "" && !nameRE.MatchString(o.Schedule) {
		r.add(field(p, "schedule"), "must name a schedule from the server config, got %q", o.Schedule)
	}
	validateSLI(&o.SLI, r, field(p, "sli"))
	if o.Alerting != nil {
		validateSLOAlerting(o.Alerting, r, field(p, "alerting"))
	}
}

// validateSLOAlerting checks an SLO's alerting section: the low-traffic
// guard and rules whose windows are burn windows.
func validateSLOAlerting(a *SLOAlerting, r *reporter, p string) {
	if v := a.MinBadEvents; v != nil && (!(*v >= 0) || math.IsInf(*v, 1)) {
		r.add(field(p, "minBadEvents"), "must be a number of bad events of 0 or more (0 turns the guard off), got %s", formatFloat(*v))
	}
	for i, ru := range a.Rules {
		rp := index(field(p, "rules"), i)
		switch ru.Severity {
		case "page", "ticket":
		case "":
			r.add(field(rp, "severity"), "required: page or ticket")
		default:
			r.add(field(rp, "severity"), "must be page or ticket, got %q", ru.Severity)
		}
		longOK := checkBurnWindow(ru.Long, r, field(rp, "long"))
		shortOK := checkBurnWindow(ru.Short, r, field(rp, "short"))
		if longOK && shortOK && ru.Short >= ru.Long {
			r.add(field(rp, "short"), "must be shorter than long (%s), got %s", ru.Long, ru.Short)
		}
		switch {
		case ru.Burn == 0 && r.root != nil && lookup(r.root, field(rp, "burn")) == nil:
			r.add(field(rp, "burn"), "required: the burn-rate threshold, above 0, such as 14.4")
		case !(ru.Burn > 0) || math.IsInf(ru.Burn, 1):
			r.add(field(rp, "burn"), "must be a burn rate above 0 such as 14.4, got %s", formatFloat(ru.Burn))
		}
	}
}

// checkBurnWindow reports a rule window that is not one of BurnWindows.
func checkBurnWindow(w model.Duration, r *reporter, p string) bool {
	switch {
	case w == 0:
		r.add(p, "required: one of %s (the windows burn rates are computed over)", burnWindowList())
	case !slices.Contains(BurnWindows, time.Duration(w)):
		r.add(p, "must be one of %s (the windows burn rates are computed over), got %s", burnWindowList(), w)
	default:
		return true
	}
	return false
}

func validateSLI(s *SLI, r *reporter, p string) {
	// "push:" with nothing after it is the natural way to write a push SLI;
	// yaml decodes it as a nil pointer, so look at the file.
	if s.Push == nil && r.root != nil && lookup(r.root, field(p, "push")) != nil {
		s.Push = &PushSLI{}
	}
	var kinds []string
	if s.Ratio != nil {
		kinds = append(kinds, "ratio")
	}
	if s.Latency != nil {
		kinds = append(kinds, "latency")
	}
	if s.Push != nil {
		kinds = append(kinds, "push")
	}
	switch len(kinds) {
	case 0:
		r.add(p, "one of ratio, latency or push is required")
		return
	case 1:
	default:
		r.add(p, "only one of ratio, latency or push may be set, got %s", strings.Join(kinds, " and "))
		return
	}
	if s.Source != "" && !nameRE.MatchString(s.Source) {
		r.add(field(p, "source"), "must name a prometheus source from the server config, got %q", s.Source)
	}
	sp := parser.NewParser(parser.Options{})
	switch {
	case s.Ratio != nil:
		validateRatio(s.Ratio, sp, r, field(p, "ratio"))
	case s.Latency != nil:
		validateLatency(s.Latency, sp, r, field(p, "latency"))
	case s.Push != nil:
		if s.Source != "" {
			r.add(field(p, "source"), "must be empty for a push SLI, whose counts come from the push intake")
		}
	}
}

func validateRatio(ra *RatioSLI, sp parser.Parser, r *reporter, p string) {
	switch {
	case ra.Good != "" && ra.Bad != "":
		r.add(p, "set only one of good and bad")
	case ra.Good == "" && ra.Bad == "":
		r.add(p, `one of good or bad is required, e.g. good: http_requests_total{job="checkout",code!~"5.."}`)
	}
	if ra.Total == "" {
		r.add(field(p, "total"), `required: a selector of all events, e.g. http_requests_total{job="checkout"}`)
	} else {
		ra.TotalMatchers = counterSelector(ra.Total, sp, r, field(p, "total"))
	}
	if ra.Good != "" {
		ra.GoodMatchers = counterSelector(ra.Good, sp, r, field(p, "good"))
	}
	if ra.Bad != "" {
		ra.BadMatchers = counterSelector(ra.Bad, sp, r, field(p, "bad"))
	}
}

// counterSelector parses a selector that must name its metric.
func counterSelector(sel string, sp parser.Parser, r *reporter, p string) []*labels.Matcher {
	ms, err := sp.ParseMetricSelector(sel)
	if err != nil {
		r.add(p, "cannot parse selector %q: %v", sel, err)
		return nil
	}
	if metricName(ms) == "" {
		r.add(p, `selector must name a metric, e.g. http_requests_total{job="checkout"}; got %q`, sel)
		return nil
	}
	// The parser puts the name last; first reads like the selector as
	// written.
	slices.SortStableFunc(ms, func(a, b *labels.Matcher) int {
		return cmp.Compare(b2i(b.Name == labels.MetricName), b2i(a.Name == labels.MetricName))
	})
	return ms
}

// metricName returns the metric a selector names by equality, or "".
func metricName(ms []*labels.Matcher) string {
	for _, m := range ms {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

func validateLatency(la *LatencySLI, sp parser.Parser, r *reporter, p string) {
	ok := true
	switch m := la.Metric; {
	case m == "":
		r.add(field(p, "metric"), "required: the histogram's name, e.g. http_request_duration_seconds")
		ok = false
	case !metricNameRE.MatchString(m):
		r.add(field(p, "metric"), "must be a metric name, got %q", m)
		ok = false
	case strings.HasSuffix(m, "_bucket") || strings.HasSuffix(m, "_count") || strings.HasSuffix(m, "_sum"):
		base := m[:strings.LastIndexByte(m, '_')]
		r.add(field(p, "metric"), "must be the histogram's base name without _bucket, _count or _sum: %s", base)
		ok = false
	}
	if th := la.Threshold; !(th > 0) || math.IsInf(th, 1) {
		r.add(field(p, "threshold"), "must be a histogram bucket boundary greater than 0, e.g. 0.3; got %s", formatFloat(th))
		ok = false
	}
	var sel []*labels.Matcher
	if s := strings.TrimSpace(la.Selector); s != "" {
		ms, err := sp.ParseMetricSelector(s)
		if err != nil {
			r.add(field(p, "selector"), "cannot parse selector %q: %v", la.Selector, err)
			return
		}
		for _, m := range ms {
			switch {
			case m.Name == labels.MetricName && (m.Type != labels.MatchEqual || m.Value != la.Metric):
				r.add(field(p, "selector"), `must not name a metric other than metric %q; write only the labels, e.g. {job="checkout"}`, la.Metric)
				return
			case m.Name == labels.MetricName:
				// The metric written twice; metric already says it.
			case m.Name == labels.BucketLabel:
				r.add(field(p, "selector"), "must not match le: threshold picks the bucket")
				return
			default:
				sel = append(sel, m)
			}
		}
	}
	if !ok {
		return
	}
	le, err := leMatcher(la.Threshold)
	if err != nil {
		r.add(field(p, "threshold"), "cannot build le matcher: %v", err)
		return
	}
	la.BucketMatchers = append(append([]*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, la.Metric+"_bucket")}, sel...), le)
	la.CountMatchers = append([]*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, la.Metric+"_count")}, sel...)
}

// leMatcher matches the le label of the bucket whose bound is th. Exporters
// write bounds in Go's shortest form (client_golang: 0.3, 1, 1e-05), while
// Prometheus 3 and OpenMetrics add ".0" to whole numbers (1.0), and
// strconv's 'f' form spells out small numbers (0.00001). The matcher is an
// equality when all spellings agree, as for 0.3, and otherwise an anchored
// regexp of the alternatives, e.g. le=~"1|1\.0".
func leMatcher(th float64) (*labels.Matcher, error) {
	g := strconv.FormatFloat(th, 'g', -1, 64)
	forms := []string{g, strconv.FormatFloat(th, 'f', -1, 64)}
	if !strings.ContainsAny(g, ".e") {
		forms = append(forms, g+".0")
	}
	slices.Sort(forms)
	forms = slices.Compact(forms)
	if len(forms) == 1 {
		return labels.NewMatcher(labels.MatchEqual, labels.BucketLabel, forms[0])
	}
	for i, f := range forms {
		forms[i] = regexp.QuoteMeta(f)
	}
	return labels.NewMatcher(labels.MatchRegexp, labels.BucketLabel, strings.Join(forms, "|"))
}

func checkLabels(ls map[string]string, r *reporter, p string) {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__") {
			r.add(field(p, k), "must be a label name (letters, digits and _, not starting with a digit or __), got %q", k)
		}
	}
}

// checkHTTPURL returns why s is not an absolute http(s) URL, or "".
func checkHTTPURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("must be an absolute http or https URL, got %q", s)
	}
	return ""
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
