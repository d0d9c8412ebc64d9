// Package dispatch turns each evaluation into alerts and hands them to the
// outbox: it runs every service's burn-rate evaluator on the monitor's
// snapshot, routes each alert to the owning team's on-call developer and
// receivers, and builds the message with everything needed to act. It
// remembers across restarts which alerts are open and who was told, holds
// back what a silence covers, reminds about unacknowledged pages, and
// re-sends firing alerts to receivers that forget them (Alertmanager).
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/pagerduty"
	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/alerting/state"
	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/slo"
)

// Enqueuer stores a notification for delivery; the outbox is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, receiver string, m *notify.Message, now time.Time) (int64, error)
}

// Memory keeps what the dispatcher must remember across restarts and
// what people said about alerts; alerting/state.Store is one.
type Memory interface {
	LoadIncidents(ctx context.Context) (map[string][]byte, error)
	SaveIncidents(ctx context.Context, service string, state []byte, now time.Time) error
	ActiveSilences(ctx context.Context, now time.Time) ([]state.Silence, error)
	Acked(ctx context.Context, key string) (*state.Ack, error)
}

// Resender is a notifier whose receiver forgets a firing alert unless it
// is sent again every Resend; the Alertmanager notifier is one.
type Resender interface {
	notify.Notifier
	Resend() time.Duration
}

// Config holds what a Dispatcher needs.
type Config struct {
	// Catalog is the loaded specs and config. Required.
	Catalog *slo.Catalog
	// Directory routes alerts to people and receivers. Required.
	Directory *oncall.Directory
	// Outbox takes the notifications; nil evaluates alerts without
	// telling anyone (no receiver is configured).
	Outbox Enqueuer
	// Receivers are the receiver names the outbox can deliver to; a
	// route's recipient without one is skipped and logged. Those that are
	// Resenders also get firing alerts re-sent directly.
	Receivers map[string]notify.Notifier
	// Memory keeps state across restarts and holds silences and
	// acknowledgements; nil keeps nothing and knows no silences.
	Memory Memory
	// Suspect returns a service's suspect deploy, or nil; may be nil.
	Suspect func(ctx context.Context, service string) (*notify.Deploy, error)
	// ExternalURL is slogate's address for links.
	ExternalURL string
	// RepeatInterval is how often an unacknowledged firing page is sent
	// again; zero never.
	RepeatInterval time.Duration
	// HoldDown is how long an alert's conditions must stay false before
	// it resolves; zero means alerting.DefaultHoldDown.
	HoldDown time.Duration
	// Logger receives routing problems; default discards.
	Logger *slog.Logger
}

// Dispatcher runs the evaluators. Update must be called from one
// goroutine (the evaluation loop); Alerts may be called from any.
type Dispatcher struct {
	cfg      Config
	services map[string]*service
	recent   []Alert // resolved, newest last, at most maxRecent
	view     atomic.Pointer[[]Alert]
	resends  sync.WaitGroup
}

// maxRecent is how many resolved alerts Alerts reports.
const maxRecent = 100

// service is one service's evaluator and the delivery state of its open
// alerts.
type service struct {
	spec      *slo.Service
	eval      *alerting.Evaluator
	sent      map[string]*delivery // by alert key
	resolving map[string]*resolve  // resolves not yet stored, by alert key
	dirty     bool
}

// resolve is the resolve of an ended alert that the outbox could not
// store for some of its receivers: it is tried again at every evaluation,
// and after a restart, until every receiver of the trigger has it.
type resolve struct {
	Alert     alerting.Alert `json:"alert"`
	Receivers []string       `json:"receivers"`
}

// delivery is what was sent for one open alert.
type delivery struct {
	// Notified is true once the trigger was handed to the outbox; a
	// silenced alert is not notified until its silence ends.
	Notified bool `json:"notified"`
	// Receivers are the receivers told, so the resolve reaches the same
	// ones even after the on-call shift changed.
	Receivers []string `json:"receivers,omitempty"`
	// LastSent is when the trigger or its latest reminder was sent.
	LastSent time.Time `json:"lastSent,omitzero"`
	// Repeats counts the reminders sent.
	Repeats int `json:"repeats,omitempty"`
	// SilencedBy is the silence holding the alert back, 0 for none.
	SilencedBy int64 `json:"silencedBy,omitempty"`
	// resent is when it was last re-sent to resenders; not saved, so a
	// restart re-sends at once.
	resent time.Time
}

// saved is a service's state as Memory stores it.
type saved struct {
	Evaluator alerting.State       `json:"evaluator"`
	Sent      map[string]*delivery `json:"sent,omitempty"`
	Resolving map[string]*resolve  `json:"resolving,omitempty"`
}

// New builds one evaluator per service from the specs' alerting rules and
// restores the state saved by an earlier run.
func New(ctx context.Context, cfg Config) (*Dispatcher, error) {
	switch {
	case cfg.Catalog == nil, cfg.Directory == nil:
		return nil, errors.New("dispatch: catalog and directory are required")
	case cfg.RepeatInterval < 0:
		return nil, fmt.Errorf("dispatch: repeat interval %s, want 0 or more", cfg.RepeatInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{cfg: cfg, services: map[string]*service{}}
	for _, svc := range cfg.Catalog.Services {
		ac := alerting.ConfigFor(svc)
		ac.HoldDown = cfg.HoldDown
		ev, err := alerting.NewEvaluator(ac)
		if err != nil {
			return nil, fmt.Errorf("dispatch %s: %w", svc.Name, err)
		}
		d.services[svc.Name] = &service{spec: svc, eval: ev, sent: map[string]*delivery{}, resolving: map[string]*resolve{}}
	}
	if cfg.Memory != nil {
		states, err := cfg.Memory.LoadIncidents(ctx)
		if err != nil {
			return nil, fmt.Errorf("dispatch: restore open alerts: %w", err)
		}
		for name, b := range states {
			s := d.services[name]
			if s == nil {
				continue // the service is gone; its alerts with it
			}
			var sv saved
			if err := json.Unmarshal(b, &sv); err != nil {
				cfg.Logger.Warn("open alerts not restored", "service", name, "err", err)
				continue
			}
			s.eval.Restore(sv.Evaluator)
			for _, a := range s.eval.Firing() {
				if dl := sv.Sent[a.Key]; dl != nil {
					s.sent[a.Key] = dl
				}
			}
			for key, rs := range sv.Resolving {
				s.resolving[key] = rs
			}
			cfg.Logger.Info("open alerts restored", "service", name, "alerts", len(s.eval.Firing()))
		}
	}
	d.publish()
	return d, nil
}

// Update evaluates every service on snap and tells people: a trigger for
// each alert that starts (or whose silence ended), a reminder for pages
// unacknowledged for RepeatInterval, a resolve for each that ends.
func (d *Dispatcher) Update(ctx context.Context, snap *monitor.Snapshot) {
	now := snap.At
	var silences []state.Silence
	if d.cfg.Memory != nil {
		var err error
		if silences, err = d.cfg.Memory.ActiveSilences(ctx, now); err != nil {
			d.cfg.Logger.Error("silences unknown; alerting as if none", "err", err)
		}
	}
	for _, st := range snap.Services {
		s := d.services[st.Name]
		if s == nil {
			continue
		}
		statuses := make(map[string]budget.Status, len(st.SLOs))
		for _, o := range st.SLOs {
			statuses[o.Name] = o.Raw
		}
		wasOpen := len(s.sent) > 0 || len(s.resolving) > 0
		d.retryResolves(ctx, s, now)
		events := s.eval.Evaluate(now, statuses)
		if slices.ContainsFunc(events, func(e alerting.Event) bool { return e.Kind == alerting.EventFiring }) {
			// The new alert is on disk before anyone is told of it, so a
			// crash in between tells them after the restart under the
			// same key, rather than raising the alert anew under another.
			d.save(ctx, s, now)
		}
		for _, e := range events {
			if e.Kind == alerting.EventResolved {
				d.resolved(ctx, s, e.Alert, now)
			}
		}
		for _, a := range s.eval.Firing() {
			d.firing(ctx, s, a, silences, now)
		}
		if wasOpen || len(s.sent) > 0 || s.dirty {
			d.save(ctx, s, now)
		}
	}
	d.publish()
}

// firing tells people about open alert a as needed.
func (d *Dispatcher) firing(ctx context.Context, s *service, a alerting.Alert, silences []state.Silence, now time.Time) {
	dl := s.sent[a.Key]
	if dl == nil {
		dl = &delivery{}
		s.sent[a.Key] = dl
		s.dirty = true
	}
	log := d.cfg.Logger.With("service", a.Service, "severity", a.Severity, "key", a.Key)
	var names []string
	for _, x := range a.SLOs {
		names = append(names, x.SLO)
	}
	if sil := state.Silenced(silences, a.Service, names, now); sil != nil {
		if dl.SilencedBy != sil.ID {
			log.Info("alert silenced", "silence", sil.ID, "until", sil.EndsAt, "reason", sil.Reason)
			dl.SilencedBy, s.dirty = sil.ID, true
		}
		return
	}
	if dl.SilencedBy != 0 {
		dl.SilencedBy, s.dirty = 0, true
	}
	switch {
	case !dl.Notified:
		sent, ok := d.send(ctx, s, a, alerting.EventFiring, 0, nil, now)
		if !ok {
			return // not stored: tried again at the next evaluation
		}
		dl.Receivers = sent
		dl.Notified, dl.LastSent, s.dirty = true, now, true
	case a.Severity == alerting.SeverityPage && d.cfg.RepeatInterval > 0 && now.Sub(dl.LastSent) >= d.cfg.RepeatInterval:
		if d.acked(ctx, a.Key) {
			break
		}
		dl.Repeats++
		sent, _ := d.send(ctx, s, a, alerting.EventFiring, dl.Repeats, nil, now)
		for _, r := range sent {
			if !slices.Contains(dl.Receivers, r) {
				dl.Receivers = append(dl.Receivers, r)
			}
		}
		dl.LastSent, s.dirty = now, true
		log.Info("unacknowledged page repeated", "repeat", dl.Repeats)
	}
	d.resend(ctx, s, a, dl, now)
}

// resolved tells the receivers of a's trigger that it ended.
func (d *Dispatcher) resolved(ctx context.Context, s *service, a alerting.Alert, now time.Time) {
	dl := s.sent[a.Key]
	delete(s.sent, a.Key)
	s.dirty = true
	v := Alert{Alert: a}
	if dl != nil {
		v.Receivers, v.Repeats = dl.Receivers, dl.Repeats
	}
	d.recent = append(d.recent, v)
	if len(d.recent) > maxRecent {
		d.recent = slices.Delete(d.recent, 0, len(d.recent)-maxRecent)
	}
	if dl == nil || !dl.Notified || len(dl.Receivers) == 0 {
		d.cfg.Logger.Info("alert resolved before anyone was told", "service", a.Service, "key", a.Key)
		return
	}
	d.sendResolve(ctx, s, &resolve{Alert: a, Receivers: dl.Receivers}, now)
}

// sendResolve enqueues rs for its receivers and keeps it, for those whose
// notification could not be stored, to be tried again.
func (d *Dispatcher) sendResolve(ctx context.Context, s *service, rs *resolve, now time.Time) {
	sent, ok := d.send(ctx, s, rs.Alert, alerting.EventResolved, 0, rs.Receivers, now)
	if ok {
		if _, kept := s.resolving[rs.Alert.Key]; kept {
			delete(s.resolving, rs.Alert.Key)
			s.dirty = true
		}
		return
	}
	rs.Receivers = slices.DeleteFunc(slices.Clone(rs.Receivers), func(r string) bool { return slices.Contains(sent, r) })
	s.resolving[rs.Alert.Key] = rs
	s.dirty = true
	d.cfg.Logger.Warn("resolve not stored; trying again at the next evaluation", "service", rs.Alert.Service,
		"key", rs.Alert.Key, "receivers", rs.Receivers)
}

// retryResolves tries again the resolves of s that could not be stored.
func (d *Dispatcher) retryResolves(ctx context.Context, s *service, now time.Time) {
	if len(s.resolving) == 0 { // the usual case, on every evaluation of every service
		return
	}
	for _, key := range slices.Sorted(maps.Keys(s.resolving)) {
		d.sendResolve(ctx, s, s.resolving[key], now)
	}
}

func (d *Dispatcher) acked(ctx context.Context, key string) bool {
	if d.cfg.Memory == nil {
		return false
	}
	ack, err := d.cfg.Memory.Acked(ctx, key)
	if err != nil {
		d.cfg.Logger.Error("acknowledgement unknown; repeating the page", "key", key, "err", err)
		return false
	}
	return ack != nil
}

// send routes a (or, with to set, uses those receivers), builds the
// message per receiver and enqueues it; it returns the receivers it
// enqueued for, and ok false when one could not be stored.
func (d *Dispatcher) send(ctx context.Context, s *service, a alerting.Alert, kind string, repeat int, to []string, now time.Time) (sent []string, ok bool) {
	log := d.cfg.Logger.With("service", a.Service, "severity", a.Severity, "kind", kind, "key", a.Key)
	var deploy *notify.Deploy
	if d.cfg.Suspect != nil {
		var err error
		if deploy, err = d.cfg.Suspect(ctx, a.Service); err != nil {
			log.Warn("suspect deploy unknown", "err", err)
		}
	}
	author := ""
	if deploy != nil {
		author = deploy.Author
	}
	route, err := d.cfg.Directory.Route(s.spec, a.Severity, author, now)
	if err != nil {
		log.Warn("alert not routed", "err", err)
		return nil, true
	}
	for _, n := range route.Notes {
		log.Debug("routing note", "note", n)
	}
	m := d.message(s.spec, a, kind, route, deploy, now)
	m.Repeat = repeat
	if repeat > 0 {
		m.Summary = fmt.Sprintf("still firing, unacknowledged (reminder %d): %s", repeat, m.Summary)
	}
	targets := Targets(route)
	if to != nil {
		targets = targets[:0:0]
		for _, r := range to {
			targets = append(targets, Target{Receiver: r})
		}
	}
	ok = true
	for _, t := range targets {
		if d.cfg.Outbox == nil || d.cfg.Receivers[t.Receiver] == nil {
			log.Warn("recipient has no configured receiver", "receiver", t.Receiver)
			continue
		}
		mm := m
		if len(t.Mentions) > 0 {
			c := *m
			c.Mentions = t.Mentions
			mm = &c
		}
		if _, err := d.cfg.Outbox.Enqueue(ctx, t.Receiver, mm, now); err != nil {
			log.Error("notification not stored", "receiver", t.Receiver, "err", err)
			ok = false
			continue
		}
		sent = append(sent, t.Receiver)
	}
	log.Info("alert dispatched", "receivers", sent)
	return sent, ok
}

// resend sends a again to the resenders among the receivers its trigger
// went to when their Resend interval has passed. Resends go straight to
// the receiver, not through the outbox: each only extends the last, so a
// lost one is made good by the next.
func (d *Dispatcher) resend(ctx context.Context, s *service, a alerting.Alert, dl *delivery, now time.Time) {
	var rs []Resender
	every := time.Duration(0)
	for _, name := range dl.Receivers {
		if r, ok := d.cfg.Receivers[name].(Resender); ok {
			rs = append(rs, r)
			every = max(every, r.Resend())
		}
	}
	if len(rs) == 0 || !dl.Notified || now.Sub(dl.LastSent) < every || now.Sub(dl.resent) < every {
		return
	}
	dl.resent = now
	route, err := d.cfg.Directory.Route(s.spec, a.Severity, "", now)
	if err != nil {
		return
	}
	m := d.message(s.spec, a, alerting.EventFiring, route, nil, now)
	for _, r := range rs {
		d.resends.Add(1)
		go func() {
			defer d.resends.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, err := r.Notify(ctx, m); err != nil {
				d.cfg.Logger.Warn("firing alert not re-sent", "key", a.Key, "err", err)
			}
		}()
	}
}

// Wait waits for resends in flight, for shutdown.
func (d *Dispatcher) Wait() { d.resends.Wait() }

func (d *Dispatcher) save(ctx context.Context, s *service, now time.Time) {
	if d.cfg.Memory == nil {
		return
	}
	var b []byte
	if ev := s.eval.State(); ev.Page != nil || ev.Ticket != nil || len(ev.Covered) > 0 || len(s.sent) > 0 || len(s.resolving) > 0 {
		var err error
		if b, err = json.Marshal(saved{Evaluator: ev, Sent: s.sent, Resolving: s.resolving}); err != nil {
			d.cfg.Logger.Error("open alerts not saved", "service", s.spec.Name, "err", err)
			return
		}
	}
	if err := d.cfg.Memory.SaveIncidents(ctx, s.spec.Name, b, now); err != nil {
		d.cfg.Logger.Error("open alerts not saved", "service", s.spec.Name, "err", err)
		return
	}
	s.dirty = false
}

// Target is one receiver a routed alert is enqueued for, with the people
// to call out in its message.
type Target struct {
	Receiver string
	Mentions []notify.Mention
}

// Targets turns a route's recipients into one target per receiver:
// a person's own PagerDuty key is PersonalPagerDuty(person), a person's
// email PersonalEmail(person), and a person mentioned in a Slack receiver
// joins that receiver's target as a mention.
func Targets(route oncall.Route) []Target {
	var out []Target
	at := map[string]int{}
	for _, r := range route.Recipients {
		name := r.Receiver
		var mention *notify.Mention
		switch {
		case name == "" && r.Type == slo.ReceiverPagerDuty && r.Person != "":
			name = PersonalPagerDuty(r.Person)
		case name == "" && r.Type == slo.ReceiverEmail && r.Person != "":
			name = PersonalEmail(r.Person)
		case name != "" && r.Person != "":
			mention = &notify.Mention{Person: r.Person, Slack: r.Address, Reason: r.Reason}
		}
		if name == "" {
			continue
		}
		i, ok := at[name]
		if !ok {
			i = len(out)
			at[name] = i
			out = append(out, Target{Receiver: name})
		}
		if mention != nil {
			out[i].Mentions = append(out[i].Mentions, *mention)
		}
	}
	return out
}

// PersonalPagerDuty is the receiver name of a person's own PagerDuty
// routing key.
func PersonalPagerDuty(person string) string { return "pagerduty:" + person }

// PersonalEmail is the receiver name of a person's email address.
func PersonalEmail(person string) string { return "email:" + person }

func (d *Dispatcher) message(spec *slo.Service, a alerting.Alert, kind string, route oncall.Route, deploy *notify.Deploy, now time.Time) *notify.Message {
	lasted := a.Duration
	if lasted == 0 {
		lasted = now.Sub(a.Started)
	}
	m := &notify.Message{
		Kind: notify.KindTrigger, DedupKey: a.Key, Service: a.Service, Severity: notify.Severity(a.Severity),
		Team: spec.Owner.Team, Owner: spec.Owner.Team, RunbookURL: spec.Runbook, Deploy: deploy,
		StartedAt: a.Started, BudgetRemaining: 1,
	}
	if kind == alerting.EventResolved {
		m.Kind = notify.KindResolve
		m.EndedAt = a.Resolved
		m.Lasted = notify.Duration(a.Duration)
	}
	if route.OnCall != nil {
		m.OnCall = route.OnCall.Person
	}
	var parts []string
	for _, s := range a.SLOs {
		m.SLOs = append(m.SLOs, s.SLO)
		m.BudgetRemaining = min(m.BudgetRemaining, s.RemainingRatio)
		m.BudgetSpent = max(m.BudgetSpent, s.Spent)
		switch {
		case s.Rule.Long > 0:
			m.BurnRates = append(m.BurnRates, notify.BurnRate{
				LongWindow: notify.Duration(s.Rule.Long), ShortWindow: notify.Duration(s.Rule.Short),
				Long: s.LongBurn, Short: s.ShortBurn, Threshold: s.Rule.Burn,
			})
			parts = append(parts, burnSummary(s, kind, lasted, now))
		case kind == alerting.EventResolved:
			parts = append(parts, fmt.Sprintf("%s spent %.1f%% of its budget", s.SLO, s.Spent*100))
		default:
			parts = append(parts, s.SLO+" has spent its budget")
		}
		if x := s.Exhaustion1h; x != nil && (m.ExhaustsAt.IsZero() || x.At.Before(m.ExhaustsAt)) {
			m.ExhaustsAt = x.At
		}
	}
	if d.cfg.ExternalURL != "" && len(m.SLOs) > 0 {
		m.UIURL = d.cfg.ExternalURL + "/services/" + a.Service + "/slos/" + m.SLOs[0]
	}
	m.Summary = strings.Join(parts, "; ") // the title adds the service and SLOs
	if m.Kind == notify.KindResolve {
		m.Summary = fmt.Sprintf("resolved after %s: %s", shortDuration(a.Duration.Round(time.Minute)), m.Summary)
	}
	return m
}

// Alert is an alert as GET /api/v1/alerts lists it: the evaluator's view
// plus what was done about it.
type Alert struct {
	alerting.Alert
	// State is firing, silenced or resolved.
	State string `json:"state"`
	// Receivers are the receivers told.
	Receivers []string `json:"receivers,omitempty"`
	// SilencedBy is the silence holding it back, if any.
	SilencedBy int64 `json:"silencedBy,omitempty"`
	// Repeats counts the reminders sent for an unacknowledged page.
	Repeats int `json:"repeats,omitempty"`
}

// Alerts returns the open alerts, pages first, then up to 100 recently
// resolved ones, newest first, as of the latest Update.
func (d *Dispatcher) Alerts() []Alert { return *d.view.Load() }

func (d *Dispatcher) publish() {
	var out []Alert
	for _, s := range d.services {
		for _, a := range s.eval.Firing() {
			v := Alert{Alert: a, State: "firing"}
			if dl := s.sent[a.Key]; dl != nil {
				v.Receivers, v.SilencedBy, v.Repeats = slices.Clone(dl.Receivers), dl.SilencedBy, dl.Repeats
				if dl.SilencedBy != 0 {
					v.State = "silenced"
				}
			}
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b Alert) int {
		if a.Severity != b.Severity {
			return strings.Compare(a.Severity, b.Severity) // page before ticket
		}
		return b.Started.Compare(a.Started)
	})
	for i := len(d.recent) - 1; i >= 0; i-- {
		v := d.recent[i]
		v.State = "resolved"
		out = append(out, v)
	}
	if out == nil {
		out = []Alert{}
	}
	d.view.Store(&out)
}

// Change records a deploy of a service as a change event with the
// PagerDuty receivers its pages would reach, so responders see it next to
// the incidents it may cause. Other receivers are not told: a deploy is
// not a problem.
func (d *Dispatcher) Change(ctx context.Context, service string, deploy notify.Deploy, now time.Time) {
	s := d.services[service]
	if s == nil || d.cfg.Outbox == nil {
		return
	}
	route, err := d.cfg.Directory.Route(s.spec, alerting.SeverityPage, "", now)
	if err != nil {
		return
	}
	summary := "deployed " + service
	if deploy.Version != "" {
		summary += " " + deploy.Version
	}
	if deploy.Author != "" {
		summary += " by " + deploy.Author
	}
	m := &notify.Message{Kind: notify.KindChange, Service: service, Summary: summary, Team: s.spec.Owner.Team,
		Owner: s.spec.Owner.Team, Deploy: &deploy, RunbookURL: s.spec.Runbook}
	if d.cfg.ExternalURL != "" {
		m.UIURL = d.cfg.ExternalURL + "/services/" + service
	}
	for _, t := range Targets(route) {
		n := d.cfg.Receivers[t.Receiver]
		if _, ok := n.(*pagerduty.Notifier); !ok {
			continue
		}
		if _, err := d.cfg.Outbox.Enqueue(ctx, t.Receiver, m, now); err != nil {
			d.cfg.Logger.Error("change event not stored", "service", service, "receiver", t.Receiver, "err", err)
		}
	}
}

// burnSummary says how fast s burns and what it cost so far, e.g.
// "availability burning 80x its budget (13.6x over 1h), 2.2% of it gone
// in 10m, exhausted in ~8h at this rate"; for a resolve, what it cost.
func burnSummary(s alerting.SLOAlert, kind string, lasted time.Duration, now time.Time) string {
	if kind == alerting.EventResolved {
		return fmt.Sprintf("%s spent %.1f%% of its budget", s.SLO, s.Spent*100)
	}
	part := fmt.Sprintf("%s burning %.0fx its budget (%.1fx over %s)", s.SLO, s.ShortBurn, s.LongBurn, shortDuration(s.Rule.Long))
	if s.Spent > 0 {
		part += fmt.Sprintf(", %.1f%% of it gone in %s", s.Spent*100, shortDuration(lasted.Round(time.Minute)))
	}
	if x := s.Exhaustion1h; x != nil && x.At.After(now) {
		part += fmt.Sprintf(", exhausted in ~%s at this rate", shortDuration(x.At.Sub(now).Round(time.Minute)))
	}
	return part
}

// shortDuration renders d for people: "5h", "1h30m", "20m", "45s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// WriteMetrics writes slogate_alerts_firing{service,team,severity}: 1
// while an alert of that severity is open and not silenced, else 0, for
// every service and severity, as of the latest Update.
func (d *Dispatcher) WriteMetrics(w io.Writer) {
	open := map[string]bool{}
	for _, a := range d.Alerts() {
		if a.State == "firing" {
			open[a.Service+"/"+a.Severity] = true
		}
	}
	names := slices.Sorted(maps.Keys(d.services))
	fmt.Fprintln(w, "# HELP slogate_alerts_firing 1 while an alert of the service and severity is open and not silenced, else 0.")
	fmt.Fprintln(w, "# TYPE slogate_alerts_firing gauge")
	for _, name := range names {
		for _, sev := range []string{alerting.SeverityPage, alerting.SeverityTicket} {
			v := 0
			if open[name+"/"+sev] {
				v = 1
			}
			fmt.Fprintf(w, "slogate_alerts_firing{service=%s,team=%s,severity=%q} %d\n",
				strconv.Quote(name), strconv.Quote(d.services[name].spec.Owner.Team), sev, v)
		}
	}
}
