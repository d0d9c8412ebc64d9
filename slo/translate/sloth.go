package translate

import (
	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/slo"
)

// slothWindow is the SLO window Sloth uses unless told otherwise.
const slothWindow = "30d"

// Sloth translates Sloth service specs into slogate services: files with
// version: prometheus/v1, and Kubernetes PrometheusServiceLevel objects
// (sloth.slok.dev/v1) whose spec is the same with camelCase keys. Keys are
// read in either spelling (error_query or errorQuery). A file may hold
// several YAML documents; specs of the same service are merged.
//
// Translated: service; labels (a team or owner label also names the
// owner); slos with name, objective, description; sli.events whose queries
// reduce to counter selectors (sum(rate(c[{{.window}}])) and the like),
// the error query as "total minus good" when it is written that way;
// sli.raw when the error ratio is a ratio of two counters; a runbook or
// runbook_url alert annotation as the service's runbook; page_alert and
// ticket_alert disable. Every SLO gets Sloth's window, 30d. Everything
// else is reported.
func Sloth(inputs []Input, opts Options) Result {
	b := newBuilder("Sloth", inputs, opts)
	for _, in := range inputs {
		src := &source{file: in.File, rep: b.rep, format: "Sloth's prometheus/v1 spec"}
		for _, doc := range src.documents(in.Data) {
			t := &sloth{b: b, src: src}
			t.document(doc)
		}
	}
	return b.finish()
}

type sloth struct {
	b   *builder
	src *source
}

func (t *sloth) document(n *yaml.Node) {
	root := t.src.mappingAt(n, "", n.Line)
	if root == nil {
		return
	}
	body := root
	if root.has("apiVersion") || root.has("kind") {
		api, _, _ := root.str("apiVersion")
		kind, _, _ := root.str("kind")
		if api != "sloth.slok.dev/v1" || kind != "PrometheusServiceLevel" {
			root.problem("apiVersion", "%s %s: slogate imports Sloth's prometheus/v1 specs and sloth.slok.dev/v1 PrometheusServiceLevel objects", api, kind)
			root.skipAll()
			return
		}
		root.skip("metadata", "status") // the Kubernetes object, not the SLOs
		body = root.sub("spec")
		root.rest()
		if body == nil {
			root.problem("spec", "required: the service's SLOs")
			return
		}
	} else {
		switch v, _, ok := root.str("version"); {
		case !ok:
			root.problem("version", "required: prometheus/v1")
		case v != "prometheus/v1":
			root.problem("version", "version %q: slogate imports Sloth's prometheus/v1 specs", v)
			root.skipAll()
			return
		}
	}
	defer body.rest()
	raw, line, ok := body.str("service")
	if !ok {
		body.problem("service", "required: the service's name")
		body.skipAll()
		return
	}
	name, ok := t.b.name(t.src.file, line, body.field("service"), raw)
	if !ok {
		body.skipAll()
		return
	}
	p := t.b.service(name, t.src.file, line)
	t.b.setLabels(p, t.src.file, body.entries("labels"))
	slos := body.list("slos")
	if len(slos) == 0 && body.missing("slos") {
		body.problem("slos", "required: at least one SLO")
	}
	for _, it := range slos {
		p.refs++
		t.slo(p, it)
	}
}

func (t *sloth) slo(p *pending, it item) {
	m := t.src.mappingAt(it.n, it.path, it.line)
	if m == nil {
		return
	}
	defer m.rest()
	ok := true
	var s slo.SLO
	if raw, line, has := m.str("name"); !has {
		m.problem("name", "required: the SLO's name")
		ok = false
	} else if s.Name, has = t.b.name(t.src.file, line, m.field("name"), raw); !has {
		ok = false
	}
	switch obj, _, has := m.num("objective"); {
	case !has:
		if !m.has("objective") {
			m.problem("objective", "required: the objective in percent, e.g. 99.9")
		}
		ok = false
	case !(obj > 0 && obj < 100):
		m.problem("objective", "slogate objectives are above 0 and below 100%%, got %s%%", fmtFloat(obj))
		ok = false
	default:
		s.Objective = obj
	}
	s.Description, _, _ = m.str("description")
	s.Window = slothWindow
	if ls := m.entries("labels"); len(ls) > 0 {
		m.warn("labels", "labels %s: slogate SLOs have no labels (the service's labels are kept)", keys(ls))
	}
	m.omit("infoLabels", "slogate has no SLO info metric to label")
	m.omit("interval", "slogate evaluates every SLO each evaluationInterval of the server config")

	if sli := m.sub("sli"); sli == nil {
		m.problem("sli", "required: events or raw")
		ok = false
	} else {
		var sliOK bool
		s.SLI, sliOK = t.sli(sli)
		ok = ok && sliOK
	}
	if a := m.sub("alerting"); a != nil {
		s.Alerting = t.alerting(p, a)
	}
	if ok {
		t.b.addSLO(p, s, t.src.file, it.line, it.path)
	}
}

func (t *sloth) sli(m *mapping) (slo.SLI, bool) {
	defer m.rest()
	m.drop("plugin", "Sloth SLI plugins build their queries when Sloth generates rules; write the plugin's queries as sli.events")
	events, raw := m.sub("events"), m.sub("raw")
	switch {
	case events != nil && raw != nil:
		m.problem("raw", "set only one of events and raw")
	case events != nil:
		return t.events(events)
	case raw != nil:
		return t.raw(raw)
	case !m.has("plugin"):
		m.problem("events", "required: events or raw")
	}
	return slo.SLI{}, false
}

// events translates error and total queries. The error query is either a
// counter, or "total minus good" (as Sloth's latency examples write it).
func (t *sloth) events(m *mapping) (slo.SLI, bool) {
	defer m.rest()
	errQ, errLine, hasErr := m.str("error_query", "errorQuery")
	errKey, _, _ := m.lookup("error_query", "errorQuery")
	totQ, totLine, hasTot := m.str("total_query", "totalQuery")
	totKey, _, _ := m.lookup("total_query", "totalQuery")
	if !hasErr {
		m.problem("error_query", "required: the query of bad events")
	}
	if !hasTot {
		m.problem("total_query", "required: the query of all events")
	}
	if !hasErr || !hasTot {
		return slo.SLI{}, false
	}
	total, ok := t.counter(totQ, totLine, m.field(totKey))
	errExpr, err := parseQuery(errQ)
	if err != nil {
		t.b.rep.problem(t.src.file, errLine, m.field(errKey), "%v", err)
		return slo.SLI{}, false
	}
	bad, err := counterOf(errExpr)
	if err == nil {
		return sliOf(nil, &bad, total), ok
	}
	if a, good, diff := differenceOf(errExpr); diff && ok && a.metric == total.metric && sameMatchers(a.matchers, total.matchers) {
		return sliOf(&good, nil, total), true
	}
	t.b.rep.problem(t.src.file, errLine, m.field(errKey), "%v", err)
	return slo.SLI{}, false
}

// raw translates an error ratio query that divides two counters.
func (t *sloth) raw(m *mapping) (slo.SLI, bool) {
	defer m.rest()
	q, line, ok := m.str("error_ratio_query", "errorRatioQuery")
	key, _, _ := m.lookup("error_ratio_query", "errorRatioQuery")
	if !ok {
		m.problem("error_ratio_query", "required: the error ratio query")
		return slo.SLI{}, false
	}
	e, err := parseQuery(q)
	if err == nil {
		var bad, total selector
		if bad, total, err = ratioOf(e); err == nil {
			return sliOf(nil, &bad, total), true
		}
	}
	t.b.rep.problem(t.src.file, line, m.field(key), "%v", err)
	return slo.SLI{}, false
}

// counter reduces a query to a counter selector, reporting why not.
func (t *sloth) counter(q string, line int, field string) (selector, bool) {
	e, err := parseQuery(q)
	if err == nil {
		var s selector
		if s, err = counterOf(e); err == nil {
			return s, true
		}
	}
	t.b.rep.problem(t.src.file, line, field, "%v", err)
	return selector{}, false
}

// alerting keeps what slogate has of an SLO's alerting: the runbook and
// which of the page and ticket alerts are on.
func (t *sloth) alerting(p *pending, m *mapping) *slo.SLOAlerting {
	defer m.rest()
	m.omit("name", "slogate names its alerts after the service and SLO")
	t.alertMeta(p, m, "")
	pageOff := t.alert(p, m.sub("page_alert", "pageAlert"), "page")
	ticketOff := t.alert(p, m.sub("ticket_alert", "ticketAlert"), "ticket")
	switch {
	case pageOff && ticketOff:
		return &slo.SLOAlerting{Rules: []slo.AlertRule{}}
	case pageOff:
		return &slo.SLOAlerting{Rules: append([]slo.AlertRule(nil), slothTicketRules...)}
	case ticketOff:
		return &slo.SLOAlerting{Rules: append([]slo.AlertRule(nil), slothPageRules...)}
	}
	return nil // slogate's defaults for 30 days are Sloth's rules
}

// alert reads page_alert or ticket_alert and reports whether it is off.
func (t *sloth) alert(p *pending, m *mapping, severity string) bool {
	if m == nil {
		return false
	}
	defer m.rest()
	off, _, _ := m.boolean("disable")
	t.alertMeta(p, m, severity+" ")
	return off
}

// alertMeta takes a runbook from alert annotations and reports the other
// annotations and the labels.
func (t *sloth) alertMeta(p *pending, m *mapping, which string) {
	if ls := m.entries("labels"); len(ls) > 0 {
		m.warn("labels", "%salert labels %s: slogate routes alerts to the owning team's on-call developer and receivers, pages to PagerDuty and the team channel, tickets to the channel", which, keys(ls))
	}
	var other []entry
	for _, e := range m.entries("annotations") {
		if isRunbookKey(e.key) {
			t.b.setRunbook(p, t.src.file, e)
			continue
		}
		other = append(other, e)
	}
	if len(other) > 0 {
		m.warn("annotations", "%salert annotations %s: slogate's alerts say the service, SLO, burn rates, budget left, owner and runbook", which, keys(other))
	}
}
