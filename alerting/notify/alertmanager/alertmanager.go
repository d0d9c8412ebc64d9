// Package alertmanager delivers notifications to a Prometheus Alertmanager
// through POST /api/v2/alerts, for teams whose routing, silencing and
// paging already live there.
//
// A message becomes one alert per SLO, labelled alertname, service, slo,
// severity (page or ticket), team and owner, and annotated with the
// summary, the full text, runbook_url, dashboard (the SLO page), the burn
// rates, budget remaining, forecast exhaustion, on-call person and suspect
// deploy. generatorURL is the SLO page.
//
// Alertmanager forgets an alert at its endsAt, so, like Prometheus, a
// firing alert is sent with endsAt four Resend intervals ahead and must be
// sent again at least every Resend while it fires; missing three resends
// in a row does not resolve it. A resolve sends endsAt as the time the
// alert ended. Change messages have no Alertmanager equivalent and are
// dropped.
package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Alert is one postable alert of Alertmanager's API v2.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Notifier posts alerts to one Alertmanager. It is safe for concurrent use.
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

// Resend is how often the caller must send a firing alert again so that
// Alertmanager keeps it firing.
func (n *Notifier) Resend() time.Duration { return n.cfg.Resend }

// Notify posts m's alerts.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) (bool, error) {
	if m.Kind == notify.KindChange {
		return false, nil
	}
	body, err := json.Marshal(n.Alerts(m, n.now()))
	if err != nil {
		return false, fmt.Errorf("alertmanager: encode alerts: %w", err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if n.cfg.BearerToken != "" {
		h.Set("Authorization", "Bearer "+string(n.cfg.BearerToken))
	}
	target := strings.TrimRight(n.cfg.URL, "/") + "/api/v2/alerts"
	retry, err := notify.Post(ctx, n.client, target, h, body, n.now, n.cfg.BearerToken)
	if err != nil {
		return retry, fmt.Errorf("alertmanager %s %s: %w", m.Kind, m.DedupKey, err)
	}
	return false, nil
}

// Alerts renders m as the alerts sent at now.
func (n *Notifier) Alerts(m *notify.Message, now time.Time) []Alert {
	ends := now.Add(4 * n.cfg.Resend)
	if m.Kind == notify.KindResolve {
		ends = m.EndedAt
		if ends.IsZero() {
			ends = now
		}
	}
	starts := m.StartedAt
	if starts.IsZero() {
		starts = now
	}
	ann := annotations(m)
	slos := m.SLOs
	if len(slos) == 0 {
		slos = []string{""}
	}
	var alerts []Alert
	for _, slo := range slos {
		labels := map[string]string{"alertname": n.cfg.AlertName}
		for k, v := range map[string]string{"service": m.Service, "slo": slo, "severity": string(m.Severity), "team": m.Team, "owner": m.Owner} {
			if v != "" {
				labels[k] = v
			}
		}
		alerts = append(alerts, Alert{Labels: labels, Annotations: ann, StartsAt: starts.UTC(), EndsAt: ends.UTC(), GeneratorURL: m.UIURL})
	}
	return alerts
}

func annotations(m *notify.Message) map[string]string {
	a := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set("summary", m.Summary)
	set("description", m.Text())
	set("runbook_url", m.RunbookURL)
	set("dashboard", m.UIURL)
	set("dedup_key", m.DedupKey)
	set("on_call", m.OnCall)
	set("budget_remaining", fmt.Sprintf("%.4f", m.BudgetRemaining))
	var burns []string
	for _, r := range m.BurnRates {
		burns = append(burns, fmt.Sprintf("%.2fx over %s, %.2fx over %s", r.Long, r.LongWindow, r.Short, r.ShortWindow))
	}
	set("burn_rate", strings.Join(burns, "; "))
	if !m.ExhaustsAt.IsZero() {
		set("exhausts_at", m.ExhaustsAt.UTC().Format(time.RFC3339))
	}
	if m.Deploy != nil {
		set("suspect_deploy", m.Deploy.String())
	}
	if m.Lasted != 0 {
		set("lasted", m.Lasted.String())
	}
	if m.BudgetSpent != 0 {
		set("budget_spent", fmt.Sprintf("%.4f", m.BudgetSpent))
	}
	return a
}
