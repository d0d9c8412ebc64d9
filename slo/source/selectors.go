package source

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/slogate/slogate/slo"
)

// Roles of an SLO's two selectors.
const (
	// roleGood selects good events, or bad events when sloRef.hasBad; for a
	// latency SLI it is the histogram bucket at the threshold.
	roleGood = 0
	// roleTotal selects all events; for a latency SLI the histogram count.
	roleTotal = 1
)

// sloRef is one SLO a source counts, reduced to its two counter selectors.
type sloRef struct {
	service, name string
	// hasBad reports that the roleGood selector counts bad events.
	hasBad bool
	sels   [2][]*labels.Matcher
}

// collectSLOs returns the ratio and latency SLOs of services whose SLI
// source is source ("" for the built-in scraper). It fails when a selector
// was not parsed, i.e. the spec was not validated.
func collectSLOs(services []*slo.Service, source string) ([]sloRef, error) {
	var refs []sloRef
	for _, svc := range services {
		if svc == nil {
			continue
		}
		for _, o := range svc.SLOs {
			sli := o.SLI
			if sli.Push != nil || sli.Source != source {
				continue
			}
			ref := sloRef{service: svc.Name, name: o.Name}
			switch {
			case sli.Ratio != nil:
				ref.sels[roleGood] = sli.Ratio.GoodMatchers
				if sli.Ratio.Bad != "" || len(sli.Ratio.BadMatchers) > 0 {
					ref.hasBad = true
					ref.sels[roleGood] = sli.Ratio.BadMatchers
				}
				ref.sels[roleTotal] = sli.Ratio.TotalMatchers
			case sli.Latency != nil:
				ref.sels[roleGood] = sli.Latency.BucketMatchers
				ref.sels[roleTotal] = sli.Latency.CountMatchers
			default:
				continue
			}
			if len(ref.sels[roleGood]) == 0 || len(ref.sels[roleTotal]) == 0 {
				return nil, fmt.Errorf("service %s slo %s: selectors are not parsed (validate the spec first)", svc.Name, o.Name)
			}
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

// selectorString renders matchers as a PromQL vector selector, e.g.
// {__name__="http_requests_total",job="demo"}.
func selectorString(ms []*labels.Matcher) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	return b.String()
}

// selRef says which selector of which SLO a series matched.
type selRef struct {
	slo  int32
	role int32
}

// selector is one compiled selector of the scrape plan.
type selector struct {
	ref selRef
	// ms are the selector's matchers; in plan.byName without the metric
	// name equality matcher that put it there.
	ms []*labels.Matcher
}

// plan is the scraper's compiled view of the SLOs: selectors indexed by
// metric name, so that samples of other metrics are skipped without looking
// at their labels. A plan is immutable.
type plan struct {
	slos   []sloRef
	byName map[string][]selector
	// wild are selectors without a metric name equality matcher; every
	// sample is checked against them.
	wild []selector
}

func newPlan(services []*slo.Service) (*plan, error) {
	refs, err := collectSLOs(services, "")
	if err != nil {
		return nil, err
	}
	p := &plan{slos: refs, byName: make(map[string][]selector)}
	for i, r := range refs {
		for role, ms := range r.sels {
			sel := selector{ref: selRef{slo: int32(i), role: int32(role)}}
			name := ""
			for _, m := range ms {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual && name == "" {
					name = m.Value
					continue
				}
				sel.ms = append(sel.ms, m)
			}
			if name == "" {
				sel.ms = ms
				p.wild = append(p.wild, sel)
				continue
			}
			p.byName[name] = append(p.byName[name], sel)
		}
	}
	return p, nil
}

// match appends to dst the selectors that series name with labels lset
// matches, looking label values up with get.
func (p *plan) match(dst []selRef, name string, get func(string) string) []selRef {
	for _, sel := range p.byName[name] {
		if matchesAll(sel.ms, get) {
			dst = append(dst, sel.ref)
		}
	}
	for _, sel := range p.wild {
		if matchesAll(sel.ms, get) {
			dst = append(dst, sel.ref)
		}
	}
	return dst
}

func matchesAll(ms []*labels.Matcher, get func(string) string) bool {
	for _, m := range ms {
		if !m.Matches(get(m.Name)) {
			return false
		}
	}
	return true
}
