// Package gate owns the release gate's decisions: it resolves a service's
// gate policy from the server defaults and the service's own settings,
// judges the service's SLOs against it once per evaluation (Judge), and
// answers a pipeline's "may I ship?" from that verdict without allocating
// (Decide). It also parses Conventional Commits messages into change types
// and classifies a deploy's impact on an SLI.
//
// Everything here is pure: no I/O and no clock reads; time is a parameter.
// Storage of overrides and deploys and the HTTP handlers live in
// sub-packages.
package gate

import (
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/slo"
)

// Decisions a verdict or answer can carry.
const (
	// Ship: budget left, changes may go out.
	Ship = "ship"
	// SlowDown: budget spent, a fast burn, missing data (with onNoData
	// slow_down) or a freeze; only exempt change types go out.
	SlowDown = "slow_down"
)

// Policy is a service's resolved gate policy: the service's gate settings
// over the server config's defaults over the built-in defaults, field by
// field. Lists replace lists; they are not merged. It encodes as the
// answer's "policy". A Policy is read-only once resolved and safe for
// concurrent use.
type Policy struct {
	// SLOs are the gated SLOs; empty gates every SLO of the service.
	SLOs []string `json:"slos,omitempty"`
	// MinBudgetRemaining is the budget ratio (0..1; specs write percent)
	// below which an SLO slows the service down.
	MinBudgetRemaining float64 `json:"min_budget_remaining"`
	// WarnBudgetRemaining is the budget ratio below which the answer warns.
	WarnBudgetRemaining float64 `json:"warn_budget_remaining"`
	// FastBurnRate is the burn rate that, exceeded over every one of
	// FastBurnWindows, slows down; 0 turns the condition off.
	FastBurnRate float64 `json:"fast_burn_rate"`
	// FastBurnWindows name burn-rate windows as the monitor writes them
	// ("1h", "5m").
	FastBurnWindows []string `json:"fast_burn_windows"`
	// AllowedChangeTypes may ship during a slow-down (lowercase).
	AllowedChangeTypes []string `json:"allowed_change_types"`
	// Environments are gated; every other environment ships.
	Environments []string `json:"environments"`
	// OnNoData is slo.OnNoDataShip or slo.OnNoDataSlowDown: what missing,
	// stale or too little data means.
	OnNoData string `json:"on_no_data"`
	// MinEvents is the fewest events (minutes for timeslice SLOs) in an
	// SLO's window for its budget to be judged.
	MinEvents float64 `json:"min_events"`
	// MaxDataAge is how old an SLO's latest data may be, while its
	// schedule is active, before it is stale.
	MaxDataAge time.Duration `json:"-"`
	// MaxDataAgeSeconds is MaxDataAge in seconds, for JSON.
	MaxDataAgeSeconds float64 `json:"max_data_age_seconds"`
	// Freeze are the freeze rules, in spec order; the first in force wins.
	Freeze []Freeze `json:"freeze,omitempty"`
	// Enforce false is shadow mode: answers always allow.
	Enforce bool `json:"enforce"`
	// MaxOverride is the longest an override may last.
	MaxOverride time.Duration `json:"-"`
	// ImpactWindow is how long before and after a deploy its impact is
	// measured.
	ImpactWindow time.Duration `json:"-"`
	// ImpactMinEvents is the fewest events on each side of a deploy for
	// its impact to be classified.
	ImpactMinEvents float64 `json:"-"`

	service string
}

// Freeze is a resolved freeze rule: changes freeze while its schedule is
// active (When "active") or inactive (When "inactive").
type Freeze struct {
	// Schedule names the schedule.
	Schedule string `json:"schedule"`
	// When is slo.FreezeWhenActive or slo.FreezeWhenInactive.
	When string `json:"when"`
	// Reason is shown in answers; "freeze (<schedule>)" unless the spec
	// says otherwise.
	Reason string `json:"reason"`

	sched *slo.Schedule
}

// Resolve merges a service's gate settings (svc may be nil, and so may its
// Gate) over the server config's defaults and the built-in ones, and binds
// freeze rules to their compiled schedules. A freeze rule whose schedule
// is not in schedules never freezes; Load guarantees every name exists.
// Resolve expects validated input: it does not check ranges.
func Resolve(defaults slo.GatePolicy, svc *slo.Service, schedules map[string]*slo.Schedule) *Policy {
	var own slo.GatePolicy
	p := &Policy{}
	if svc != nil {
		p.service = svc.Name
		if svc.Gate != nil {
			own = *svc.Gate
		}
	}
	p.SLOs = slices.Clone(own.SLOs) // validation keeps the defaults' list empty
	p.MinBudgetRemaining = pick(own.MinBudgetRemaining, defaults.MinBudgetRemaining, slo.DefaultMinBudgetRemaining) / 100
	p.WarnBudgetRemaining = pick(own.WarnBudgetRemaining, defaults.WarnBudgetRemaining, slo.DefaultWarnBudgetRemaining) / 100

	fb := slo.FastBurn{Rate: slo.DefaultFastBurnRate, Windows: slo.DefaultFastBurnWindows()}
	switch {
	case own.FastBurn != nil:
		fb = *own.FastBurn
	case defaults.FastBurn != nil:
		fb = *defaults.FastBurn
	}
	p.FastBurnRate = fb.Rate
	p.FastBurnWindows = make([]string, len(fb.Windows))
	for i, w := range fb.Windows {
		// The monitor names burn windows this way too.
		p.FastBurnWindows[i] = slo.Window{Rolling: time.Duration(w)}.String()
	}

	p.AllowedChangeTypes = pickList(own.AllowedChangeTypes, defaults.AllowedChangeTypes, slo.DefaultAllowedChangeTypes)
	p.Environments = pickList(own.Environments, defaults.Environments, slo.DefaultEnvironments)
	p.OnNoData = slo.DefaultOnNoData
	switch {
	case own.OnNoData != "":
		p.OnNoData = own.OnNoData
	case defaults.OnNoData != "":
		p.OnNoData = defaults.OnNoData
	}
	p.MinEvents = pick(own.MinEvents, defaults.MinEvents, slo.DefaultMinEvents)
	p.MaxDataAge = time.Duration(pick(own.MaxDataAge, defaults.MaxDataAge, slo.DefaultMaxDataAge))
	p.MaxDataAgeSeconds = p.MaxDataAge.Seconds()
	p.Enforce = pick(own.Enforce, defaults.Enforce, true)
	p.MaxOverride = time.Duration(pick(own.MaxOverride, defaults.MaxOverride, slo.DefaultMaxOverride))
	p.ImpactWindow = time.Duration(pick(own.ImpactWindow, defaults.ImpactWindow, slo.DefaultImpactWindow))
	p.ImpactMinEvents = pick(own.ImpactMinEvents, defaults.ImpactMinEvents, slo.DefaultImpactMinEvents)

	rules := own.Freeze
	if len(rules) == 0 {
		rules = defaults.Freeze
	}
	for _, r := range rules {
		f := Freeze{Schedule: r.Schedule, When: r.When, Reason: r.Reason, sched: schedules[r.Schedule]}
		if f.When == "" {
			f.When = slo.FreezeWhenActive
		}
		if f.Reason == "" {
			f.Reason = "freeze (" + r.Schedule + ")"
		}
		p.Freeze = append(p.Freeze, f)
	}
	return p
}

func pick[T any](own, def *T, builtin T) T {
	switch {
	case own != nil:
		return *own
	case def != nil:
		return *def
	}
	return builtin
}

func pickList(own, def []string, builtin func() []string) []string {
	switch {
	case len(own) > 0:
		return slices.Clone(own)
	case len(def) > 0:
		return slices.Clone(def)
	}
	return builtin()
}

// Gated reports whether deploys to env are gated. Environments match
// case-insensitively. An empty env means the policy's first environment
// (production by default), so a pipeline that forgets to say where it
// deploys is gated rather than waved through. It does not allocate.
func (p *Policy) Gated(env string) bool {
	if env == "" {
		return len(p.Environments) > 0
	}
	for _, e := range p.Environments {
		if strings.EqualFold(e, env) {
			return true
		}
	}
	return false
}

// Environment returns the environment a request is about: env, or the
// policy's first gated environment when env is empty. Use it to pick the
// override to pass to Decide, so that a request without an environment
// finds the overrides of the environment it is judged for. It does not
// allocate.
func (p *Policy) Environment(env string) string {
	if env == "" && len(p.Environments) > 0 {
		return p.Environments[0]
	}
	return env
}

// Exempt reports whether changes of the (lowercase) changeType may ship
// during a slow-down or freeze. The empty type, unknown to the parser, is
// never exempt. Breaking changes are never exempt either; Decide applies
// that rule, since a type alone does not say whether a change breaks. It
// does not allocate.
func (p *Policy) Exempt(changeType string) bool {
	if changeType == "" {
		return false
	}
	for _, t := range p.AllowedChangeTypes {
		if strings.EqualFold(t, changeType) {
			return true
		}
	}
	return false
}

// FreezeAt returns the reason of the first freeze rule in force at now,
// and whether one is. It does not allocate.
func (p *Policy) FreezeAt(now time.Time) (reason string, frozen bool) {
	if i := p.freezeIndex(now); i >= 0 {
		return p.Freeze[i].Reason, true
	}
	return "", false
}

func (p *Policy) freezeIndex(now time.Time) int {
	for i := range p.Freeze {
		f := &p.Freeze[i]
		if f.sched == nil {
			continue
		}
		if f.sched.Active(now) == (f.When != slo.FreezeWhenInactive) {
			return i
		}
	}
	return -1
}

// formatDuration writes d as specs do (15m, 1h30m, 1d).
func formatDuration(d time.Duration) string { return model.Duration(d).String() }
