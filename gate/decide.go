package gate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Request is a pipeline's question: may this change to this service go out
// to this environment now?
type Request struct {
	// Service names the service.
	Service string
	// Env is the target environment; empty means the policy's first gated
	// environment.
	Env string
	// Version and Commit identify the change, for the answer and records.
	Version string
	Commit  string
	// ChangeType is the change's type (fix, revert, feat, ...); a trailing
	// "!" marks it breaking. When empty the type is parsed from Message.
	ChangeType string
	// Message is the commit message, parsed as a Conventional Commit.
	Message string
}

// Override lets a service's changes ship despite a slow-down, for a while
// and for a reason that is kept.
type Override struct {
	// ID identifies the override in its store.
	ID int64 `json:"id"`
	// Service is the service it applies to.
	Service string `json:"service"`
	// Env limits it to one environment; empty means every environment.
	Env string `json:"env,omitempty"`
	// Reason says why, for the audit log and answers.
	Reason string `json:"reason"`
	// By names who asked for it.
	By string `json:"by"`
	// Token names the API token it was created with.
	Token string `json:"token,omitempty"`
	// CreatedAt is when it starts.
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when it ends by itself.
	ExpiresAt time.Time `json:"expires_at"`
	// EndedAt is when it was ended early, if it was.
	EndedAt *time.Time `json:"ended_at,omitempty"`
}

// ActiveAt reports whether o lets deploys to env through at now: created
// by now, not yet expired, not ended early, and for env (environments
// match case-insensitively; an override without Env covers all). It does
// not allocate.
func (o *Override) ActiveAt(now time.Time, env string) bool {
	if o == nil || now.Before(o.CreatedAt) || !now.Before(o.ExpiresAt) {
		return false
	}
	if o.EndedAt != nil && !now.Before(*o.EndedAt) {
		return false
	}
	return o.Env == "" || strings.EqualFold(o.Env, env)
}

// Answer is the gate's answer to one Request.
type Answer struct {
	// Service and Env are what the answer is about; Env is the resolved
	// environment when the request named none.
	Service string `json:"service"`
	Env     string `json:"env"`
	// Version and Commit repeat the request's.
	Version string `json:"version,omitempty"`
	Commit  string `json:"commit,omitempty"`
	// Decision is the real decision: SlowDown when the budget says so, or
	// when a freeze is in force and the change is not exempt; Ship
	// otherwise, and always Ship for environments that are not gated.
	Decision string `json:"decision"`
	// Allowed says whether this change may go out now: on Ship, on
	// SlowDown for an exempt change or under an active override, and
	// always in shadow mode.
	Allowed bool `json:"allowed"`
	// WouldBlock is true when an enforcing gate blocks (or, in shadow
	// mode, would block) this change.
	WouldBlock bool `json:"would_block"`
	// Enforced is false in shadow mode.
	Enforced bool `json:"enforced"`
	// Gated reports whether Env is gated.
	Gated bool `json:"gated"`
	// ChangeType is the change's type, "" when unknown.
	ChangeType string `json:"change_type"`
	// Breaking marks a breaking change, which is never exempt.
	Breaking bool `json:"breaking"`
	// Exempt reports whether the change type may ship during a slow-down.
	Exempt bool `json:"exempt"`
	// Freeze is the reason of the freeze in force, if one is.
	Freeze string `json:"freeze,omitempty"`
	// Reasons explain a slow-down, one sentence each; Warnings say what
	// else is off. Never nil.
	Reasons  []string `json:"reasons"`
	Warnings []string `json:"warnings"`
	// SLOs summarizes the service's SLOs.
	SLOs []SLOSummary `json:"slos"`
	// Override is the active override, if any.
	Override *Override `json:"override"`
	// Data names the SLOs whose data is stale or missing.
	Data struct {
		Stale []string `json:"stale"`
	} `json:"data"`
	// EvaluatedAt is when the budgets were evaluated.
	EvaluatedAt time.Time `json:"evaluated_at"`
	// Policy is the policy applied.
	Policy *Policy `json:"policy"`
	// URL links to the service's page; Decide leaves it empty for the
	// caller, which knows the external URL.
	URL string `json:"url,omitempty"`
}

// Decide answers req from the service's policy p, its verdict v (judged
// under p), the service's active override ov (nil if none; one that is not
// active at now for the request's environment is ignored) and now. It
// overwrites every field of out. It does not allocate: the answer shares
// v's slices (treat them as read-only), and the reasons for a freeze were
// prepared by Judge. It is safe for concurrent use with distinct outs.
//
// The change type is req.ChangeType when set (lowercased; a trailing "!"
// marks it breaking), otherwise parsed from req.Message; a breaking
// footer in the message makes any change breaking. A breaking change is
// never exempt: it is exactly what a slow-down should hold back.
func Decide(p *Policy, v *Verdict, req *Request, ov *Override, now time.Time, out *Answer) {
	typ, breaking := requestChangeType(req)
	env := p.Environment(req.Env)
	gated := p.Gated(env)
	exempt := !breaking && p.Exempt(typ)

	decision, reasons := v.Decision, v.Reasons
	freeze := ""
	if i := p.freezeIndex(now); i >= 0 {
		freeze = p.Freeze[i].Reason
		if gated && !exempt {
			decision = SlowDown
			if i < len(v.freezeReasons) {
				reasons = v.freezeReasons[i]
			}
		}
	}
	if !gated {
		decision = Ship
	}
	if ov != nil && (ov.Service != v.Service || !ov.ActiveAt(now, env)) {
		ov = nil
	}
	wouldBlock := decision == SlowDown && !exempt && ov == nil

	*out = Answer{
		Service: v.Service, Env: env, Version: req.Version, Commit: req.Commit,
		Decision: decision, Allowed: !wouldBlock || !p.Enforce, WouldBlock: wouldBlock,
		Enforced: p.Enforce, Gated: gated,
		ChangeType: typ, Breaking: breaking, Exempt: exempt, Freeze: freeze,
		Reasons: reasons, Warnings: v.Warnings, SLOs: v.SLOs, Override: ov,
		EvaluatedAt: v.EvaluatedAt, Policy: p,
	}
	out.Data.Stale = v.Stale
}

// requestChangeType returns the request's change type and whether it is
// breaking.
func requestChangeType(req *Request) (typ string, breaking bool) {
	if req.ChangeType != "" {
		typ, breaking, _ = NormalizeChangeType(req.ChangeType)
	}
	if req.Message != "" {
		parsed, b := ParseChangeType(req.Message)
		if typ == "" {
			typ = parsed
		}
		breaking = breaking || b
	}
	return typ, breaking
}

// ErrChangeType is wrapped by NormalizeChangeType's errors.
var ErrChangeType = errors.New("change type must be a word of letters such as fix, feat or revert, optionally followed by ! for a breaking change")

// NormalizeChangeType turns a change type given explicitly (an API field
// or CLI flag) into the form the gate compares: lowercase, aliases mapped
// as ParseChangeType maps them (hotfix and bugfix are fix, feature is
// feat), and a trailing "!" reported as breaking. It does not allocate for
// lowercase or known types. An empty or malformed type returns "" and an
// error wrapping ErrChangeType, for a 400 that names the field.
func NormalizeChangeType(s string) (typ string, breaking bool, err error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "!") {
		breaking, s = true, s[:len(s)-1]
	}
	if s == "" || len(s) > maxTypeLen || !allLetters(s) {
		return "", breaking, fmt.Errorf("%w; got %q", ErrChangeType, s)
	}
	return lowerType(s), breaking, nil
}
