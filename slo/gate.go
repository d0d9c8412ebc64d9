package slo

import "github.com/prometheus/common/model"

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
	// Windows are burn-rate windows such as 1h and 5m; each must be one of
	// the computed windows (5m, 30m, 1h, 2h, 6h, 1d, 3d).
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
	ScopeRead         = "read"
	ScopeDeployWrite  = "deploy:write"
	ScopeGateOverride = "gate:override"
)

// Token is one accepted bearer token.
type Token struct {
	// Name identifies the token in the audit log (e.g. "github-actions").
	Name string `yaml:"name"`
	// SHA256 is the hex SHA-256 of the token (`printf %s "$TOKEN" |
	// sha256sum`); the token itself is never stored.
	SHA256 string `yaml:"sha256"`
	// Scopes are what the token may do: read, deploy:write,
	// gate:override.
	Scopes []string `yaml:"scopes"`
}
