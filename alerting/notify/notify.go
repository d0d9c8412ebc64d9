// Package notify owns what a notification says and how it is delivered
// to one receiver: the Message every notifier renders, the Notifier
// interface the outbox calls, and the one shared rule deciding from a
// receiver's answer whether a failed delivery is worth retrying. Each kind
// of receiver lives in its own sub-package with its config.go.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kind says what happened to the alert a Message is about.
type Kind string

// The kinds of Message.
const (
	// KindTrigger opens (or repeats) an alert.
	KindTrigger Kind = "trigger"
	// KindResolve closes the alert opened under the same DedupKey.
	KindResolve Kind = "resolve"
	// KindChange records a change, such as a deploy, that is not a problem.
	KindChange Kind = "change"
)

// Severity says how urgently a person must act.
type Severity string

// The severities of Message.
const (
	// SeverityPage wakes someone up.
	SeverityPage Severity = "page"
	// SeverityTicket can wait for working hours.
	SeverityTicket Severity = "ticket"
)

// Notifier delivers one Message to one receiver. retry reports whether a
// failed delivery may succeed if repeated (a timeout, 429 or 5xx) rather
// than being refused for good (any other 4xx). Errors never contain the
// receiver's secrets. Implementations are safe for concurrent use.
type Notifier interface {
	Notify(ctx context.Context, m *Message) (retry bool, err error)
}

// Message is everything a notification carries. It is stored as JSON in
// the outbox and is the body of the generic webhook, so its JSON names are
// a public schema: add fields, never rename them.
type Message struct {
	// Kind is trigger, resolve or change.
	Kind Kind `json:"kind"`
	// DedupKey is the same for every message about one alert, so a
	// receiver can group a trigger, its repeats and its resolve.
	DedupKey string `json:"dedup_key"`
	// Service is the service whose SLOs are burning.
	Service string `json:"service"`
	// SLOs names the SLOs concerned.
	SLOs []string `json:"slos,omitempty"`
	// Severity is page or ticket; empty for a change.
	Severity Severity `json:"severity,omitempty"`
	// Summary is one line a person reads first.
	Summary string `json:"summary"`
	// BurnRates are the multiwindow burn rates that fired the alert.
	BurnRates []BurnRate `json:"burn_rates,omitempty"`
	// BudgetRemaining is the fraction of the error budget left in the
	// SLO window, 1 for untouched, negative once overspent.
	BudgetRemaining float64 `json:"budget_remaining"`
	// ExhaustsAt is when the budget runs out at the current burn rate;
	// zero when it does not.
	ExhaustsAt time.Time `json:"exhausts_at,omitzero"`
	// Team owns the service; Owner is the person or group accountable
	// for the SLO.
	Team  string `json:"team,omitempty"`
	Owner string `json:"owner,omitempty"`
	// OnCall is the developer on call when the message was made.
	OnCall string `json:"on_call,omitempty"`
	// RunbookURL says what to do.
	RunbookURL string `json:"runbook_url,omitempty"`
	// UIURL links to the SLO's page in slogate's UI.
	UIURL string `json:"ui_url,omitempty"`
	// Deploy is the deploy suspected of causing the burn, or, for a
	// change message, the deploy being recorded.
	Deploy *Deploy `json:"deploy,omitempty"`
	// StartedAt is when the alert started; EndedAt when it resolved.
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Lasted and BudgetSpent say, on a resolve, how long the alert
	// lasted and what fraction of the whole error budget it spent.
	Lasted      Duration `json:"lasted,omitzero"`
	BudgetSpent float64  `json:"budget_spent,omitempty"`
	// Repeat counts how often this trigger was sent before: 0 for the
	// first, 1 for the first reminder of an unacknowledged page, and so on.
	Repeat int `json:"repeat,omitempty"`
	// Mentions are people to call out by name in this receiver's message,
	// such as the author of the suspect deploy in the team's channel.
	Mentions []Mention `json:"mentions,omitempty"`
}

// Mention is a person called out in a message.
type Mention struct {
	// Person names them in the people directory.
	Person string `json:"person"`
	// Slack is their Slack user id, for an @-mention; may be empty.
	Slack string `json:"slack,omitempty"`
	// Reason says why they are called out.
	Reason string `json:"reason,omitempty"`
}

// BurnRate is the burn rate over one pair of windows of a multiwindow
// alert, as multiples of the rate that exactly spends the budget.
type BurnRate struct {
	LongWindow  Duration `json:"long_window"`
	ShortWindow Duration `json:"short_window"`
	Long        float64  `json:"long"`
	Short       float64  `json:"short"`
	// Threshold is the burn rate both windows had to exceed.
	Threshold float64 `json:"threshold"`
}

// Deploy describes one deploy of a service.
type Deploy struct {
	Version string    `json:"version,omitempty"`
	Commit  string    `json:"commit,omitempty"`
	Author  string    `json:"author,omitempty"`
	At      time.Time `json:"at,omitzero"`
	// Impact is the deploy's impact class, such as "regression".
	Impact string `json:"impact,omitempty"`
}

// Validate reports the first thing that makes m unsendable.
func (m *Message) Validate() error {
	switch m.Kind {
	case KindTrigger, KindResolve, KindChange:
	default:
		return fmt.Errorf("cannot send message of kind %q: want trigger, resolve or change", m.Kind)
	}
	if m.Service == "" {
		return fmt.Errorf("cannot send %s message without a service", m.Kind)
	}
	if m.Kind != KindChange && m.DedupKey == "" {
		return fmt.Errorf("cannot send %s message for %s without a dedup key", m.Kind, m.Service)
	}
	if m.Kind == KindChange && m.Deploy == nil {
		return fmt.Errorf("cannot send change message for %s without a deploy", m.Service)
	}
	return nil
}

// Title is the one-line subject of m: what happened, where, how bad.
func (m *Message) Title() string {
	slos := strings.Join(m.SLOs, ", ")
	if slos == "" {
		slos = m.Service
	} else {
		slos = m.Service + " " + slos
	}
	switch m.Kind {
	case KindResolve:
		return fmt.Sprintf("[RESOLVED] %s: %s", slos, m.Summary)
	case KindChange:
		return fmt.Sprintf("[CHANGE] %s: %s", m.Service, m.Summary)
	default:
		return fmt.Sprintf("[%s] %s: %s", strings.ToUpper(string(m.Severity)), slos, m.Summary)
	}
}

// Text renders m as plain text, one fact a line, for receivers without
// structure (email, Slack's fallback text). It leaves out what is unknown.
func (m *Message) Text() string {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-17s "+format+"\n", append([]any{label + ":"}, args...)...)
	}
	b.WriteString(m.Title() + "\n\n")
	line("Service", "%s", m.Service)
	if len(m.SLOs) > 0 {
		line("SLO", "%s", strings.Join(m.SLOs, ", "))
	}
	if m.Severity != "" {
		line("Severity", "%s", m.Severity)
	}
	for _, r := range m.BurnRates {
		line("Burn rate", "%.1fx over %s, %.1fx over %s (threshold %.1fx)",
			r.Long, r.LongWindow, r.Short, r.ShortWindow, r.Threshold)
	}
	if m.Kind != KindChange {
		line("Budget remaining", "%.1f%%", m.BudgetRemaining*100)
	}
	if !m.ExhaustsAt.IsZero() {
		line("Budget exhausted", "%s", m.ExhaustsAt.UTC().Format(time.RFC3339))
	}
	if m.Team != "" {
		line("Team", "%s", m.Team)
	}
	if m.Owner != "" {
		line("Owner", "%s", m.Owner)
	}
	if m.OnCall != "" {
		line("On call", "%s", m.OnCall)
	}
	if m.RunbookURL != "" {
		line("Runbook", "%s", m.RunbookURL)
	}
	if m.UIURL != "" {
		line("SLO page", "%s", m.UIURL)
	}
	if d := m.Deploy; d != nil {
		line("Deploy", "%s", d.String())
	}
	if !m.StartedAt.IsZero() {
		line("Started", "%s", m.StartedAt.UTC().Format(time.RFC3339))
	}
	if !m.EndedAt.IsZero() {
		line("Ended", "%s", m.EndedAt.UTC().Format(time.RFC3339))
	}
	if m.Lasted != 0 {
		line("Lasted", "%s", m.Lasted)
	}
	for _, p := range m.Mentions {
		line("Attention", "%s (%s)", p.Person, p.Reason)
	}
	if m.BudgetSpent != 0 {
		line("Budget spent", "%.1f%%", m.BudgetSpent*100)
	}
	return b.String()
}

// String renders d on one line: version, commit, author, time and impact.
func (d *Deploy) String() string {
	var parts []string
	if d.Version != "" {
		parts = append(parts, d.Version)
	}
	if d.Commit != "" {
		parts = append(parts, "commit "+d.Commit)
	}
	if d.Author != "" {
		parts = append(parts, "by "+d.Author)
	}
	if !d.At.IsZero() {
		parts = append(parts, "at "+d.At.UTC().Format(time.RFC3339))
	}
	if d.Impact != "" {
		parts = append(parts, "impact "+d.Impact)
	}
	return strings.Join(parts, ", ")
}

// Duration is a time.Duration that reads and writes JSON as Go duration
// text ("1h0m0s"), which people and other languages can read.
type Duration time.Duration

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a JSON string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string such as "5m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("cannot read duration %s: want a string such as \"5m\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("cannot read duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}
