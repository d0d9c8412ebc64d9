package translate

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slogate/slogate/slo"
)

// selector is a counter selector: the metric and the other matchers, in
// the order they were written.
type selector struct {
	metric   string
	matchers []*labels.Matcher
}

// String renders s as a spec writes it, e.g. http_requests_total{code!~"5.."}.
func (s selector) String() string {
	if len(s.matchers) == 0 {
		return s.metric
	}
	return s.metric + braces(s.matchers)
}

func braces(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// sameMatchers reports whether a and b hold the same matchers in any order.
func sameMatchers(a, b []*labels.Matcher) bool {
	if len(a) != len(b) {
		return false
	}
	for _, m := range a {
		if !slices.ContainsFunc(b, func(o *labels.Matcher) bool { return o.String() == m.String() }) {
			return false
		}
	}
	return true
}

// windowRE matches Sloth's window placeholder, which is only valid inside
// a range selector.
var windowRE = regexp.MustCompile(`\{\{\s*\.window\s*\}\}`)

// parseQuery parses a PromQL query, with Sloth's {{.window}} filled in: the
// range does not matter to slogate, which takes per-minute increases.
func parseQuery(q string) (parser.Expr, error) {
	q = windowRE.ReplaceAllString(q, "5m")
	if strings.Contains(q, "{{") {
		return nil, errors.New("templates other than {{.window}}: slogate reads the query as written")
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return nil, fmt.Errorf("not PromQL: %s", firstLine(err.Error()))
	}
	return e, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// counterOf reduces a query to the counter whose increases it sums:
// sum(rate(c[w])), sum(increase(c[w])), rate(c[w]), sum(c) or c itself,
// optionally followed by "or vector(0)". Anything else changes what is
// counted, and the error says how.
func counterOf(e parser.Expr) (selector, error) {
	switch e := unparen(e).(type) {
	case *parser.VectorSelector:
		return selectorOf(e)
	case *parser.AggregateExpr:
		if e.Op != parser.SUM {
			return selector{}, fmt.Errorf("%s(): slogate sums the counters' increases across series", e.Op)
		}
		if len(e.Grouping) > 0 || e.Without {
			how := "by"
			if e.Without {
				how = "without"
			}
			return selector{}, fmt.Errorf("sum %s (%s): slogate sums across all series", how, strings.Join(e.Grouping, ", "))
		}
		return counterOf(e.Expr)
	case *parser.Call:
		switch e.Func.Name {
		case "rate", "increase":
			if ms, ok := e.Args[0].(*parser.MatrixSelector); ok {
				if vs, ok := ms.VectorSelector.(*parser.VectorSelector); ok {
					return selectorOf(vs)
				}
			}
			return selector{}, fmt.Errorf("%s() of a subquery: slogate reads the counters' own samples", e.Func.Name)
		case "vector":
			return selector{}, errors.New("vector() is a constant, not a counter")
		}
		return selector{}, fmt.Errorf("%s(): slogate counts the increases of counters", e.Func.Name)
	case *parser.BinaryExpr:
		if e.Op == parser.LOR && isZero(e.RHS) {
			// "or vector(0)" only keeps a query from returning nothing
			// when no errors happened; slogate counts that as zero anyway.
			return counterOf(e.LHS)
		}
		return selector{}, arithmetic(e)
	case *parser.NumberLiteral:
		return selector{}, errors.New("a number is not a counter")
	case *parser.SubqueryExpr:
		return selector{}, errors.New("a subquery: slogate reads the counters' own samples")
	case *parser.MatrixSelector:
		return selector{}, errors.New("a range selector alone: write rate() or increase() of it")
	}
	return selector{}, fmt.Errorf("%s: not a counter selector", e)
}

// isZero reports whether e is vector(0) or 0.
func isZero(e parser.Expr) bool {
	switch e := unparen(e).(type) {
	case *parser.NumberLiteral:
		return e.Val == 0
	case *parser.Call:
		return e.Func.Name == "vector" && len(e.Args) == 1 && isZero(e.Args[0])
	}
	return false
}

// arithmetic says why a binary expression cannot be a counter selector,
// naming the metrics it combines.
func arithmetic(e *parser.BinaryExpr) error {
	var metrics []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if name := nameOf(vs); name != "" && !slices.Contains(metrics, name) {
				metrics = append(metrics, name)
			}
		}
		return nil
	})
	what := fmt.Sprintf("arithmetic (%s)", e.Op)
	if len(metrics) > 1 {
		what += " over several metrics (" + strings.Join(metrics, ", ") + ")"
	}
	return fmt.Errorf("%s: a slogate SLI selects counters and sums their increases", what)
}

func nameOf(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

func selectorOf(vs *parser.VectorSelector) (selector, error) {
	if vs.OriginalOffset != 0 || vs.OriginalOffsetExpr != nil || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		return selector{}, errors.New("offset and @: slogate counts each minute as it happens")
	}
	s := selector{metric: nameOf(vs)}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName {
			if m.Type != labels.MatchEqual {
				return selector{}, fmt.Errorf("selecting metrics by %s: a slogate SLI names one metric", m)
			}
			continue
		}
		s.matchers = append(s.matchers, m)
	}
	if s.metric == "" {
		return selector{}, errors.New("the selector names no metric")
	}
	return s, nil
}

// ratioOf splits a ratio query num / den into its two counters.
func ratioOf(e parser.Expr) (num, den selector, err error) {
	b, ok := unparen(e).(*parser.BinaryExpr)
	if !ok || b.Op != parser.DIV || b.ReturnBool {
		if num, err := counterOf(e); err == nil {
			return selector{}, selector{}, fmt.Errorf("it is the counter %s, not a ratio of two counters", num)
		}
		return selector{}, selector{}, errors.New("a precomputed ratio: slogate needs the counters of good (or bad) and total events")
	}
	if num, err = counterOf(b.LHS); err != nil {
		return selector{}, selector{}, fmt.Errorf("numerator: %w", err)
	}
	if den, err = counterOf(b.RHS); err != nil {
		return selector{}, selector{}, fmt.Errorf("denominator: %w", err)
	}
	return num, den, nil
}

// differenceOf splits a difference of two counters a - b.
func differenceOf(e parser.Expr) (a, b selector, ok bool) {
	bin, isBin := unparen(e).(*parser.BinaryExpr)
	if !isBin || bin.Op != parser.SUB {
		return selector{}, selector{}, false
	}
	a, errA := counterOf(bin.LHS)
	b, errB := counterOf(bin.RHS)
	return a, b, errA == nil && errB == nil
}

// quantile is a latency percentile over a histogram:
// histogram_quantile(q, sum by (le) (rate(<metric>_bucket{...}[w]))).
type quantile struct {
	q        float64
	metric   string // the histogram's base name
	matchers []*labels.Matcher
}

// quantileOf recognises a histogram_quantile over one histogram's buckets.
func quantileOf(e parser.Expr) (quantile, bool) {
	c, ok := unparen(e).(*parser.Call)
	if !ok || c.Func.Name != "histogram_quantile" || len(c.Args) != 2 {
		return quantile{}, false
	}
	q, ok := unparen(c.Args[0]).(*parser.NumberLiteral)
	if !ok || !(q.Val > 0 && q.Val < 1) {
		return quantile{}, false
	}
	agg, ok := unparen(c.Args[1]).(*parser.AggregateExpr)
	if !ok || agg.Op != parser.SUM || agg.Without || !slices.Equal(agg.Grouping, []string{labels.BucketLabel}) {
		return quantile{}, false
	}
	s, err := counterOf(agg.Expr)
	if err != nil || !strings.HasSuffix(s.metric, "_bucket") || hasLabel(s.matchers, labels.BucketLabel) {
		return quantile{}, false
	}
	return quantile{q: q.Val, metric: strings.TrimSuffix(s.metric, "_bucket"), matchers: s.matchers}, true
}

func hasLabel(ms []*labels.Matcher, name string) bool {
	return slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return m.Name == name })
}

// negated returns the selector of good events when bad is total with
// exactly one more matcher: total with that matcher inverted, which
// selects exactly the series of total that bad does not (code=~"5.." and
// code!~"5.." split every series, those without a code label included).
func negated(bad, total selector) (selector, bool) {
	if bad.metric != total.metric || len(bad.matchers) != len(total.matchers)+1 {
		return selector{}, false
	}
	var extra *labels.Matcher
	for _, m := range bad.matchers {
		if slices.ContainsFunc(total.matchers, func(t *labels.Matcher) bool { return t.String() == m.String() }) {
			continue
		}
		if extra != nil {
			return selector{}, false
		}
		extra = m
	}
	if extra == nil || hasLabel(total.matchers, extra.Name) {
		return selector{}, false
	}
	inv, err := extra.Inverse()
	if err != nil {
		return selector{}, false
	}
	good := selector{metric: bad.metric}
	for _, m := range bad.matchers {
		if m == extra {
			m = inv
		}
		good.matchers = append(good.matchers, m)
	}
	return good, true
}

// sliOf builds the SLI for counters of good or bad events (one of them is
// set) and total events: a latency SLI when good is one bucket of a
// histogram and total its count; a ratio SLI with good when bad can be
// negated; a ratio SLI with bad otherwise, which slogate reads as total
// minus bad.
func sliOf(good, bad *selector, total selector) slo.SLI {
	if bad != nil {
		if g, ok := negated(*bad, total); ok {
			good, bad = &g, nil
		}
	}
	if good != nil {
		if l, ok := latencyOf(*good, total); ok {
			return slo.SLI{Latency: l}
		}
		return slo.SLI{Ratio: &slo.RatioSLI{Good: good.String(), Total: total.String()}}
	}
	return slo.SLI{Ratio: &slo.RatioSLI{Bad: bad.String(), Total: total.String()}}
}

// latencyOf recognises good = <h>_bucket{le="T",...} and total =
// <h>_count{...} with the same other matchers.
func latencyOf(good, total selector) (*slo.LatencySLI, bool) {
	base, ok := strings.CutSuffix(good.metric, "_bucket")
	if !ok || total.metric != base+"_count" {
		return nil, false
	}
	var rest []*labels.Matcher
	th := 0.0
	for _, m := range good.matchers {
		if m.Name != labels.BucketLabel {
			rest = append(rest, m)
			continue
		}
		v, err := strconv.ParseFloat(m.Value, 64)
		if m.Type != labels.MatchEqual || err != nil || !(v > 0) || math.IsInf(v, 1) || th != 0 {
			return nil, false
		}
		th = v
	}
	if th == 0 || !sameMatchers(rest, total.matchers) {
		return nil, false
	}
	return &slo.LatencySLI{Metric: base, Selector: selectorText(total.matchers), Threshold: th}, true
}

// selectorText renders matchers alone, as a latency SLI's selector.
func selectorText(ms []*labels.Matcher) string {
	if len(ms) == 0 {
		return ""
	}
	return braces(ms)
}
