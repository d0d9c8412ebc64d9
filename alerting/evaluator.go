package alerting

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/slogate/slogate/budget"
)

// Defaults of Config.
const (
	// DefaultMinBadEvents is how many bad events (or bad minutes, for
	// timeslice SLOs) a rule's long window needs before it fires, so one
	// failed request out of ten pages nobody.
	DefaultMinBadEvents = 10
	// DefaultHoldDown is how long an alert's condition must stay false
	// before the alert resolves. Page rules also need the 5m window to
	// burn (see Evaluator.Evaluate), so a page resolves at most about
	// 5+5 = 10 minutes after recovery,
	// and a condition that flaps back within the hold-down continues the
	// same incident instead of paging again.
	DefaultHoldDown = 5 * time.Minute
)

// Kinds of Event.
const (
	// EventFiring starts an incident.
	EventFiring = "firing"
	// EventResolved ends it.
	EventResolved = "resolved"
)

// Config configures an Evaluator for one service.
type Config struct {
	// Service names the service; it is on every alert.
	Service string
	// SLOs are the service's SLOs to evaluate, at least one.
	SLOs []SLOConfig
	// HoldDown is how long a condition must stay false before its alert
	// resolves; zero means DefaultHoldDown.
	HoldDown time.Duration
}

// SLOConfig configures the alerting of one SLO.
type SLOConfig struct {
	// Name is the SLO's name, the key of its status in Evaluate.
	Name string
	// Window is the length of the SLO's window (see WindowLength). It
	// scales DefaultRules when Rules is nil.
	Window time.Duration
	// Rules are the SLO's burn-rate rules; nil means
	// DefaultRules(Window), and an empty non-nil slice means no burn-rate
	// alerts (the budget-exhausted ticket remains).
	Rules []Rule
	// MinBadEvents is the low-traffic guard: a rule fires, and an
	// exhausted budget raises a ticket, only when the rule's long window
	// (or the SLO's window) holds at least this many bad events. Zero
	// means DefaultMinBadEvents; negative means no guard.
	MinBadEvents float64
}

// Effective returns c as an Evaluator runs it, or an error saying what is
// wrong with it: a zero HoldDown is DefaultHoldDown, and each SLO's nil
// Rules are DefaultRules(Window) (other Rules are copied) and a zero
// MinBadEvents is DefaultMinBadEvents (a negative one, no guard, stays).
// NewEvaluator goes through it, so what it returns is what fires; the API
// shows it.
func (c Config) Effective() (Config, error) {
	if c.Service == "" {
		return c, errors.New("alerting config: service name is empty")
	}
	if len(c.SLOs) == 0 {
		return c, fmt.Errorf("alerting config for service %q: no SLOs, want at least one", c.Service)
	}
	if c.HoldDown == 0 {
		c.HoldDown = DefaultHoldDown
	}
	if c.HoldDown < 0 {
		return c, fmt.Errorf("alerting config for service %q: hold-down %v, want 0 or more", c.Service, c.HoldDown)
	}
	slos := make([]SLOConfig, len(c.SLOs))
	seen := map[string]bool{}
	for i, s := range c.SLOs {
		if s.Name == "" {
			return c, fmt.Errorf("alerting config for service %q: SLO %d has no name", c.Service, i)
		}
		if seen[s.Name] {
			return c, fmt.Errorf("alerting config for service %q: SLO %q listed twice", c.Service, s.Name)
		}
		seen[s.Name] = true
		if s.Rules == nil {
			if s.Window <= 0 {
				return c, fmt.Errorf("alerting config for SLO %s/%s: no rules and window %v, want a window to scale the default rules to", c.Service, s.Name, s.Window)
			}
			s.Rules = DefaultRules(s.Window)
		} else {
			s.Rules = slices.Clone(s.Rules)
		}
		if err := ValidateRules(s.Rules); err != nil {
			return c, fmt.Errorf("alerting config for SLO %s/%s: %w", c.Service, s.Name, err)
		}
		if s.MinBadEvents == 0 {
			s.MinBadEvents = DefaultMinBadEvents
		}
		slos[i] = s
	}
	c.SLOs = slos
	return c, nil
}

// Alert is one incident of a service at one severity: every SLO and rule
// of that severity that held during it, grouped. Alerts from the
// Evaluator's events are copies the caller may keep.
type Alert struct {
	// Key is the stable deduplication key of the incident, the same for
	// its firing and its resolution: service, severity and start time.
	Key string `json:"key"`
	// Service and Severity say whose alert it is and how urgent.
	Service  string `json:"service"`
	Severity string `json:"severity"`
	// SLOs are the SLOs involved, in the order they joined the incident.
	SLOs []SLOAlert `json:"slos"`
	// Started is when the incident was detected; Resolved when it reset
	// (its conditions false for the hold-down), zero while firing.
	Started  time.Time `json:"started"`
	Resolved time.Time `json:"resolved,omitzero"`
	// Duration is Resolved minus Started, once resolved.
	Duration time.Duration `json:"duration,omitempty"`
}

// SLOAlert is one SLO's part in an Alert, as of the latest evaluation.
type SLOAlert struct {
	// SLO names the SLO.
	SLO string `json:"slo"`
	// Rule is the burn-rate rule that held last, the first of the SLO's
	// rules of the alert's severity to hold; zero when only Exhausted did.
	Rule Rule `json:"rule"`
	// Exhausted is true when the budget is spent (remaining ratio at or
	// below zero); for tickets it is a condition of its own.
	Exhausted bool `json:"exhausted"`
	// Firing is true when one of the SLO's conditions held at the latest
	// evaluation; false while the incident waits out its hold-down.
	Firing bool `json:"firing"`
	// LongBurn and ShortBurn are the burn rates over Rule's windows.
	LongBurn  float64 `json:"longBurn"`
	ShortBurn float64 `json:"shortBurn"`
	// RemainingRatio is the budget left (1 all, 0 none, below 0
	// overspent); RemainingAtStart was it when the SLO joined the
	// incident, and Spent is their difference: the share of the budget
	// the incident cost, final once the alert resolves.
	RemainingRatio   float64 `json:"remainingRatio"`
	RemainingAtStart float64 `json:"remainingAtStart"`
	Spent            float64 `json:"spent"`
	// Exhaustion1h and Exhaustion6h forecast when the budget runs out if
	// the 1h (6h) burn rate holds; nil when it does not within the
	// forecast horizon.
	Exhaustion1h *budget.Exhaustion `json:"exhaustion1h,omitempty"`
	Exhaustion6h *budget.Exhaustion `json:"exhaustion6h,omitempty"`
}

// Event is a transition of an Alert.
type Event struct {
	// Kind is EventFiring or EventResolved.
	Kind string `json:"kind"`
	// At is the evaluation time that made the transition.
	At time.Time `json:"at"`
	// Alert is the alert as of At.
	Alert Alert `json:"alert"`
}

// Evaluator turns the budget statuses of one service's SLOs, evaluated
// tick after tick, into alert transitions. It keeps one incident per
// severity: page and ticket conditions of all the service's SLOs and rules
// are grouped into them. Between ticks it holds only that state, so it
// must see times in order; the budget statuses themselves come from
// budget.Tracker.Evaluate at the same times.
//
// An Evaluator is not safe for concurrent use.
type Evaluator struct {
	cfg     Config
	page    *incident
	ticket  *incident
	covered map[string]bool // SLOs whose ticket burn a page already covered
}

// incident is an open Alert and when its conditions went false.
type incident struct {
	alert      Alert
	clearSince time.Time // zero while some condition holds
}

// NewEvaluator returns an Evaluator for cfg, or an error saying what is
// wrong with cfg.
func NewEvaluator(cfg Config) (*Evaluator, error) {
	cfg, err := cfg.Effective()
	if err != nil {
		return nil, err
	}
	return &Evaluator{cfg: cfg, covered: map[string]bool{}}, nil
}

// Evaluate takes the statuses of the service's SLOs at now, keyed by SLO
// name, and returns the alert transitions they cause, pages first. An SLO
// missing from statuses has no condition holding.
//
// A burn-rate rule holds when the burn rate exceeds its threshold over
// both its windows and the long window has at least MinBadEvents bad
// events. A page rule must also exceed its threshold over the shortest
// burn window (5m): the 30m short window of the 6x rule would otherwise
// page for an outage that ended minutes ago and hold the page for half an
// hour after recovery, where pages should resolve within about 10 minutes
// (5m window plus DefaultHoldDown). Tickets keep the plain workbook
// rules: they are not urgent either way. The exhausted-budget ticket
// holds when the remaining ratio is at or below zero with at least
// MinBadEvents bad events in the SLO's window.
//
// An SLO
// whose status is not Active (outside its schedule's hours) starts no
// alert and joins none, but stays in an incident it is in, so an alert
// started in active time resolves as usual. A ticket condition of an SLO
// is inhibited while a page for that SLO is open, and a burn-rate ticket
// stays inhibited after the page resolves until its rule has stopped
// holding once: the page already told the owner about that burn.
//
// Only starts and resolutions are transitions: an SLO joining an open
// incident, or new numbers for one, make none; Firing has them.
func (e *Evaluator) Evaluate(now time.Time, statuses map[string]budget.Status) []Event {
	// The SLOs with a condition holding, and the rule that holds: nil
	// for a ticket when only the exhausted budget does.
	pages := map[string]*Rule{}
	tickets := map[string]*Rule{}
	for i := range e.cfg.SLOs {
		c := &e.cfg.SLOs[i]
		st, ok := statuses[c.Name]
		if !ok {
			continue
		}
		if r := firstHolding(c, &st, SeverityPage); r != nil && (st.Active || e.page.has(c.Name)) {
			pages[c.Name] = r
		}
	}
	var events []Event
	events = e.step(&e.page, SeverityPage, now, statuses, pages, events)
	for i := range e.cfg.SLOs {
		c := &e.cfg.SLOs[i]
		st, ok := statuses[c.Name]
		paged := e.page.has(c.Name)
		if paged {
			e.covered[c.Name] = true
		}
		if !ok {
			delete(e.covered, c.Name)
			continue
		}
		r := firstHolding(c, &st, SeverityTicket)
		if r == nil {
			delete(e.covered, c.Name)
		}
		if paged || e.covered[c.Name] {
			r = nil
		}
		exhausted := !paged && st.RemainingRatio <= 0 && (c.MinBadEvents < 0 || st.Bad >= c.MinBadEvents)
		if (r != nil || exhausted) && (st.Active || e.ticket.has(c.Name)) {
			tickets[c.Name] = r
		}
	}
	return e.step(&e.ticket, SeverityTicket, now, statuses, tickets, events)
}

// Firing returns copies of the open alerts, pages first, as of the latest
// evaluation: what a notifier re-sends while they fire.
func (e *Evaluator) Firing() []Alert {
	var out []Alert
	for _, in := range []*incident{e.page, e.ticket} {
		if in != nil {
			out = append(out, in.alert.clone())
		}
	}
	return out
}

// firstHolding returns the first of c's rules of severity sev that holds
// in st, or nil.
func firstHolding(c *SLOConfig, st *budget.Status, sev string) *Rule {
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Severity != sev {
			continue
		}
		long, ok1 := burnIn(st, r.Long)
		short, ok2 := burnIn(st, r.Short)
		if !ok1 || !ok2 || long.NoData || short.NoData {
			continue
		}
		if !(long.Rate > r.Burn && short.Rate > r.Burn) ||
			!(c.MinBadEvents < 0 || long.Total-long.Good >= c.MinBadEvents) {
			continue
		}
		if sev == SeverityPage {
			now, ok := burnIn(st, budget.BurnWindows[0])
			if !ok || now.NoData || !(now.Rate > r.Burn) {
				continue
			}
		}
		return r
	}
	return nil
}

// has reports whether in is open and involves SLO name.
func (in *incident) has(name string) bool {
	if in == nil {
		return false
	}
	for _, s := range in.alert.SLOs {
		if s.SLO == name {
			return true
		}
	}
	return false
}

// step advances the incident *inp of severity sev given the statuses and
// the conditions holding at now, appending its transitions to events.
func (e *Evaluator) step(inp **incident, sev string, now time.Time, statuses map[string]budget.Status, hits map[string]*Rule, events []Event) []Event {
	in := *inp
	if in == nil {
		if len(hits) == 0 {
			return events
		}
		in = &incident{alert: Alert{
			Key:      e.cfg.Service + "/" + sev + "/" + strconv.FormatInt(now.Unix(), 10),
			Service:  e.cfg.Service,
			Severity: sev,
			Started:  now,
		}}
		*inp = in
		e.update(in, statuses, hits)
		return append(events, Event{Kind: EventFiring, At: now, Alert: in.alert.clone()})
	}
	e.update(in, statuses, hits)
	if len(hits) > 0 {
		in.clearSince = time.Time{}
		return events
	}
	if in.clearSince.IsZero() {
		in.clearSince = now
	}
	if now.Sub(in.clearSince) < e.cfg.HoldDown {
		return events
	}
	in.alert.Resolved = now
	in.alert.Duration = now.Sub(in.alert.Started)
	*inp = nil
	return append(events, Event{Kind: EventResolved, At: now, Alert: in.alert.clone()})
}

// update adds the SLOs of hits to in and refreshes every SLO's numbers
// from statuses.
func (e *Evaluator) update(in *incident, statuses map[string]budget.Status, hits map[string]*Rule) {
	for i := range e.cfg.SLOs {
		name := e.cfg.SLOs[i].Name
		if _, ok := hits[name]; ok && !in.has(name) {
			st := statuses[name]
			in.alert.SLOs = append(in.alert.SLOs, SLOAlert{SLO: name, RemainingAtStart: st.RemainingRatio})
		}
	}
	for i := range in.alert.SLOs {
		a := &in.alert.SLOs[i]
		r, firing := hits[a.SLO]
		a.Firing = firing
		if r != nil {
			a.Rule = *r
		}
		st, ok := statuses[a.SLO]
		if !ok {
			continue
		}
		a.Exhausted = st.RemainingRatio <= 0
		if a.Rule.Long != 0 {
			long, _ := burnIn(&st, a.Rule.Long)
			short, _ := burnIn(&st, a.Rule.Short)
			a.LongBurn, a.ShortBurn = long.Rate, short.Rate
		}
		a.RemainingRatio = st.RemainingRatio
		a.Spent = a.RemainingAtStart - a.RemainingRatio
		a.Exhaustion1h, a.Exhaustion6h = st.Exhaustion1h, st.Exhaustion6h
	}
}

// clone returns a copy of a sharing nothing mutable with it.
func (a Alert) clone() Alert {
	a.SLOs = slices.Clone(a.SLOs)
	return a
}

// State is what an Evaluator remembers between evaluations: its open
// incidents and which SLOs' ticket burns a page already covered. It is
// plain JSON so that a restarted process carries on the same incidents
// under the same keys instead of raising new ones.
type State struct {
	// Page and Ticket are the open incidents; nil when none is.
	Page   *IncidentState `json:"page,omitempty"`
	Ticket *IncidentState `json:"ticket,omitempty"`
	// Covered lists the SLOs whose ticket burn a page already covered.
	Covered []string `json:"covered,omitempty"`
}

// IncidentState is one open incident.
type IncidentState struct {
	Alert Alert `json:"alert"`
	// ClearSince is when its conditions went false; zero while one holds.
	ClearSince time.Time `json:"clearSince,omitzero"`
}

// State returns a copy of e's state.
func (e *Evaluator) State() State {
	var s State
	for _, in := range []struct {
		from *incident
		to   **IncidentState
	}{{e.page, &s.Page}, {e.ticket, &s.Ticket}} {
		if in.from != nil {
			*in.to = &IncidentState{Alert: in.from.alert.clone(), ClearSince: in.from.clearSince}
		}
	}
	for _, c := range e.cfg.SLOs {
		if e.covered[c.Name] {
			s.Covered = append(s.Covered, c.Name)
		}
	}
	return s
}

// Restore replaces e's state with s, as saved by State, so evaluation
// continues where it left off. SLOs that are no longer configured are
// dropped from the incidents; an incident left without SLOs is dropped
// too, unannounced, since nothing it was about is still evaluated.
func (e *Evaluator) Restore(s State) {
	restore := func(is *IncidentState, sev string) *incident {
		if is == nil || is.Alert.Severity != sev {
			return nil
		}
		a := is.Alert.clone()
		a.SLOs = slices.DeleteFunc(a.SLOs, func(s SLOAlert) bool { return !e.configured(s.SLO) })
		if len(a.SLOs) == 0 {
			return nil
		}
		return &incident{alert: a, clearSince: is.ClearSince}
	}
	e.page = restore(s.Page, SeverityPage)
	e.ticket = restore(s.Ticket, SeverityTicket)
	e.covered = map[string]bool{}
	for _, name := range s.Covered {
		if e.configured(name) {
			e.covered[name] = true
		}
	}
}

func (e *Evaluator) configured(name string) bool {
	for _, c := range e.cfg.SLOs {
		if c.Name == name {
			return true
		}
	}
	return false
}
