// Package translate turns SLOs written for other tools, OpenSLO v1 documents
// and Sloth prometheus/v1 specs, into slogate service specs. It owns what
// maps onto slogate and what does not: every field it cannot carry over is
// reported with file, line and field, never dropped without a word, and
// every service it returns has passed slo.ValidateService. It reads only
// the bytes it is given; callers read and write the files.
package translate

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/slo"
)

// Input is one source file: its path, used in the report, and contents.
type Input struct {
	File string
	Data []byte
}

// Options tune a translation.
type Options struct {
	// OwnerTeam is the owning team of services whose source names none
	// (with a team or owner label). Without it such services are reported
	// and left out.
	OwnerTeam string
}

// Service is one translated service.
type Service struct {
	// Spec is the slogate spec, validated by slo.ValidateService.
	Spec *slo.Service
	// Format names the source format, e.g. "OpenSLO".
	Format string
	// Origins says, for each of Spec.SLOs, where it was translated from,
	// as FILE:LINE.
	Origins []string
}

// Result is what a translation produced.
type Result struct {
	// Services are the translated services in the order the sources
	// first name them.
	Services []*Service
	// Report lists what was not translated, by file in input order and by
	// line within a file. Problems are fields whose meaning is lost (an
	// untranslatable query, a custom calendar start); warnings are fields
	// left out that change neither what is measured nor who is alerted
	// (display names, labels). An SLO with a problem in its indicator,
	// window, objective or budgeting is left out; other problems leave the
	// SLO in without the field reported.
	Report slo.Problems
}

// Untranslatable reports whether anything in the sources could not be
// translated: whether Report holds a problem that is not a warning.
func (r Result) Untranslatable() bool {
	n, _ := r.Report.Count()
	return n > 0
}

// builder collects the services of one translation.
type builder struct {
	rep      *report
	opts     Options
	format   string
	services []*pending
	byName   map[string]*pending
}

func newBuilder(format string, inputs []Input, opts Options) *builder {
	rep := &report{order: map[string]int{}}
	for i, in := range inputs {
		if _, dup := rep.order[in.File]; !dup {
			rep.order[in.File] = i
		}
	}
	return &builder{rep: rep, opts: opts, format: format, byName: map[string]*pending{}}
}

// pending is a service being assembled.
type pending struct {
	spec    slo.Service
	file    string // where the service is first named
	line    int
	origins []string
	sloAt   map[string]string // SLO name to FILE:LINE, for duplicates
	team    string
	teamAt  string
	refs    int // SLOs in the sources that are for this service
}

// service returns the service called name, first named at file:line.
func (b *builder) service(name, file string, line int) *pending {
	if p, ok := b.byName[name]; ok {
		return p
	}
	p := &pending{spec: slo.Service{Name: name}, file: file, line: line, sloAt: map[string]string{}}
	b.services = append(b.services, p)
	b.byName[name] = p
	return p
}

// addSLO adds a translated SLO, reporting a second SLO of the same name.
func (b *builder) addSLO(p *pending, o slo.SLO, file string, line int, field string) {
	at := file + ":" + strconv.Itoa(line)
	if first, dup := p.sloAt[o.Name]; dup {
		b.rep.problem(file, line, field, "service %q already has an SLO named %q (from %s); slogate SLO names are unique within a service", p.spec.Name, o.Name, first)
		return
	}
	p.sloAt[o.Name] = at
	p.spec.SLOs = append(p.spec.SLOs, o)
	p.origins = append(p.origins, at)
}

// finish gives every service its owner, validates it and returns the
// result. A service that does not validate is reported and left out: that
// would be a bug in the translation, as every field is checked on the way.
func (b *builder) finish() Result {
	var out []*Service
	for _, p := range b.services {
		if len(p.spec.SLOs) == 0 {
			continue // each SLO's problems are reported where it is written
		}
		svc := p.spec
		svc.Owner.Team = firstOf(p.team, b.opts.OwnerTeam)
		if strings.TrimSpace(svc.Owner.Team) == "" {
			b.rep.problem(p.file, p.line, "", "service %q has no owner team: the source has no team or owner label; give a default team (slogate import --owner-team)", svc.Name)
			continue
		}
		if err := slo.ValidateService(&svc); err != nil {
			ps, _ := err.(slo.Problems)
			for _, pr := range ps {
				b.rep.problem(p.file, p.line, "", "the translated spec of service %q is invalid: %s", svc.Name, pr)
			}
			continue
		}
		out = append(out, &Service{Spec: &svc, Format: b.format, Origins: p.origins})
	}
	return Result{Services: out, Report: b.rep.sorted()}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var (
	labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	slugDropRE  = regexp.MustCompile(`[^a-z0-9_-]+`)
	dashesRE    = regexp.MustCompile(`-{2,}`)
)

// slug turns a name into a slogate name: lowercase letters, digits, - and
// _, starting with a letter or digit.
func slug(s string) string {
	s = slugDropRE.ReplaceAllString(strings.ToLower(s), "-")
	s = dashesRE.ReplaceAllString(s, "-")
	return strings.TrimRight(strings.TrimLeft(s, "-_"), "-")
}

// name turns a source name into a slogate name, reporting a rename.
func (b *builder) name(file string, line int, field, raw string) (string, bool) {
	n := slug(raw)
	switch {
	case n == "":
		b.rep.problem(file, line, field, "%q has no letters or digits to make a slogate name of", raw)
		return "", false
	case n != raw:
		b.rep.warn(file, line, field, "the name %q is written %q: slogate names are lowercase letters, digits, - and _", raw, n)
	}
	return n, true
}

// isTeamLabel reports whether a label names the owning team.
func isTeamLabel(k string) bool { return k == "team" || k == "owner" }

// isRunbookKey reports whether an annotation holds a runbook URL: runbook,
// runbook_url, runbookURL, or any of them after a prefix/.
func isRunbookKey(k string) bool {
	k = strings.ToLower(k[strings.LastIndexByte(k, '/')+1:])
	k = strings.NewReplacer("-", "", "_", "").Replace(k)
	return k == "runbook" || k == "runbookurl"
}

// setTeam makes team the service's owner unless it already has another.
func (b *builder) setTeam(p *pending, team, file string, e entry) {
	at := file + ":" + strconv.Itoa(e.line)
	switch {
	case team == "":
	case p.team == "":
		p.team, p.teamAt = team, at
	case p.team != team:
		b.rep.warn(file, e.line, e.field, "owner %q: service %q is already owned by %q (from %s)", team, p.spec.Name, p.team, p.teamAt)
	}
}

// setRunbook makes an annotation's URL the service's runbook.
func (b *builder) setRunbook(p *pending, file string, e entry) {
	u, err := url.Parse(e.value)
	switch {
	case e.value == "":
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		b.rep.warn(file, e.line, e.field, "runbook %q is not an http or https URL", e.value)
	case p.spec.Runbook == "":
		p.spec.Runbook = e.value
	case p.spec.Runbook != e.value:
		b.rep.warn(file, e.line, e.field, "service %q already has the runbook %s; slogate keeps one runbook per service", p.spec.Name, p.spec.Runbook)
	}
}

// setLabels copies labels onto the service; a team or owner label also
// names the owning team.
func (b *builder) setLabels(p *pending, file string, es []entry) {
	for _, e := range es {
		v := e.value
		if e.values != nil {
			if len(e.values) != 1 {
				b.rep.warn(file, e.line, e.field, "slogate labels have one value, got %d", len(e.values))
				continue
			}
			v = e.values[0]
		}
		if isTeamLabel(e.key) {
			b.setTeam(p, v, file, e)
		}
		if !labelNameRE.MatchString(e.key) || strings.HasPrefix(e.key, "__") {
			b.rep.warn(file, e.line, e.field, "%q is not a label name (letters, digits and _, not starting with a digit or __)", e.key)
			continue
		}
		switch old, ok := p.spec.Labels[e.key]; {
		case !ok:
			if p.spec.Labels == nil {
				p.spec.Labels = map[string]string{}
			}
			p.spec.Labels[e.key] = v
		case old != v:
			b.rep.warn(file, e.line, e.field, "service %q already has the label %s=%q", p.spec.Name, e.key, old)
		}
	}
}

// keys lists the keys of entries for a message.
func keys(es []entry) string {
	ks := make([]string, len(es))
	for i, e := range es {
		ks[i] = e.key
	}
	return strings.Join(ks, ", ")
}

// percent turns a ratio between 0 and 1 into a percentage without float
// noise (0.999 becomes 99.9, not 99.89999999999999).
func percent(r float64) float64 {
	p, _ := strconv.ParseFloat(strconv.FormatFloat(r*100, 'g', 12, 64), 64)
	return p
}

// Marshal renders a translated service as a spec file, with a comment
// saying where each SLO came from.
func Marshal(s *Service) ([]byte, error) {
	spec := s.Spec
	out := outService{Name: spec.Name, Description: spec.Description, Labels: spec.Labels, Runbook: spec.Runbook}
	out.Owner.Team = spec.Owner.Team
	for _, o := range spec.SLOs {
		os := outSLO{Name: o.Name, Description: o.Description, Objective: o.Objective, Window: o.Window,
			Schedule: o.Schedule, TimesliceThreshold: o.TimesliceThreshold}
		if o.Budgeting != slo.Occurrences {
			os.Budgeting = o.Budgeting
		}
		os.SLI.Source = o.SLI.Source
		if r := o.SLI.Ratio; r != nil {
			os.SLI.Ratio = &outRatio{Good: r.Good, Bad: r.Bad, Total: r.Total}
		}
		if l := o.SLI.Latency; l != nil {
			os.SLI.Latency = &outLatency{Metric: l.Metric, Selector: l.Selector, Threshold: l.Threshold}
		}
		if a := o.Alerting; a != nil && a.Rules != nil {
			os.Alerting = &outAlerting{Rules: []outRule{}}
			for _, r := range a.Rules {
				os.Alerting.Rules = append(os.Alerting.Rules, outRule{Severity: r.Severity,
					Long: model.Duration(r.Long).String(), Short: model.Duration(r.Short).String(), Burn: r.Burn})
			}
		}
		out.SLOs = append(out.SLOs, os)
	}

	var doc yaml.Node
	if err := doc.Encode(out); err != nil {
		return nil, fmt.Errorf("render service %s: %w", spec.Name, err)
	}
	var files []string
	for _, o := range s.Origins {
		if f := o[:strings.LastIndexByte(o, ':')]; !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	doc.HeadComment = fmt.Sprintf("Translated from %s (%s) by slogate import.", s.Format, strings.Join(files, ", "))
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "slos" {
			continue
		}
		for j, item := range doc.Content[i+1].Content {
			if j < len(s.Origins) {
				item.HeadComment = "From " + s.Origins[j] + "."
			}
			flowRules(item)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("render service %s: %w", spec.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render service %s: %w", spec.Name, err)
	}
	return buf.Bytes(), nil
}

// flowRules writes an SLO's alert rules one per line, as the README does.
func flowRules(sloNode *yaml.Node) {
	for i := 0; i+1 < len(sloNode.Content); i += 2 {
		if sloNode.Content[i].Value != "alerting" {
			continue
		}
		a := sloNode.Content[i+1]
		for k := 0; k+1 < len(a.Content); k += 2 {
			if a.Content[k].Value == "rules" {
				for _, r := range a.Content[k+1].Content {
					r.Style = yaml.FlowStyle
				}
			}
		}
	}
}

// The out types are slo's spec types with empty fields left out.
type outService struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	Owner       struct {
		Team string `yaml:"team"`
	} `yaml:"owner"`
	Labels  map[string]string `yaml:"labels,omitempty"`
	Runbook string            `yaml:"runbook,omitempty"`
	SLOs    []outSLO          `yaml:"slos"`
}

type outSLO struct {
	Name               string       `yaml:"name"`
	Description        string       `yaml:"description,omitempty"`
	Objective          float64      `yaml:"objective"`
	Window             string       `yaml:"window"`
	Budgeting          string       `yaml:"budgeting,omitempty"`
	TimesliceThreshold float64      `yaml:"timesliceThreshold,omitempty"`
	Schedule           string       `yaml:"schedule,omitempty"`
	SLI                outSLI       `yaml:"sli"`
	Alerting           *outAlerting `yaml:"alerting,omitempty"`
}

type outSLI struct {
	Source  string      `yaml:"source,omitempty"`
	Ratio   *outRatio   `yaml:"ratio,omitempty"`
	Latency *outLatency `yaml:"latency,omitempty"`
}

type outRatio struct {
	Good  string `yaml:"good,omitempty"`
	Bad   string `yaml:"bad,omitempty"`
	Total string `yaml:"total"`
}

type outLatency struct {
	Metric    string  `yaml:"metric"`
	Selector  string  `yaml:"selector,omitempty"`
	Threshold float64 `yaml:"threshold"`
}

type outAlerting struct {
	Rules []outRule `yaml:"rules"`
}

type outRule struct {
	Severity string  `yaml:"severity"`
	Long     string  `yaml:"long"`
	Short    string  `yaml:"short"`
	Burn     float64 `yaml:"burn"`
}

// Sloth's alert rules for its default 30-day window (Google's SRE
// workbook set), used when a spec disables its page or ticket alerts. They
// are also slogate's defaults for a 30-day window.
var (
	slothPageRules = []slo.AlertRule{
		{Severity: "page", Long: model.Duration(time.Hour), Short: model.Duration(5 * time.Minute), Burn: 14.4},
		{Severity: "page", Long: model.Duration(6 * time.Hour), Short: model.Duration(30 * time.Minute), Burn: 6},
	}
	slothTicketRules = []slo.AlertRule{
		{Severity: "ticket", Long: model.Duration(24 * time.Hour), Short: model.Duration(2 * time.Hour), Burn: 3},
		{Severity: "ticket", Long: model.Duration(72 * time.Hour), Short: model.Duration(6 * time.Hour), Burn: 1},
	}
)
