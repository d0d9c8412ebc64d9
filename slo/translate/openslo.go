package translate

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/slo"
)

// OpenSLO translates OpenSLO v1 documents into slogate services. The
// inputs are read together: an SLO may name an SLI, DataSource or Service
// defined in another file. Each objective of an SLO becomes one slogate
// SLO of the service named by the SLO's spec.service.
//
// Translated: Service (description, labels, a team or owner label as the
// owner, a runbook annotation); SLO with an inline indicator or
// indicatorRef; ratioMetric good/total, bad/total, and raw when it is a
// ratio of two counters; thresholdMetric as a histogram_quantile under
// Timeslices; metricSource of type Prometheus (directly or through a
// DataSource, which becomes the SLI's source) with a PromQL query;
// timeWindow rolling, or calendar of 1w, 1M or 1Q; budgetingMethod
// Occurrences, or Timeslices with a 1m timeSliceWindow; objectives with
// target or targetPercent. Everything else is reported.
func OpenSLO(inputs []Input, opts Options) Result {
	t := &openslo{b: newBuilder("OpenSLO", inputs, opts), objects: map[string]map[string]*object{}}
	for _, in := range inputs {
		src := &source{file: in.File, rep: t.b.rep, format: "OpenSLO v1"}
		for _, doc := range src.documents(in.Data) {
			if doc.Kind == yaml.SequenceNode {
				for i, c := range doc.Content {
					t.read(src, c, "["+strconv.Itoa(i)+"]", c.Line)
				}
				continue
			}
			t.read(src, doc, "", doc.Line)
		}
	}
	for _, o := range t.order["Service"] {
		t.service(o)
	}
	for _, o := range t.order["SLO"] {
		t.slo(o)
	}
	for _, o := range t.order["Service"] {
		if p := t.svcOf[o]; p != nil && p.refs == 0 {
			o.meta.src.rep.warn(o.src.file, o.meta.lineOf("name"), o.meta.field("name"), "no SLO among the inputs is for service %q, so nothing is written for it", o.name)
		}
	}
	for _, kind := range []string{"SLI", "DataSource"} {
		for _, o := range t.order[kind] {
			if !o.used {
				o.src.rep.warn(o.src.file, o.meta.lineOf("name"), o.meta.field("name"), "no SLO among the inputs uses %s %q", kind, o.name)
			}
		}
	}
	return t.b.finish()
}

type openslo struct {
	b       *builder
	objects map[string]map[string]*object // by kind and name
	order   map[string][]*object          // by kind, in input order
	svcOf   map[*object]*pending          // Service objects' services
}

// object is one OpenSLO object: a document, or an item of a list document.
type object struct {
	src  *source
	kind string
	name string
	meta *mapping
	spec *mapping
	used bool

	ind      *indicator // an SLI's translation, once
	dsType   string     // a DataSource's type, once read
	dsRead   bool
	dsSource string // a DataSource's name as a slogate source
}

const objectKinds = "Service, SLO, SLI, DataSource, AlertPolicy, AlertCondition and AlertNotificationTarget"

func (t *openslo) read(src *source, n *yaml.Node, path string, line int) {
	m := src.mappingAt(n, path, line)
	if m == nil {
		return
	}
	api, _, _ := m.str("apiVersion")
	if api != "openslo/v1" {
		if api == "" {
			m.problem("apiVersion", "required: openslo/v1")
		} else {
			m.problem("apiVersion", "apiVersion %q: slogate imports openslo/v1 objects", api)
		}
		m.skipAll()
		return
	}
	kind, _, hasKind := m.str("kind")
	meta := m.sub("metadata")
	spec := m.sub("spec")
	m.rest()
	if !hasKind {
		m.problem("kind", "required: one of %s", objectKinds)
		return
	}
	if meta == nil {
		m.problem("metadata", "required: metadata with a name")
		return
	}
	name, _, ok := meta.str("name")
	if !ok {
		meta.problem("name", "required: the object's name")
		return
	}
	switch kind {
	case "Service", "SLO", "SLI", "DataSource":
	case "AlertPolicy", "AlertCondition", "AlertNotificationTarget":
		m.warn("kind", "%s objects: slogate alerts on each SLO's burn-rate rules and routes alerts to the owning team's on-call and receivers; an SLO's alertPolicies are reported where they are used", kind)
		return
	default:
		m.problem("kind", "unknown kind %q: OpenSLO v1 has %s", kind, objectKinds)
		return
	}
	if spec == nil && kind != "Service" {
		m.problem("spec", "required: the %s's spec", kind)
		return
	}
	if spec == nil {
		spec = &mapping{src: src, n: &yaml.Node{Kind: yaml.MappingNode}, path: join(path, "spec"), line: line, seen: map[string]bool{}}
	}
	o := &object{src: src, kind: kind, name: name, meta: meta, spec: spec}
	if t.objects[kind] == nil {
		t.objects[kind] = map[string]*object{}
	}
	// SLOs are named by nothing; two of the same name for different
	// services are fine, and addSLO reports them within one service.
	if first, dup := t.objects[kind][name]; dup && kind != "SLO" {
		meta.problem("name", "a second %s named %q (the first is at %s:%d)", kind, name, first.src.file, first.meta.lineOf("name"))
		return
	}
	t.objects[kind][name] = o
	if t.order == nil {
		t.order = map[string][]*object{}
	}
	t.order[kind] = append(t.order[kind], o)
}

// service starts the slogate service of a Service object, so its
// description, labels and owner come first.
func (t *openslo) service(o *object) {
	meta, spec := o.meta, o.spec
	name, ok := t.b.name(o.src.file, meta.lineOf("name"), meta.field("name"), o.name)
	if !ok {
		return
	}
	p := t.b.service(name, o.src.file, meta.lineOf("name"))
	if t.svcOf == nil {
		t.svcOf = map[*object]*pending{}
	}
	t.svcOf[o] = p
	desc, _, _ := spec.str("description")
	display, _, _ := meta.str("displayName")
	switch {
	case desc != "":
		p.spec.Description = desc
		if display != "" {
			meta.warn("displayName", "slogate has no display names; the description is kept")
		}
	default:
		p.spec.Description = display
	}
	t.b.setLabels(p, o.src.file, meta.entries("labels"))
	t.annotations(p, meta, "slogate keeps a runbook annotation, as the service's runbook")
	meta.rest()
	spec.rest()
}

// annotations takes a runbook from annotations and reports the others.
func (t *openslo) annotations(p *pending, meta *mapping, why string) {
	var other []entry
	for _, e := range meta.entries("annotations") {
		if isRunbookKey(e.key) && e.values == nil {
			if p != nil {
				t.b.setRunbook(p, meta.src.file, e)
			}
			continue
		}
		other = append(other, e)
	}
	if len(other) > 0 {
		meta.warn("annotations", "annotations %s: %s", keys(other), why)
	}
}

// indicator is a translated SLI: a complete ratio or latency SLI, or for
// a thresholdMetric the percentile that each objective completes with its
// threshold.
type indicator struct {
	ok    bool
	sli   slo.SLI
	quant *quantile
	// at locates the query for problems found with the objectives.
	file, field string
	line        int
}

func (t *openslo) slo(o *object) {
	meta, spec, file := o.meta, o.spec, o.src.file
	ok := true
	var p *pending
	if raw, line, has := spec.str("service"); !has {
		spec.problem("service", "required: the name of the service the SLO is for")
		ok = false
	} else if name, good := t.b.name(file, line, spec.field("service"), raw); good {
		p = t.b.service(name, file, line)
		p.refs++
	} else {
		ok = false
	}
	sloName, good := t.b.name(file, meta.lineOf("name"), meta.field("name"), o.name)
	ok = ok && good

	desc, _, _ := spec.str("description")
	display, _, _ := meta.str("displayName")
	if desc == "" {
		desc = display
	} else if display != "" {
		meta.warn("displayName", "slogate has no display names; the description is kept")
	}
	var other []entry
	for _, e := range meta.entries("labels") {
		if isTeamLabel(e.key) && p != nil && len(e.values) <= 1 {
			team := e.value
			if len(e.values) == 1 {
				team = e.values[0]
			}
			t.b.setTeam(p, team, file, e)
			continue
		}
		other = append(other, e)
	}
	if len(other) > 0 {
		meta.warn("labels", "labels %s: slogate SLOs have no labels (a Service object's labels are kept as the service's)", keys(other))
	}
	t.annotations(p, meta, "slogate SLOs have no annotations (a runbook annotation becomes the service's runbook)")
	meta.rest()

	ind := t.indicatorOf(spec)
	budgeting, _, hasBudgeting := spec.str("budgetingMethod")
	switch budgeting {
	case "Occurrences", "Timeslices":
	case "":
		if hasBudgeting || !spec.has("budgetingMethod") {
			spec.problem("budgetingMethod", "required: Occurrences or Timeslices")
		}
		ok = false
	case "RatioTimeslices":
		spec.problem("budgetingMethod", "RatioTimeslices: slogate's timeslices count each minute as good or bad, not by its ratio")
		ok = false
	default:
		spec.problem("budgetingMethod", "unknown method %q: Occurrences or Timeslices", budgeting)
		ok = false
	}
	if ind != nil && ind.quant != nil && budgeting == "Occurrences" {
		t.b.rep.problem(ind.file, ind.line, ind.field, "a percentile under Occurrences counts good data points, not requests; use Timeslices with a 1m timeSliceWindow, or a ratioMetric of the histogram's buckets")
		ok = false
	}
	window, winOK := t.window(spec)
	ok = ok && winOK && ind != nil && ind.ok
	if spec.has("alertPolicies") {
		spec.problem("alertPolicies", "slogate alerts on multiwindow burn-rate rules per SLO (the SRE workbook's by default, or the SLO's alerting.rules) and routes alerts to the owning team; write alerting.rules by hand if the defaults do not fit")
	}
	spec.skip("alertPolicies")

	objectives := spec.list("objectives")
	if len(objectives) == 0 && spec.missing("objectives") {
		spec.problem("objectives", "required: at least one objective with a target")
	}
	for i, it := range objectives {
		m := o.src.mappingAt(it.n, it.path, it.line)
		if m == nil {
			continue
		}
		name := sloName
		if len(objectives) > 1 {
			n, _, _ := m.str("name")
			if n == "" {
				n, _, _ = m.str("displayName")
			}
			if slug(n) == "" {
				n = strconv.Itoa(i + 1)
			}
			name = slug(sloName + "-" + n)
		} else {
			m.omit("displayName", "slogate has no display names")
			m.omit("name", "a single objective takes the SLO's name")
		}
		s, objOK := t.objective(m, ind, budgeting)
		if !ok || !objOK {
			continue
		}
		s.Name, s.Description, s.Window = name, desc, window
		t.b.addSLO(p, s, file, it.line, it.path)
	}
	spec.rest()
}

// indicatorOf translates the SLO's inline indicator or the SLI it names.
func (t *openslo) indicatorOf(spec *mapping) *indicator {
	inline := spec.sub("indicator")
	ref, _, hasRef := spec.str("indicatorRef")
	switch {
	case inline != nil && hasRef:
		spec.problem("indicatorRef", "set only one of indicator and indicatorRef")
		return nil
	case inline != nil:
		if meta := inline.sub("metadata"); meta != nil {
			t.sliMetadata(meta)
		}
		s := inline.sub("spec")
		inline.rest()
		if s == nil {
			inline.problem("spec", "required: the indicator's ratioMetric or thresholdMetric")
			return nil
		}
		return t.sliSpec(s)
	case hasRef:
		o := t.objects["SLI"][ref]
		if o == nil {
			spec.problem("indicatorRef", "no SLI named %q among the inputs", ref)
			return nil
		}
		o.used = true
		if o.ind == nil {
			t.sliMetadata(o.meta)
			o.ind = t.sliSpec(o.spec)
		}
		return o.ind
	}
	spec.problem("indicator", "required: indicator or indicatorRef")
	return nil
}

func (t *openslo) sliMetadata(meta *mapping) {
	meta.skip("name")
	meta.omit("displayName", "slogate has no display names")
	meta.omit("labels", "slogate SLIs have no labels")
	meta.omit("annotations", "slogate SLIs have no annotations")
	meta.rest()
}

func (t *openslo) sliSpec(m *mapping) *indicator {
	m.omit("description", "slogate keeps the SLO's description, not the indicator's")
	ratio := m.sub("ratioMetric")
	threshold := m.sub("thresholdMetric")
	defer m.rest()
	switch {
	case ratio != nil && threshold != nil:
		m.problem("thresholdMetric", "set only one of ratioMetric and thresholdMetric")
		return &indicator{}
	case ratio != nil:
		return t.ratioMetric(ratio)
	case threshold != nil:
		return t.thresholdMetric(threshold)
	}
	m.problem("ratioMetric", "required: ratioMetric or thresholdMetric")
	return &indicator{}
}

// query is a metric's PromQL query, parsed, and where it is written.
type query struct {
	expr        parser.Expr
	source      string
	file, field string
	line        int
}

// problem reports that the query cannot be translated.
func (q query) problem(rep *report, format string, args ...any) {
	rep.problem(q.file, q.line, q.field, format, args...)
}

func (t *openslo) ratioMetric(m *mapping) *indicator {
	defer m.rest()
	ind := &indicator{}
	counter, _, hasCounter := m.boolean("counter")
	good, bad, total, raw := m.sub("good"), m.sub("bad"), m.sub("total"), m.sub("raw")
	rawType, _, _ := m.str("rawType")
	if raw != nil {
		if good != nil || bad != nil || total != nil {
			m.problem("raw", "set either raw or good (or bad) and total, not both")
			return ind
		}
		q, ok := t.metric(raw)
		if !ok {
			return ind
		}
		num, den, err := ratioOf(q.expr)
		if err != nil {
			q.problem(t.b.rep, "%v", err)
			return ind
		}
		switch rawType {
		case "success":
			ind.sli = sliOf(&num, nil, den)
		case "failure":
			ind.sli = sliOf(nil, &num, den)
		case "":
			m.problem("rawType", "required with raw: success or failure")
			return ind
		default:
			m.problem("rawType", "must be success or failure, got %q", rawType)
			return ind
		}
		ind.sli.Source, ind.ok = q.source, true
		return ind
	}
	if rawType != "" {
		m.warn("rawType", "rawType only applies to raw")
	}
	if hasCounter && !counter {
		m.problem("counter", "counter: false: slogate counts the increases of counters; a gauge cannot be translated")
		return ind
	}
	if total == nil {
		m.problem("total", "required: the counter of all events (or raw)")
		return ind
	}
	if (good == nil) == (bad == nil) {
		m.problem("good", "set one of good and bad")
		return ind
	}
	num := good
	if num == nil {
		num = bad
	}
	// Both are read whatever the other's problems, so that the report
	// lists everything at once.
	nq, ns, ok1 := t.counter(num)
	tq, ts, ok2 := t.counter(total)
	if !ok1 || !ok2 {
		return ind
	}
	if nq.source != tq.source {
		tq.problem(t.b.rep, "its data source %q differs from %q: a slogate SLI reads one source", tq.source, nq.source)
		return ind
	}
	if good != nil {
		ind.sli = sliOf(&ns, nil, ts)
	} else {
		ind.sli = sliOf(nil, &ns, ts)
	}
	ind.sli.Source, ind.ok = tq.source, true
	return ind
}

// counter reads a metric whose query must reduce to a counter selector.
func (t *openslo) counter(m *mapping) (query, selector, bool) {
	q, ok := t.metric(m)
	if !ok {
		return q, selector{}, false
	}
	s, err := counterOf(q.expr)
	if err != nil {
		q.problem(t.b.rep, "%v", err)
		return q, selector{}, false
	}
	return q, s, true
}

func (t *openslo) thresholdMetric(m *mapping) *indicator {
	ind := &indicator{}
	q, ok := t.metric(m)
	m.rest()
	if !ok {
		return ind
	}
	ind.file, ind.line, ind.field = q.file, q.line, q.field
	qu, isQuantile := quantileOf(q.expr)
	if !isQuantile {
		q.problem(t.b.rep, "a thresholdMetric translates only as histogram_quantile(φ, sum by (le) (rate(<histogram>_bucket{...}[w]))) under Timeslices: slogate's latency SLI counts requests at or under a histogram bucket bound")
		return ind
	}
	ind.quant = &qu
	ind.sli.Source, ind.ok = q.source, true
	return ind
}

// metric reads a good, bad, total, raw or threshold metric: its source
// must be Prometheus and its query PromQL.
func (t *openslo) metric(m *mapping) (query, bool) {
	ms := m.sub("metricSource")
	defer m.rest()
	if ms == nil {
		m.problem("metricSource", "required: the metric's source and query")
		return query{}, false
	}
	defer ms.rest()
	ref, _, hasRef := ms.str("metricSourceRef")
	typ, _, hasType := ms.str("type")
	spec := ms.sub("spec")
	var q query
	if hasRef {
		ds := t.objects["DataSource"][ref]
		switch {
		case ds != nil:
			ds.used = true
			t.dataSource(ds)
			if !hasType {
				typ = ds.dsType
			}
			q.source = ds.dsSource
		case !hasType:
			ms.problem("metricSourceRef", "no DataSource named %q among the inputs, and no type", ref)
			return query{}, false
		default:
			n, ok := t.b.name(ms.src.file, ms.lineOf("metricSourceRef"), ms.field("metricSourceRef"), ref)
			if !ok {
				return query{}, false
			}
			q.source = n
		}
	}
	switch {
	case typ == "":
		ms.problem("type", "required: Prometheus (or a metricSourceRef naming a Prometheus DataSource)")
		return query{}, false
	case !strings.EqualFold(typ, "prometheus"):
		key := "type"
		if !hasType {
			key = "metricSourceRef"
		}
		ms.problem(key, "a %s metric source: slogate reads Prometheus metrics, with its scraper or from a PromQL API", typ)
		return query{}, false
	}
	if spec == nil {
		ms.problem("spec", "required: the PromQL query")
		return query{}, false
	}
	text, line, ok := spec.str("query", "promql")
	key, _, _ := spec.lookup("query", "promql")
	for i := 0; i+1 < len(spec.n.Content); i += 2 {
		if k := spec.n.Content[i]; !spec.seen[k.Value] {
			spec.seen[k.Value] = true
			t.b.rep.problem(spec.src.file, k.Line, spec.field(fieldKey(k.Value)), "slogate reads only the query of a Prometheus metric source")
		}
	}
	if !ok {
		spec.problem("query", "required: the PromQL query")
		return query{}, false
	}
	q.file, q.line, q.field = spec.src.file, line, spec.field(key)
	expr, err := parseQuery(text)
	if err != nil {
		q.problem(t.b.rep, "%v", err)
		return query{}, false
	}
	q.expr = expr
	return q, true
}

// dataSource reads a DataSource once: its type, and its name as the
// slogate source its SLIs read from.
func (t *openslo) dataSource(o *object) {
	if o.dsRead {
		return
	}
	o.dsRead = true
	meta, spec := o.meta, o.spec
	meta.skip("name")
	meta.omit("displayName", "slogate has no display names")
	meta.omit("labels", "slogate sources have no labels")
	meta.omit("annotations", "slogate sources have no annotations")
	meta.rest()
	o.dsType, _, _ = spec.str("type")
	spec.omit("description", "slogate sources have no description")
	if o.dsSource = slug(o.name); o.dsSource != o.name {
		meta.warn("name", "the name %q is written %q: slogate names are lowercase letters, digits, - and _", o.name, o.dsSource)
	}
	if spec.has("connectionDetails") && strings.EqualFold(o.dsType, "prometheus") {
		where := ""
		if cd := spec.sub("connectionDetails"); cd != nil {
			if u, _, ok := cd.str("url"); ok {
				where = " with url " + u
			}
			cd.skipAll()
		}
		spec.warn("connectionDetails", "SLIs of this DataSource read from the PromQL source %q: add it to the server config's sources.prometheus%s", o.dsSource, where)
	}
	spec.skip("connectionDetails")
	spec.rest()
}

// objective translates one objective; the caller sets name, description
// and window.
func (t *openslo) objective(m *mapping, ind *indicator, budgeting string) (slo.SLO, bool) {
	defer m.rest()
	ok := true
	m.drop("indicator", "composite SLOs: slogate has no composite SLOs; write one SLO per indicator")
	m.drop("indicatorRef", "composite SLOs: slogate has no composite SLOs; write one SLO per indicator")
	m.drop("compositeWeight", "composite SLOs: slogate has no composite SLOs")

	var s slo.SLO
	target, _, hasTarget := m.num("target")
	pct, _, hasPct := m.num("targetPercent")
	switch {
	case hasTarget && hasPct:
		m.problem("targetPercent", "set only one of target and targetPercent")
		ok = false
	case hasTarget:
		s.Objective = percent(target)
	case hasPct:
		s.Objective = pct
	default:
		if !m.has("target", "targetPercent") {
			m.problem("target", "required: target (e.g. 0.999) or targetPercent (e.g. 99.9)")
		}
		ok = false
	}
	if (hasTarget != hasPct) && !(s.Objective > 0 && s.Objective < 100) {
		key := "target"
		if hasPct {
			key = "targetPercent"
		}
		m.problem(key, "slogate objectives are above 0 and below 100%%, got %s%%", fmtFloat(s.Objective))
		ok = false
	}

	quant := ind != nil && ind.quant != nil
	op, _, hasOp := m.str("op")
	value, _, hasValue := m.num("value")
	if quant {
		switch {
		case !hasOp:
			m.problem("op", "required with a thresholdMetric: lte")
			ok = false
		case op == "lt":
			m.warn("op", "lt is read as lte: a histogram bucket counts requests at or under its bound")
		case op != "lte":
			m.problem("op", "op %s: slogate's latency SLI counts requests at or under a threshold as good (lte)", op)
			ok = false
		}
		if !hasValue || !(value > 0) || math.IsInf(value, 0) {
			m.problem("value", "required with a thresholdMetric: the latency bound, a bucket boundary of the histogram, above 0")
			ok = false
		}
	} else {
		if hasOp {
			m.warn("op", "op and value only apply to a thresholdMetric")
		}
		if hasValue {
			m.warn("value", "op and value only apply to a thresholdMetric")
		}
	}

	sliceTarget, _, hasSliceTarget := m.num("timeSliceTarget")
	if budgeting == "Timeslices" {
		s.Budgeting = slo.Timeslices
		if !t.sliceWindow(m) {
			ok = false
		}
		switch {
		case !hasSliceTarget:
			if !quant {
				m.problem("timeSliceTarget", "required with Timeslices: the share of good events that makes a good slice, e.g. 0.95")
				ok = false
			}
		case !(sliceTarget > 0 && sliceTarget <= 1):
			m.problem("timeSliceTarget", "must be above 0 and at most 1, got %s", fmtFloat(sliceTarget))
			ok = false
		case quant && sliceTarget != 1:
			m.warn("timeSliceTarget", "a minute is good when its %s quantile, from all of its requests, is at most the value; slogate does not sample it within the minute", fmtFloat(ind.quant.q))
		case !quant:
			s.TimesliceThreshold = percent(sliceTarget)
		}
	} else if budgeting == "Occurrences" {
		m.omit("timeSliceTarget", "timeSliceTarget only applies to Timeslices")
		m.omit("timeSliceWindow", "timeSliceWindow only applies to Timeslices")
	} else {
		m.skip("timeSliceTarget", "timeSliceWindow") // the budgeting method is reported
	}
	if ind == nil || !ind.ok || !ok {
		return s, false
	}
	s.SLI = ind.sli
	if quant {
		s.SLI.Latency = &slo.LatencySLI{Metric: ind.quant.metric, Selector: selectorText(ind.quant.matchers), Threshold: value}
		s.TimesliceThreshold = percent(ind.quant.q)
	}
	return s, true
}

// sliceWindow checks that an objective's time slices are one minute long,
// as slogate's are.
func (t *openslo) sliceWindow(m *mapping) bool {
	key, line, v := m.lookup("timeSliceWindow")
	if isNull(v) {
		m.problem("timeSliceWindow", "required with Timeslices: 1m (slogate's time slices are one minute long)")
		return false
	}
	d, err := shorthand(v.Value)
	if n, errN := strconv.Atoi(v.Value); errN == nil {
		d, err = time.Duration(n)*time.Minute, nil // a bare number is minutes
	}
	switch {
	case v.Kind != yaml.ScalarNode || err != nil:
		t.b.rep.problem(m.src.file, line, m.field(key), "must be a duration such as 1m, got %s", describe(v))
		return false
	case d != time.Minute:
		t.b.rep.problem(m.src.file, line, m.field(key), "time slices of %s: slogate's time slices are one minute long", v.Value)
		return false
	}
	return true
}

var shorthandRE = regexp.MustCompile(`^([0-9]{1,6})([mhdwMQY])$`)

// shorthand parses an OpenSLO duration shorthand of minutes, hours, days
// or weeks.
func shorthand(s string) (time.Duration, error) {
	m := shorthandRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("not a duration shorthand such as 28d, 4w or 1M: %q", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	if unit == 0 {
		return 0, fmt.Errorf("%q is not a fixed length", s)
	}
	return time.Duration(n) * unit, nil
}

// units of the unit/count form of time windows, as shorthand postfixes.
var windowUnits = map[string]string{"Minute": "m", "Hour": "h", "Day": "d", "Week": "w", "Month": "M", "Quarter": "Q", "Year": "Y"}

// window translates the SLO's one time window.
func (t *openslo) window(spec *mapping) (string, bool) {
	items := spec.list("timeWindow")
	switch {
	case len(items) == 0:
		if spec.missing("timeWindow") {
			spec.problem("timeWindow", "required: slogate SLOs need a window (a rolling duration such as 28d, or a calendar 1w, 1M or 1Q)")
		}
		return "", false
	case len(items) > 1:
		spec.problem("timeWindow", "OpenSLO allows one time window, got %d", len(items))
		return "", false
	}
	m := spec.src.mappingAt(items[0].n, items[0].path, items[0].line)
	if m == nil {
		return "", false
	}
	defer m.rest()
	dur, _, hasDur := m.str("duration")
	durKey := "duration"
	if !hasDur {
		unit, _, hasUnit := m.str("unit")
		count, _, hasCount := m.num("count")
		if hasUnit && hasCount && windowUnits[unit] != "" && count == math.Trunc(count) && count > 0 {
			dur, hasDur, durKey = strconv.Itoa(int(count))+windowUnits[unit], true, "unit"
		} else if hasUnit || hasCount {
			m.problem("unit", "unit and count must be Minute, Hour, Day, Week, Month, Quarter or Year and a whole number above 0")
			return "", false
		}
	}
	if !hasDur {
		m.problem("duration", "required: the window's length, e.g. 28d or 1M")
		return "", false
	}
	rolling, _, hasRolling := m.boolean("isRolling")
	cal := m.sub("calendar")
	if cal != nil {
		defer cal.rest()
	}
	sm := shorthandRE.FindStringSubmatch(dur)
	if sm == nil {
		m.problem(durKey, "must be a duration shorthand such as 28d, 4w or 1M, got %q", dur)
		if cal != nil {
			cal.skipAll()
		}
		return "", false
	}
	n, _ := strconv.Atoi(sm[1])
	unit := sm[2]
	switch {
	case cal != nil && rolling:
		m.problem("isRolling", "a window is rolling or has a calendar, not both")
		cal.skipAll()
		return "", false
	case cal == nil && hasRolling && !rolling:
		m.problem("isRolling", "a calendar window needs calendar with startTime and timeZone")
		return "", false
	case cal != nil:
		period := map[string]string{"w": slo.Week, "M": slo.Month, "Q": slo.Quarter}[unit]
		if n != 1 || period == "" {
			m.problem(durKey, "a calendar window of %s: slogate's calendar windows are a week (1w), a month (1M) or a quarter (1Q)", dur)
			cal.skipAll()
			return "", false
		}
		t.calendar(cal, period)
		return period, true
	}
	var s string
	switch unit {
	case "m", "h", "d":
		s = dur
	case "w":
		s = strconv.Itoa(7*n) + "d"
	default:
		days := map[string]int{"M": 30, "Q": 90, "Y": 365}[unit] * n
		s = strconv.Itoa(days) + "d"
		m.warn(durKey, "a rolling %s is read as %s; give the window in days to say otherwise", dur, s)
	}
	if _, err := slo.ParseWindow(s); err != nil {
		m.problem(durKey, "a rolling window of %s: slogate's rolling windows %s", dur, strings.TrimPrefix(err.Error(), "must be a rolling window such as 28d, 7d or 12h, or week, month or quarter; got "))
		return "", false
	}
	return s, true
}

// calendar reports what a calendar window's start time and zone mean that
// slogate cannot keep: its periods start at local midnight of the first
// day of the period in the SLO's schedule's time zone (UTC without one).
func (t *openslo) calendar(cal *mapping, period string) {
	if start, _, ok := cal.str("startTime"); ok {
		st, err := time.Parse(time.DateTime, start)
		if err != nil {
			st, err = time.Parse(time.RFC3339, start)
		}
		natural := map[string]string{slo.Week: "on Mondays", slo.Month: "on the 1st of each month", slo.Quarter: "on the 1st of January, April, July and October"}[period]
		switch {
		case err != nil:
			cal.problem("startTime", "must be a date and time such as 2026-01-01 00:00:00, got %q", start)
		case !aligned(st, period):
			cal.problem("startTime", "periods starting at %s are lost: slogate's %ss start at midnight %s", start, period, natural)
		}
	}
	if tz, _, ok := cal.str("timeZone"); ok && tz != "UTC" && tz != "Etc/UTC" {
		cal.problem("timeZone", "periods in %s become periods in UTC: slogate reads calendar windows in the time zone of the SLO's schedule; add a schedule with timeZone: %s to the server config and name it in the SLO's schedule", tz, tz)
	}
}

// aligned reports whether t starts a calendar period.
func aligned(t time.Time, period string) bool {
	if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 {
		return false
	}
	switch period {
	case slo.Week:
		return t.Weekday() == time.Monday
	case slo.Month:
		return t.Day() == 1
	}
	return t.Day() == 1 && (t.Month()-1)%3 == 0
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
