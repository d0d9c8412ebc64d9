// Package dispatch turns each evaluation into alerts and hands them to the
// outbox: it runs every service's burn-rate evaluator on the monitor's
// snapshot, routes each alert to the owning team's on-call developer and
// receivers, and builds the message with everything needed to act.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/alertmanager"
	"github.com/slogate/slogate/alerting/notify/pagerduty"
	"github.com/slogate/slogate/alerting/notify/slack"
	"github.com/slogate/slogate/alerting/notify/webhook"
	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/slo"
)

// Enqueuer stores a notification for delivery; the outbox is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, receiver string, m *notify.Message, now time.Time) (int64, error)
}

// Config holds what a Dispatcher needs.
type Config struct {
	// Catalog is the loaded specs and config. Required.
	Catalog *slo.Catalog
	// Directory routes alerts to people and receivers. Required.
	Directory *oncall.Directory
	// Outbox takes the notifications. Required.
	Outbox Enqueuer
	// Suspect returns a service's suspect deploy, or nil; may be nil.
	Suspect func(ctx context.Context, service string) (*notify.Deploy, error)
	// ExternalURL is slogate's address for links.
	ExternalURL string
	// Logger receives routing problems; default discards.
	Logger *slog.Logger
}

// Dispatcher runs the evaluators. It is not safe for concurrent use: call
// Update from the evaluation loop only.
type Dispatcher struct {
	cfg      Config
	evals    map[string]*alerting.Evaluator
	services map[string]*slo.Service
}

// New builds one evaluator per service with the default rules.
func New(cfg Config) (*Dispatcher, error) {
	switch {
	case cfg.Catalog == nil, cfg.Directory == nil, cfg.Outbox == nil:
		return nil, errors.New("dispatch: catalog, directory and outbox are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{cfg: cfg, evals: map[string]*alerting.Evaluator{}, services: map[string]*slo.Service{}}
	for _, svc := range cfg.Catalog.Services {
		ac := alerting.Config{Service: svc.Name}
		for _, s := range svc.SLOs {
			ac.SLOs = append(ac.SLOs, alerting.SLOConfig{Name: s.Name, Window: alerting.WindowLength(s.Win)})
		}
		ev, err := alerting.NewEvaluator(ac)
		if err != nil {
			return nil, fmt.Errorf("dispatch %s: %w", svc.Name, err)
		}
		d.evals[svc.Name] = ev
		d.services[svc.Name] = svc
	}
	return d, nil
}

// Update evaluates every service on snap and enqueues a notification per
// receiver for each alert that fires or resolves.
func (d *Dispatcher) Update(ctx context.Context, snap *monitor.Snapshot) {
	for _, svc := range snap.Services {
		ev := d.evals[svc.Name]
		if ev == nil {
			continue
		}
		statuses := make(map[string]budget.Status, len(svc.SLOs))
		for _, s := range svc.SLOs {
			statuses[s.Name] = s.Raw
		}
		for _, e := range ev.Evaluate(snap.At, statuses) {
			d.dispatch(ctx, svc, e, snap.At)
		}
	}
}

func (d *Dispatcher) dispatch(ctx context.Context, st *monitor.ServiceStatus, e alerting.Event, now time.Time) {
	spec := d.services[st.Name]
	log := d.cfg.Logger.With("service", st.Name, "severity", e.Alert.Severity, "kind", e.Kind, "key", e.Alert.Key)
	var deploy *notify.Deploy
	if d.cfg.Suspect != nil {
		var err error
		if deploy, err = d.cfg.Suspect(ctx, st.Name); err != nil {
			log.Warn("suspect deploy unknown", "err", err)
		}
	}
	author := ""
	if deploy != nil {
		author = deploy.Author
	}
	route, err := d.cfg.Directory.Route(spec, e.Alert.Severity, author, now)
	if err != nil {
		log.Warn("alert not routed", "err", err)
		return
	}
	m := d.message(spec, e, route, deploy)
	seen := map[string]bool{}
	for _, r := range route.Recipients {
		recv := r.Receiver
		if recv == "" && r.Type == slo.ReceiverPagerDuty && r.Person != "" {
			recv = PersonalPagerDuty(r.Person)
		}
		if recv == "" || seen[recv] {
			continue
		}
		seen[recv] = true
		if _, err := d.cfg.Outbox.Enqueue(ctx, recv, m, now); err != nil {
			log.Error("notification not stored", "receiver", recv, "err", err)
		}
	}
	log.Info("alert dispatched", "receivers", len(seen))
}

// PersonalPagerDuty is the receiver name of a person's own PagerDuty
// routing key.
func PersonalPagerDuty(person string) string { return "pagerduty:" + person }

func (d *Dispatcher) message(spec *slo.Service, e alerting.Event, route oncall.Route, deploy *notify.Deploy) *notify.Message {
	a := e.Alert
	m := &notify.Message{
		Kind: notify.KindTrigger, DedupKey: a.Key, Service: a.Service, Severity: notify.Severity(a.Severity),
		Team: spec.Owner.Team, Owner: spec.Owner.Team, RunbookURL: spec.Runbook, Deploy: deploy,
		StartedAt: a.Started, BudgetRemaining: 1,
	}
	if e.Kind == alerting.EventResolved {
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
		if s.Rule.Long > 0 {
			m.BurnRates = append(m.BurnRates, notify.BurnRate{
				LongWindow: notify.Duration(s.Rule.Long), ShortWindow: notify.Duration(s.Rule.Short),
				Long: s.LongBurn, Short: s.ShortBurn, Threshold: s.Rule.Burn,
			})
			parts = append(parts, fmt.Sprintf("%s burning %.1fx its budget", s.SLO, s.LongBurn))
		} else {
			parts = append(parts, s.SLO+" has spent its budget")
		}
		if x := s.Exhaustion1h; x != nil && (m.ExhaustsAt.IsZero() || x.At.Before(m.ExhaustsAt)) {
			m.ExhaustsAt = x.At
		}
	}
	if d.cfg.ExternalURL != "" && len(m.SLOs) > 0 {
		m.UIURL = d.cfg.ExternalURL + "/services/" + a.Service + "/slos/" + m.SLOs[0]
	}
	m.Summary = fmt.Sprintf("%s: %s", a.Service, strings.Join(parts, "; "))
	if m.Kind == notify.KindResolve {
		m.Summary = fmt.Sprintf("resolved after %s: %s", a.Duration.Round(time.Second), m.Summary)
	}
	return m
}

// Notifiers builds a notifier for every configured receiver and for every
// person's own PagerDuty routing key, reading secrets from files or the
// environment (getenv) as the config says. Email receivers need an SMTP
// relay that the config cannot name yet, so they are left out and named in
// the returned skipped list.
func Notifiers(cfg *slo.Config, getenv func(string) string) (map[string]notify.Notifier, []string, error) {
	out := map[string]notify.Notifier{}
	var skipped []string
	secret := func(inline, file string) (notify.Secret, error) {
		if file == "" {
			return notify.Secret(inline), nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return notify.Secret(strings.TrimSpace(string(b))), nil
	}
	for _, r := range cfg.Receivers {
		var (
			n   notify.Notifier
			err error
		)
		switch r.Type {
		case slo.ReceiverSlack:
			var u notify.Secret
			if u, err = secret(r.URL, r.URLFile); err == nil {
				n, err = slack.New(slack.Config{URL: u})
			}
		case slo.ReceiverWebhook:
			var u, key notify.Secret
			if u, err = secret(r.URL, r.URLFile); err == nil {
				if key, err = secret("", r.SecretFile); err == nil {
					n, err = webhook.New(webhook.Config{URL: u, SigningKey: key})
				}
			}
		case slo.ReceiverPagerDuty:
			var key notify.Secret
			if key, err = secret(r.RoutingKey, r.RoutingKeyFile); err == nil {
				n, err = pagerduty.New(pagerduty.Config{RoutingKey: key, URL: r.URL})
			}
		case slo.ReceiverAlertmanager:
			n, err = alertmanager.New(alertmanager.Config{URL: r.URL})
		default:
			skipped = append(skipped, r.Name)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("receiver %s: %w", r.Name, err)
		}
		out[r.Name] = n
	}
	for _, p := range cfg.People {
		key := notify.Secret(p.PagerDuty)
		switch {
		case p.PagerDutyFile != "":
			s, err := secret("", p.PagerDutyFile)
			if err != nil {
				return nil, nil, fmt.Errorf("person %s: %w", p.Name, err)
			}
			key = s
		case p.PagerDutyEnv != "":
			key = notify.Secret(getenv(p.PagerDutyEnv))
		}
		if key == "" {
			continue
		}
		n, err := pagerduty.New(pagerduty.Config{RoutingKey: key})
		if err != nil {
			return nil, nil, fmt.Errorf("person %s: %w", p.Name, err)
		}
		out[PersonalPagerDuty(p.Name)] = n
	}
	return out, skipped, nil
}
