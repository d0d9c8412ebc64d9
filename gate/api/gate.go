// Package api serves the release gate over HTTP: the ship / slow-down
// answer for pipelines (and Flagger and Argo Rollouts), the decision
// history, overrides, deploy records with their impact, and the audit log.
// It keeps every service's verdict in memory, recomputed on each
// evaluation, so the gate answers without touching the disk; writes are
// stored, with their audit entry, before they are acknowledged.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/gate"
	"github.com/slogate/slogate/gate/store"
	"github.com/slogate/slogate/slo"
)

// Config holds what a Gate needs.
type Config struct {
	// Catalog is the loaded specs and config. Required.
	Catalog *slo.Catalog
	// Monitor supplies budgets and event counts. Required.
	Monitor *monitor.Monitor
	// Store keeps deploys, overrides, decision history and the audit log.
	// Required.
	Store *store.Store
	// Auth checks tokens on writes (and reads if configured). Required.
	Auth *Auth
	// Logger receives errors of background work; default discards.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// ExternalURL is slogate's address for people, for links in answers.
	ExternalURL string
	// OnDeploy, if set, is called with each deploy once it is stored,
	// e.g. to send it to PagerDuty as a change event. It must not block.
	OnDeploy func(ctx context.Context, d store.Deploy)
}

func (c *Config) defaults() error {
	switch {
	case c.Catalog == nil:
		return errors.New("gate api: missing catalog")
	case c.Monitor == nil:
		return errors.New("gate api: missing monitor")
	case c.Store == nil:
		return errors.New("gate api: missing store")
	case c.Auth == nil:
		return errors.New("gate api: missing auth")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Gate is the release gate's live state. It is safe for concurrent use.
type Gate struct {
	cfg      Config
	policies map[string]*gate.Policy
	services map[string]*slo.Service
	names    []string
	urls     map[string]string

	verdicts  atomic.Pointer[map[string]*verdictJSON]
	overrides atomic.Pointer[map[string][]gate.Override]

	mu   sync.Mutex // guards last and serialises override refreshes
	last map[string]string

	answers sync.Pool
}

// New resolves every service's policy and loads the active overrides and
// the last recorded decisions, so a restart records no spurious change.
func New(ctx context.Context, cfg Config) (*Gate, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	g := &Gate{
		cfg: cfg, policies: map[string]*gate.Policy{}, services: map[string]*slo.Service{},
		urls: map[string]string{},
	}
	g.answers.New = func() any { return new(scratch) }
	for _, svc := range cfg.Catalog.Services {
		g.policies[svc.Name] = gate.Resolve(cfg.Catalog.Config.Gate, svc, cfg.Catalog.Schedules)
		g.services[svc.Name] = svc
		g.names = append(g.names, svc.Name)
		if cfg.ExternalURL != "" {
			g.urls[svc.Name] = cfg.ExternalURL + "/services/" + svc.Name
		}
	}
	sort.Strings(g.names)
	// A nil map until the first evaluation: lookups in it find nothing,
	// and all tells "not ready" from "no services" by it.
	var none map[string]*verdictJSON
	g.verdicts.Store(&none)
	last, err := cfg.Store.LastDecisions(ctx)
	if err != nil {
		return nil, fmt.Errorf("gate: %w", err)
	}
	g.last = last
	if err := g.refreshOverrides(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Update judges every service on a new evaluation and swaps the verdicts in;
// each change of a service's decision is recorded in the history. It is
// meant as the monitor's OnEvaluate hook.
func (g *Gate) Update(snap *monitor.Snapshot) {
	next := make(map[string]*verdictJSON, len(snap.Services))
	for _, svc := range snap.Services {
		if p := g.policies[svc.Name]; p != nil {
			next[svc.Name] = newVerdictJSON(gate.Judge(p, svc, snap.At), p, g.urls[svc.Name])
		}
	}
	g.verdicts.Store(&next)

	g.mu.Lock()
	defer g.mu.Unlock()
	for _, name := range g.names {
		vj := next[name]
		if vj == nil || g.last[name] == vj.v.Decision {
			continue
		}
		v := vj.v
		from := g.last[name]
		if from == "" {
			from = "unknown"
		}
		ch := store.DecisionChange{Service: name, At: snap.At, From: from, To: v.Decision, Reasons: v.Reasons}
		if err := g.cfg.Store.AddDecisionChange(context.Background(), ch); err != nil {
			g.cfg.Logger.Error("record gate decision change", "service", name, "err", err)
			continue
		}
		g.cfg.Logger.Info("gate decision changed", "service", name, "from", from, "to", v.Decision, "reasons", v.Reasons)
		g.last[name] = v.Decision
	}
}

// refreshOverrides reloads the active overrides from the store.
func (g *Gate) refreshOverrides(ctx context.Context) error {
	active, err := g.cfg.Store.ActiveOverrides(ctx, g.cfg.Now())
	if err != nil {
		return fmt.Errorf("load overrides: %w", err)
	}
	m := map[string][]gate.Override{}
	for _, o := range active {
		m[o.Service] = append(m[o.Service], toGate(o))
	}
	g.overrides.Store(&m)
	return nil
}

func toGate(o store.Override) gate.Override {
	return gate.Override{
		ID: o.ID, Service: o.Service, Env: o.Env, Reason: o.Reason, By: o.By, Token: o.Token,
		CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt, EndedAt: o.EndedAt,
	}
}

// errUnknownService is returned by decide for a service with no spec.
var errUnknownService = errors.New("unknown service")

// scratch is what one answer needs, pooled.
type scratch struct {
	a   gate.Answer
	buf []byte
}

// decide fills out with the answer to req at now and returns the verdict
// it came from. It reads only memory and allocates nothing.
func (g *Gate) decide(req *gate.Request, now time.Time, out *gate.Answer) (*verdictJSON, error) {
	return g.decideFrom(*g.verdicts.Load(), *g.overrides.Load(), req, now, out)
}

// decideFrom is decide from given verdicts and overrides, so that answers
// for many services can all come from the same evaluation.
func (g *Gate) decideFrom(verdicts map[string]*verdictJSON, overrides map[string][]gate.Override,
	req *gate.Request, now time.Time, out *gate.Answer) (*verdictJSON, error) {
	p := g.policies[req.Service]
	if p == nil {
		return nil, errUnknownService
	}
	vj := verdicts[req.Service]
	if vj == nil {
		return nil, errNotReady
	}
	var ov *gate.Override
	list := overrides[req.Service]
	env := p.Environment(req.Env)
	for i := range list {
		if list[i].ActiveAt(now, env) {
			ov = &list[i]
			break
		}
	}
	gate.Decide(p, vj.v, req, ov, now, out)
	out.URL = g.urls[req.Service]
	return vj, nil
}

// errNotReady is returned before the first evaluation.
var errNotReady = errors.New("not ready")

// impactDetail is what is stored on a deploy once its impact is known.
type impactDetail struct {
	Class         string        `json:"class"`
	WindowMinutes float64       `json:"window_minutes"`
	SLOs          []gate.Impact `json:"slos"`
}

// earlyImpact is how long after a deploy its impact is first looked at:
// from then on a deploy that is already significantly degraded is judged
// so at once, so that an alert it causes names it as the suspect; other
// deploys are judged when their whole window has passed.
const earlyImpact = 5 * time.Minute

// measureImpacts classifies every deploy whose after-window has passed,
// and every younger one whose harm is already significant.
func (g *Gate) measureImpacts(ctx context.Context) error {
	now := g.cfg.Now()
	pending, err := g.cfg.Store.PendingImpact(ctx, now.Add(-min(earlyImpact, minWindow(g.policies))), 100)
	if err != nil {
		return fmt.Errorf("pending impacts: %w", err)
	}
	for _, d := range pending {
		p := g.policies[d.Service]
		svc := g.services[d.Service]
		if p == nil || svc == nil {
			continue
		}
		at := d.StartedAt
		if d.FinishedAt != nil {
			at = *d.FinishedAt
		}
		after := at.Add(p.ImpactWindow)
		early := now.Before(after)
		if early {
			if now.Before(at.Add(min(earlyImpact, p.ImpactWindow))) {
				continue
			}
			after = now.Truncate(time.Minute)
		}
		det := impactDetail{WindowMinutes: after.Sub(at).Minutes()}
		for _, o := range svc.SLOs {
			if len(p.SLOs) > 0 && !slices.Contains(p.SLOs, o.Name) {
				continue
			}
			before, err := g.cfg.Monitor.Sum(d.Service, o.Name, at.Add(-p.ImpactWindow), at)
			if err != nil {
				return err
			}
			got, err := g.cfg.Monitor.Sum(d.Service, o.Name, at, after)
			if err != nil {
				return err
			}
			det.SLOs = append(det.SLOs, gate.ClassifyImpact(o.Name, before, got, p.ImpactMinEvents))
		}
		det.Class = gate.WorstImpact(det.SLOs)
		if early && det.Class != gate.ImpactDegraded {
			continue // not harmful yet: judged when the window has passed
		}
		data, err := json.Marshal(det)
		if err != nil {
			return fmt.Errorf("encode impact: %w", err)
		}
		if err := g.cfg.Store.SetImpact(ctx, d.ID, det.Class, data, now); err != nil {
			return fmt.Errorf("set impact of deploy %d: %w", d.ID, err)
		}
		g.cfg.Logger.Info("deploy impact measured", "deploy", d.ID, "service", d.Service, "version", d.Version,
			"class", det.Class, "after", after.Sub(at))
	}
	return nil
}

func minWindow(ps map[string]*gate.Policy) time.Duration {
	w := time.Duration(0)
	for _, p := range ps {
		if w == 0 || p.ImpactWindow < w {
			w = p.ImpactWindow
		}
	}
	return w
}

// Run measures deploy impacts every interval until ctx ends.
func (g *Gate) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := g.measureImpacts(ctx); err != nil && ctx.Err() == nil {
			g.cfg.Logger.Error("measure deploy impact", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
