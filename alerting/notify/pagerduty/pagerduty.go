// Package pagerduty delivers notifications through PagerDuty's Events API
// v2: triggers and resolves as alert events sharing the message's dedup
// key, and deploy records as change events.
//
// A page becomes severity critical and a ticket warning. The payload's
// source is the service, its component the SLOs, its group the team and
// its class "slo-burn"; every other fact of the message goes into
// custom_details, and the SLO page and runbook become links. A resolve
// carries only the routing key, action and dedup key, which is all
// PagerDuty reads from one.
package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Limits PagerDuty puts on fields; longer values are rejected with 400.
const (
	maxSummary  = 1024
	maxDedupKey = 255
)

// Event is an Events API v2 alert event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key,omitempty"`
	Payload     *Payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
	Links       []Link   `json:"links,omitempty"`
}

// Payload is the body of a trigger or change event.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity,omitempty"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is a link shown on the alert.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// ChangeEvent is an Events API v2 change event.
type ChangeEvent struct {
	RoutingKey string   `json:"routing_key"`
	Payload    *Payload `json:"payload"`
	Links      []Link   `json:"links,omitempty"`
}

// Notifier sends to one PagerDuty integration. It is safe for concurrent use.
type Notifier struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns its Notifier.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return &Notifier{cfg: cfg, client: notify.Client(cfg.Timeout), now: time.Now}, nil
}

// Notify sends m as an alert event, or as a change event if it is a change.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) (bool, error) {
	url, ev := n.cfg.URL, any(n.Event(m))
	if m.Kind == notify.KindChange {
		url, ev = n.cfg.ChangeURL, n.ChangeEvent(m)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("pagerduty: encode %s event: %w", m.Kind, err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	retry, err := notify.Post(ctx, n.client, url, h, body, n.now, n.cfg.RoutingKey)
	if err != nil {
		return retry, fmt.Errorf("pagerduty %s %s: %w", m.Kind, m.DedupKey, err)
	}
	return false, nil
}

// Event renders a trigger or resolve m as an alert event.
func (n *Notifier) Event(m *notify.Message) *Event {
	ev := &Event{RoutingKey: string(n.cfg.RoutingKey), EventAction: "trigger", DedupKey: DedupKey(m.DedupKey)}
	if m.Kind == notify.KindResolve {
		ev.EventAction = "resolve"
		return ev
	}
	sev := "warning"
	if m.Severity == notify.SeverityPage {
		sev = "critical"
	}
	ev.Client, ev.ClientURL = n.cfg.Client, n.cfg.ClientURL
	ev.Payload = &Payload{
		Summary:       truncate(m.Title(), maxSummary),
		Source:        n.source(m),
		Severity:      sev,
		Component:     strings.Join(m.SLOs, ","),
		Group:         m.Team,
		Class:         "slo-burn",
		CustomDetails: details(m),
	}
	if !m.StartedAt.IsZero() {
		ev.Payload.Timestamp = m.StartedAt.UTC().Format(time.RFC3339)
	}
	ev.Links = links(m)
	return ev
}

// ChangeEvent renders a change m, a deploy record, as a change event.
func (n *Notifier) ChangeEvent(m *notify.Message) *ChangeEvent {
	p := &Payload{Summary: truncate(m.Summary, maxSummary), Source: n.source(m), CustomDetails: map[string]any{}}
	if d := m.Deploy; d != nil {
		if !d.At.IsZero() {
			p.Timestamp = d.At.UTC().Format(time.RFC3339)
		}
		for k, v := range map[string]string{"version": d.Version, "commit": d.Commit, "author": d.Author, "impact": d.Impact} {
			if v != "" {
				p.CustomDetails[k] = v
			}
		}
	}
	if m.Team != "" {
		p.CustomDetails["team"] = m.Team
	}
	return &ChangeEvent{RoutingKey: string(n.cfg.RoutingKey), Payload: p, Links: links(m)}
}

func (n *Notifier) source(m *notify.Message) string {
	if m.Service != "" {
		return m.Service
	}
	return n.cfg.Source
}

// details lists the facts PagerDuty shows under the alert. Keys are the
// Message's JSON names, so they read the same as the webhook's.
func details(m *notify.Message) map[string]any {
	d := map[string]any{"service": m.Service, "severity": string(m.Severity), "budget_remaining": m.BudgetRemaining}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set("slos", strings.Join(m.SLOs, ", "))
	set("team", m.Team)
	set("owner", m.Owner)
	set("on_call", m.OnCall)
	set("runbook_url", m.RunbookURL)
	set("ui_url", m.UIURL)
	if len(m.BurnRates) > 0 {
		d["burn_rates"] = m.BurnRates
	}
	if !m.ExhaustsAt.IsZero() {
		d["exhausts_at"] = m.ExhaustsAt.UTC().Format(time.RFC3339)
	}
	if m.Deploy != nil {
		d["deploy"] = m.Deploy
	}
	return d
}

func links(m *notify.Message) []Link {
	var ls []Link
	if m.UIURL != "" {
		ls = append(ls, Link{Href: m.UIURL, Text: "SLO page"})
	}
	if m.RunbookURL != "" {
		ls = append(ls, Link{Href: m.RunbookURL, Text: "Runbook"})
	}
	return ls
}

// DedupKey returns key if PagerDuty accepts its length, otherwise a hash
// of it: stable, so a resolve still matches its trigger.
func DedupKey(key string) string {
	if len(key) <= maxDedupKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut at a rune boundary so the JSON stays valid UTF-8.
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
