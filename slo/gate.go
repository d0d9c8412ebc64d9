package slo

import (
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/common/model"
)

// GatePolicy is how the release gate decides for a service, as written: the
// server config's gate section holds the defaults and a service's gate
// section overrides them field by field. Nil pointers and empty lists mean
// "not set here".
type GatePolicy struct {
	// SLOs limits the gated SLOs to these names; empty gates every SLO.
	SLOs []string `yaml:"slos"`
	// MinBudgetRemaining is the percentage of budget below which the gate
	// slows down; default 0.
	MinBudgetRemaining *float64 `yaml:"minBudgetRemaining"`
	// WarnBudgetRemaining is the percentage below which the gate warns but
	// ships; default 25.
	WarnBudgetRemaining *float64 `yaml:"warnBudgetRemaining"`
	// FastBurn slows down while a fast burn is under way; default burn rate
	// above 14.4 over both 1h and 5m.
	FastBurn *FastBurn `yaml:"fastBurn"`
	// AllowedChangeTypes may ship during a slow-down; default fix, revert.
	AllowedChangeTypes []string `yaml:"allowedChangeTypes"`
	// Environments are gated; others always ship. Default production.
	Environments []string `yaml:"environments"`
	// OnNoData is ship (with a warning; the default) or slow_down: what
	// missing, stale or too little SLI data means.
	OnNoData string `yaml:"onNoData"`
	// MinEvents is the fewest events (or minutes, for timeslices) in the
	// window for a budget to count; below it the SLO has insufficient data.
	// Default 100.
	MinEvents *float64 `yaml:"minEvents"`
	// MaxDataAge is how old an SLO's latest data may be before it is stale;
	// default 15m.
	MaxDataAge *model.Duration `yaml:"maxDataAge"`
	// Freeze lists freeze windows: while one is in force, changes other than
	// the allowed types slow down with the reason "freeze".
	Freeze []FreezeRule `yaml:"freeze"`
	// Enforce false runs the gate in shadow mode: answers carry the real
	// decision and would_block, but always allow. Default true.
	Enforce *bool `yaml:"enforce"`
	// MaxOverride is the longest an override may last; default 24h.
	MaxOverride *model.Duration `yaml:"maxOverride"`
	// ImpactWindow is how long before and after a deploy its impact is
	// measured; default 30m.
	ImpactWindow *model.Duration `yaml:"impactWindow"`
	// ImpactMinEvents is the fewest events on each side of a deploy for its
	// impact to be classified; default 100.
	ImpactMinEvents *float64 `yaml:"impactMinEvents"`
}

// FastBurn is a multiwindow burn-rate condition: the burn rate exceeds Rate
// over every one of Windows.
type FastBurn struct {
	// Rate is the burn-rate threshold; 0 disables the condition.
	Rate float64 `yaml:"rate"`
	// Windows are burn-rate windows such as 1h and 5m, each one of
	// BurnWindows (5m, 30m, 1h, 2h, 6h, 1d, 3d).
	Windows []model.Duration `yaml:"windows"`
}

// FreezeRule freezes changes while a named schedule is active (When
// "active", the default) or inactive (When "inactive": e.g. outside
// business days, which covers weekends and holidays).
type FreezeRule struct {
	// Schedule names a schedule from the server config.
	Schedule string `yaml:"schedule"`
	// When is "active" or "inactive".
	When string `yaml:"when"`
	// Reason is shown in answers; default "freeze (<schedule>)".
	Reason string `yaml:"reason"`
}

// Auth configures API tokens. Writes always need a token with the right
// scope; reads need one only when ReadsNeedToken is set.
type Auth struct {
	// Tokens are the accepted bearer tokens, stored as SHA-256 hashes.
	Tokens []Token `yaml:"tokens"`
	// ReadsNeedToken makes every API read need a token with scope read.
	ReadsNeedToken bool `yaml:"readsNeedToken"`
}

// Token scopes.
const (
	// ScopeRead reads the API when reads need a token.
	ScopeRead = "read"
	// ScopeDeployWrite records deploys.
	ScopeDeployWrite = "deploy:write"
	// ScopeGateOverride creates and ends gate overrides.
	ScopeGateOverride = "gate:override"
	// ScopeAlertsWrite creates and expires silences and acknowledges
	// alerts.
	ScopeAlertsWrite = "alerts:write"
	// ScopeSpecWrite adds, replaces and removes service specs through the
	// API.
	ScopeSpecWrite = "spec:write"
)

// scopes are the known token scopes, in the order problems list them.
var scopes = []string{ScopeRead, ScopeDeployWrite, ScopeGateOverride, ScopeAlertsWrite, ScopeSpecWrite}

// Token is one accepted bearer token.
type Token struct {
	// Name identifies the token in the audit log (e.g. "github-actions").
	Name string `yaml:"name"`
	// SHA256 is the hex SHA-256 of the token (`printf %s "$TOKEN" |
	// sha256sum`); the token itself is never stored. Either case is
	// accepted; loading lowercases it.
	SHA256 string `yaml:"sha256"`
	// Scopes are what the token may do: read, deploy:write,
	// gate:override, alerts:write, spec:write.
	Scopes []string `yaml:"scopes"`
	// Teams, when set, limits the token's spec:write and gate:override to
	// the services these teams own (owner.team): a team's token cannot
	// change another team's SLOs or override its gate. Empty means every
	// service.
	Teams []string `yaml:"teams"`
}

// Values of GatePolicy.OnNoData.
const (
	OnNoDataShip     = "ship"
	OnNoDataSlowDown = "slow_down"
)

// Values of FreezeRule.When.
const (
	FreezeWhenActive   = "active"
	FreezeWhenInactive = "inactive"
)

// Built-in gate defaults, used where neither a service nor the server
// config sets a field. Percentages are as written in specs (25 means 25%).
const (
	DefaultMinBudgetRemaining  = 0.0
	DefaultWarnBudgetRemaining = 25.0
	DefaultFastBurnRate        = 14.4
	DefaultOnNoData            = OnNoDataShip
	DefaultMinEvents           = 100.0
	DefaultMaxDataAge          = model.Duration(15 * time.Minute)
	DefaultMaxOverride         = model.Duration(24 * time.Hour)
	DefaultImpactWindow        = model.Duration(30 * time.Minute)
	DefaultImpactMinEvents     = 100.0
)

// MaxOverrideLimit is the longest maxOverride a policy may set: an override
// is an exception, not a way to switch the gate off.
const MaxOverrideLimit = model.Duration(7 * 24 * time.Hour)

// DefaultFastBurnWindows returns the default fast-burn windows, 1h and 5m:
// the page-level condition of the multiwindow burn-rate alert. Each call
// returns a new slice.
func DefaultFastBurnWindows() []model.Duration {
	return []model.Duration{model.Duration(time.Hour), model.Duration(5 * time.Minute)}
}

// DefaultAllowedChangeTypes returns the change types that may ship during a
// slow-down by default, fix and revert. Each call returns a new slice.
func DefaultAllowedChangeTypes() []string { return []string{"fix", "revert"} }

// DefaultEnvironments returns the environments gated by default,
// production. Each call returns a new slice.
func DefaultEnvironments() []string { return []string{"production"} }

// BurnRateWindows returns a copy of BurnWindows, the windows the budget
// engine computes burn rates over, for callers that change the result.
// Each call returns a new slice.
func BurnRateWindows() []time.Duration { return slices.Clone(BurnWindows) }

// burnWindowList renders BurnWindows for problems: "5m, 30m, 1h, ...".
func burnWindowList() string {
	names := make([]string, len(BurnWindows))
	for i, w := range BurnWindows {
		names[i] = model.Duration(w).String()
	}
	return strings.Join(names, ", ")
}

var (
	changeTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	hexRE        = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// validateConfigGate checks the server config's gate, auth and externalURL
// settings. It trims a trailing slash off ExternalURL, since links are
// built as ExternalURL + "/services/...".
func validateConfigGate(c *Config, r *reporter) {
	validateGate(&c.Gate, nil, r, "gate")
	checkServiceThresholds(&c.Gate, &GatePolicy{}, r, "gate")
	// Schedules that do not compile are reported where they are defined;
	// only names defined nowhere are reported here.
	defined := map[string]bool{AlwaysName: true}
	for _, s := range c.Schedules {
		defined[s.Name] = true
	}
	checkFreezeSchedules(&c.Gate, slices.Sorted(maps.Keys(defined)), defined, r, "gate")
	validateAuth(&c.Auth, r, "auth")
	if c.ExternalURL != "" {
		if msg := checkHTTPURL(c.ExternalURL); msg != "" {
			r.add("externalURL", "%s", msg)
		} else {
			c.ExternalURL = strings.TrimRight(c.ExternalURL, "/")
		}
	}
}

// validateGate checks one gate section at path p on its own. svc is the
// service the section belongs to, or nil for the server config's defaults.
// References to schedules are checked where the schedules are known:
// validateConfig for the config's section, Load for services'.
func validateGate(g *GatePolicy, svc *Service, r *reporter, p string) {
	if svc == nil {
		if len(g.SLOs) > 0 {
			r.add(field(p, "slos"), "only a service's gate section can name SLOs; leave it empty here to gate every SLO")
		}
	} else {
		sloNames := make([]string, 0, len(svc.SLOs))
		for _, o := range svc.SLOs {
			sloNames = append(sloNames, o.Name)
		}
		seen := map[string]int{}
		for i, name := range g.SLOs {
			ip := index(field(p, "slos"), i)
			if first, dup := seen[name]; dup {
				r.add(ip, "duplicate SLO %q (also %s)", name, index(field(p, "slos"), first))
				continue
			}
			seen[name] = i
			if !slices.Contains(sloNames, name) {
				r.add(ip, "unknown SLO %q; this service's SLOs: %s", name, strings.Join(sloNames, ", "))
			}
		}
	}

	minOK := checkPercent(g.MinBudgetRemaining, r, field(p, "minBudgetRemaining"))
	warnOK := checkPercent(g.WarnBudgetRemaining, r, field(p, "warnBudgetRemaining"))
	if minOK && warnOK && g.MinBudgetRemaining != nil && g.WarnBudgetRemaining != nil &&
		*g.WarnBudgetRemaining < *g.MinBudgetRemaining {
		r.add(field(p, "warnBudgetRemaining"), "must be at least minBudgetRemaining (%s), got %s",
			formatFloat(*g.MinBudgetRemaining), formatFloat(*g.WarnBudgetRemaining))
	}

	if fb := g.FastBurn; fb != nil {
		fp := field(p, "fastBurn")
		switch {
		case r.root != nil && lookup(r.root, field(fp, "rate")) == nil:
			r.add(field(fp, "rate"), "required: a burn rate such as 14.4, or 0 to turn the condition off")
		case !(fb.Rate >= 0) || math.IsInf(fb.Rate, 1):
			r.add(field(fp, "rate"), "must be a burn rate of 0 or more (0 turns the condition off), got %s", formatFloat(fb.Rate))
		case fb.Rate > 0 && len(fb.Windows) == 0:
			r.add(field(fp, "windows"), "required when rate is above 0: burn-rate windows such as [1h, 5m]")
		}
		seen := map[model.Duration]int{}
		for i, w := range fb.Windows {
			wp := index(field(fp, "windows"), i)
			if !slices.Contains(BurnWindows, time.Duration(w)) {
				r.add(wp, "must be one of %s (the windows burn rates are computed over), got %s", burnWindowList(), w)
				continue
			}
			if first, dup := seen[w]; dup {
				r.add(wp, "duplicate window %s (also %s)", w, index(field(fp, "windows"), first))
				continue
			}
			seen[w] = i
		}
	}

	seenType := map[string]int{}
	for i, t := range g.AllowedChangeTypes {
		tp := index(field(p, "allowedChangeTypes"), i)
		if !changeTypeRE.MatchString(t) {
			r.add(tp, "must be a lowercase change type such as fix or revert, got %q", t)
			continue
		}
		if first, dup := seenType[t]; dup {
			r.add(tp, "duplicate change type %q (also %s)", t, index(field(p, "allowedChangeTypes"), first))
			continue
		}
		seenType[t] = i
	}

	seenEnv := map[string]int{}
	for i, e := range g.Environments {
		ep := index(field(p, "environments"), i)
		if e == "" || strings.ContainsFunc(e, unicode.IsSpace) {
			r.add(ep, "must be an environment name without spaces such as production, got %q", e)
			continue
		}
		key := strings.ToLower(e) // the gate matches environments case-insensitively
		if first, dup := seenEnv[key]; dup {
			r.add(ep, "duplicate environment %q (also %s)", e, index(field(p, "environments"), first))
			continue
		}
		seenEnv[key] = i
	}

	switch g.OnNoData {
	case "", OnNoDataShip, OnNoDataSlowDown:
	default:
		r.add(field(p, "onNoData"), "must be ship or slow_down, got %q", g.OnNoData)
	}
	checkCount(g.MinEvents, r, field(p, "minEvents"))
	checkCount(g.ImpactMinEvents, r, field(p, "impactMinEvents"))
	if g.MaxDataAge != nil {
		positive(*g.MaxDataAge, r, field(p, "maxDataAge"))
	}
	if g.MaxOverride != nil {
		positive(*g.MaxOverride, r, field(p, "maxOverride"))
		if *g.MaxOverride > MaxOverrideLimit {
			r.add(field(p, "maxOverride"), "must be at most 7d, got %s", *g.MaxOverride)
		}
	}
	if g.ImpactWindow != nil {
		positive(*g.ImpactWindow, r, field(p, "impactWindow"))
	}

	for i, f := range g.Freeze {
		fp := index(field(p, "freeze"), i)
		switch {
		case f.Schedule == "":
			r.add(field(fp, "schedule"), "required: the name of a schedule from the server config")
		case !nameRE.MatchString(f.Schedule) && f.Schedule != AlwaysName:
			r.add(field(fp, "schedule"), "must name a schedule from the server config, got %q", f.Schedule)
		}
		switch f.When {
		case "", FreezeWhenActive, FreezeWhenInactive:
		default:
			r.add(field(fp, "when"), "must be active or inactive, got %q", f.When)
		}
	}
}

// checkFreezeSchedules reports freeze rules naming a schedule that is not
// in known. Schedules in broken failed to compile and are reported where
// they are defined, so rules naming them are not reported again.
func checkFreezeSchedules(g *GatePolicy, names []string, broken map[string]bool, r *reporter, p string) {
	for i, f := range g.Freeze {
		if f.Schedule == "" || !nameRE.MatchString(f.Schedule) || broken[f.Schedule] || slices.Contains(names, f.Schedule) {
			continue
		}
		r.add(field(index(field(p, "freeze"), i), "schedule"), "unknown schedule %q; %s", f.Schedule, known("schedules", names))
	}
}

// checkServiceThresholds reports a gate section whose warning threshold
// ends up below its slow-down threshold once defaults fill the field the
// section leaves out: a service's against the server config's (or the
// built-in) defaults, the server config's against the built-in ones (pass
// an empty defaults). When the section sets both, validateGate has already
// checked them.
func checkServiceThresholds(g *GatePolicy, defaults *GatePolicy, r *reporter, p string) {
	if g == nil || (g.MinBudgetRemaining == nil) == (g.WarnBudgetRemaining == nil) {
		return
	}
	if g.MinBudgetRemaining != nil {
		warn, from := effectivePercent(defaults.WarnBudgetRemaining, DefaultWarnBudgetRemaining)
		if m := *g.MinBudgetRemaining; m >= 0 && m <= 100 && warn < m {
			r.add(field(p, "minBudgetRemaining"), "must be at most warnBudgetRemaining (%s, %s), got %s; set warnBudgetRemaining here too",
				formatFloat(warn), from, formatFloat(m))
		}
		return
	}
	mn, from := effectivePercent(defaults.MinBudgetRemaining, DefaultMinBudgetRemaining)
	if w := *g.WarnBudgetRemaining; w >= 0 && w <= 100 && w < mn {
		r.add(field(p, "warnBudgetRemaining"), "must be at least minBudgetRemaining (%s, %s), got %s; set minBudgetRemaining here too",
			formatFloat(mn), from, formatFloat(w))
	}
}

func effectivePercent(set *float64, def float64) (float64, string) {
	if set != nil {
		return *set, "from the server config"
	}
	return def, "the default"
}

func checkPercent(v *float64, r *reporter, p string) bool {
	if v != nil && !(*v >= 0 && *v <= 100) {
		r.add(p, "must be a percentage between 0 and 100, got %s", formatFloat(*v))
		return false
	}
	return true
}

func checkCount(v *float64, r *reporter, p string) {
	if v != nil && (!(*v >= 0) || math.IsInf(*v, 1)) {
		r.add(p, "must be a number of events of 0 or more, got %s", formatFloat(*v))
	}
}

// validateAuth checks the tokens and lowercases their hashes, so the API
// can compare them as they are. A problem never shows a sha256 value: a
// token pasted there by mistake must not end up in logs.
func validateAuth(a *Auth, r *reporter, p string) {
	names := map[string]int{}
	hashes := map[string]int{}
	canRead := false
	for i := range a.Tokens {
		t := &a.Tokens[i]
		tp := index(field(p, "tokens"), i)
		uniqueName(t.Name, names, field(p, "tokens"), i, r, false)
		switch {
		case t.SHA256 == "":
			r.add(field(tp, "sha256"), "required: the token's SHA-256 as 64 hex digits (printf %%s \"$TOKEN\" | sha256sum)")
		case !hexRE.MatchString(t.SHA256):
			r.add(field(tp, "sha256"), "must be the token's SHA-256 as 64 hex digits (printf %%s \"$TOKEN\" | sha256sum), got %d characters (not shown: they may be the token itself)", len(t.SHA256))
		default:
			t.SHA256 = strings.ToLower(t.SHA256)
			if first, dup := hashes[t.SHA256]; dup {
				r.add(field(tp, "sha256"), "same hash as %s: each token needs its own", index(field(p, "tokens"), first))
			} else {
				hashes[t.SHA256] = i
			}
		}
		if len(t.Scopes) == 0 {
			r.add(field(tp, "scopes"), "required: at least one of %s", strings.Join(scopes, ", "))
		}
		seen := map[string]int{}
		for j, s := range t.Scopes {
			sp := index(field(tp, "scopes"), j)
			if !slices.Contains(scopes, s) {
				r.add(sp, "must be one of %s, got %q", strings.Join(scopes, ", "), s)
				continue
			}
			if first, dup := seen[s]; dup {
				r.add(sp, "duplicate scope %q (also %s)", s, index(field(tp, "scopes"), first))
				continue
			}
			seen[s] = j
			canRead = canRead || s == ScopeRead
		}
		teams := map[string]int{}
		for j, team := range t.Teams {
			jp := index(field(tp, "teams"), j)
			if strings.TrimSpace(team) == "" {
				r.add(jp, "must not be empty: name a team as the specs' owner.team does")
				continue
			}
			if first, dup := teams[team]; dup {
				r.add(jp, "duplicate team %q (also %s)", team, index(field(tp, "teams"), first))
				continue
			}
			teams[team] = j
		}
	}
	if a.ReadsNeedToken && !canRead {
		r.add(field(p, "readsNeedToken"), "no token has scope %s, so every read would be refused; add the scope to a token", ScopeRead)
	}
}
