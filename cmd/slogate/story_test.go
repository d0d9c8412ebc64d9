package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify/pagerduty"
	"github.com/slogate/slogate/alerting/notify/slack"
	gateapi "github.com/slogate/slogate/gate/api"
)

// fastClock runs simulated time speed times faster than real time from
// start, so an incident of an hour plays in a minute.
type fastClock struct {
	start, real time.Time
	speed       float64
}

func (c *fastClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.real)) * c.speed))
}

// until sleeps until the simulated clock reaches t.
func (c *fastClock) until(t time.Time) {
	if d := t.Sub(c.Now()); d > 0 {
		time.Sleep(time.Duration(float64(d) / c.speed))
	}
}

// capture is a local receiver keeping every request's path and body.
type capture struct {
	mu   sync.Mutex
	reqs []captured
	srv  *httptest.Server
}

type captured struct {
	path string
	body []byte
	at   time.Time // on the simulated clock
}

func newCapture(t *testing.T, clock *fastClock, status int, answer string) *capture {
	c := &capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, captured{path: r.URL.Path, body: b, at: clock.Now()})
		c.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) all() []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.reqs...)
}

// TestAlertStory plays issue 4's story end to end over real HTTP, on a
// clock running 60 times faster than real time. The checkout team lists
// its developers and a weekly rotation; Alice is on call. At 14:02 a
// deploy by Bob starts failing 8% of checkout requests. Alice gets a
// PagerDuty page, the team's Slack channel a message mentioning Bob,
// with the burn, budget left, forecast, suspect deploy, runbook and SLO
// link. The gate slows features down but lets the revert through; the
// page resolves with the budget the incident cost. The same burn on a
// business-hours service, where it is 3 am, wakes nobody.
func TestAlertStory(t *testing.T) {
	// Wednesday 25 November 2026, 13:50 UTC: Alice's week on call. In
	// Auckland (UTC+13) it is 02:50 on Thursday.
	clock := &fastClock{start: time.Date(2026, 11, 25, 13, 50, 0, 0, time.UTC), real: time.Now(), speed: 60}
	deployAt := time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC)
	var revertAt atomic.Int64 // Unix minute the revert went out; 0 before

	pd := newCapture(t, clock, http.StatusAccepted, `{"status":"success","message":"Event processed"}`)
	slk := newCapture(t, clock, http.StatusOK, "ok")

	const deployToken = "story-deploy-token"
	dir := writeFiles(t, map[string]string{
		"specs/checkout.yaml": `name: checkout
owner: {team: checkout}
runbook: https://runbooks.example.com/checkout
slos:
  - {name: availability, objective: 99.9, window: 28d, sli: {push: {}}}
`,
		"specs/b2b-portal.yaml": `name: b2b-portal
owner: {team: b2b}
runbook: https://runbooks.example.com/b2b-portal
slos:
  - {name: availability, objective: 99.9, window: 28d, schedule: auckland-business-hours, sli: {push: {}}}
`,
		"slogate.yaml": fmt.Sprintf(`listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
externalURL: https://slogate.example.com
gate:
  fastBurn: {rate: 14.4, windows: [1h, 5m]}
  allowedChangeTypes: [fix, revert]
auth:
  tokens:
    - {name: ci, sha256: %s, scopes: [deploy:write]}
schedules:
  - name: auckland-business-hours
    timeZone: Pacific/Auckland
    weekly: [{days: [mon-fri], hours: ["09:00-17:00"]}]
alerting:
  pagerdutyURL: %s/v2/enqueue
people:
  - {name: alice, email: alice@example.com, slack: U0ALICE, pagerduty: alice-routing-key}
  - {name: bob, email: bob@example.com, slack: U0BOB}
  - {name: carol, email: carol@example.com, pagerduty: carol-routing-key}
teams:
  - name: checkout
    members: [alice, bob, carol]
    channel: checkout-slack
    rotation: {members: [alice, carol], shift: 7d, timeZone: Europe/Berlin, start: 2026-11-23}
  - name: b2b
    members: [carol]
    channel: b2b-slack
    rotation: {members: [carol], timeZone: Pacific/Auckland}
receivers:
  - {name: checkout-slack, type: slack, url: %s/checkout}
  - {name: b2b-slack, type: slack, url: %s/b2b}
`, gateapi.HashToken(deployToken), pd.srv.URL, slk.srv.URL, slk.srv.URL),
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, serveOptions{config: filepath.Join(dir, "slogate.yaml"), logLevel: "warn", logFormat: "text", now: clock.Now},
			func(a string) { addrc <- a })
	}()
	base := "http://" + <-addrc
	waitFor(t, 20*time.Second, "readiness", func() bool { return getJSON(t, base+"/readyz", nil) == http.StatusOK })

	// Traffic: 1000 requests a minute to each service, from 28 days back
	// so the window is full; 8% fail from Bob's deploy until the revert.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := clock.start.Add(-28 * 24 * time.Hour)
		for ctx.Err() == nil {
			var evs []string
			for ; len(evs) < 4000 && !next.After(clock.Now().Add(-time.Minute)); next = next.Add(time.Minute) {
				bad := 0
				if r := revertAt.Load(); !next.Before(deployAt) && (r == 0 || next.Unix() < r) {
					bad = 80
				}
				for _, svc := range []string{"checkout", "b2b-portal"} {
					evs = append(evs, fmt.Sprintf(`{"service":%q,"slo":"availability","good":%d,"total":1000,"timestamp":%q}`,
						svc, 1000-bad, next.Format(time.RFC3339)))
				}
			}
			if len(evs) > 0 {
				if code, body := postJSON(t, base+"/api/v1/events", "["+strings.Join(evs, ",")+"]"); code != http.StatusOK {
					t.Errorf("push: got %d %v", code, body)
					return
				}
			}
			if len(evs) >= 4000 {
				continue // catching up on history
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	defer wg.Wait()
	defer cancel()

	// 14:02: Bob's deploy.
	clock.until(deployAt)
	if code, body := request(t, "POST", base+"/api/v1/deploys", deployToken, fmt.Sprintf(
		`{"service":"checkout","version":"v1.42.0","commit":"abc1234","author":"bob@example.com","message":"feat: one-click checkout","started_at":%q}`,
		deployAt.Format(time.RFC3339))); code != http.StatusCreated {
		t.Fatalf("record deploy: got %d %v", code, body)
	}

	// The page reaches Alice's PagerDuty.
	var page pagerduty.Event
	var pagedAt time.Time
	waitFor(t, 60*time.Second, "a page at Alice's PagerDuty", func() bool {
		for _, r := range pd.all() {
			var ev pagerduty.Event
			if r.path == "/v2/enqueue" && json.Unmarshal(r.body, &ev) == nil && ev.EventAction == "trigger" {
				page, pagedAt = ev, r.at
				return true
			}
		}
		return false
	})
	t.Logf("paged %s after the deploy (simulated): %s", pagedAt.Sub(deployAt).Round(time.Second), page.Payload.Summary)
	if d := pagedAt.Sub(deployAt); d > 15*time.Minute {
		t.Errorf("paged %s after the deploy; the 1h/5m rule spends 2%% of the budget at 80x in about 10 minutes", d)
	}
	det := page.Payload.CustomDetails
	if page.RoutingKey != "alice-routing-key" || page.Payload.Severity != "critical" || page.DedupKey == "" ||
		det["on_call"] != "alice" || det["runbook_url"] != "https://runbooks.example.com/checkout" ||
		det["burn_rates"] == nil || det["budget_remaining"] == nil || det["exhausts_at"] == nil {
		t.Errorf("page %+v: want Alice's routing key, critical, on-call alice, runbook, burn rates, budget and forecast", page)
	}
	deploy, _ := det["deploy"].(map[string]any)
	if deploy["version"] != "v1.42.0" || deploy["author"] != "bob@example.com" || deploy["commit"] != "abc1234" || deploy["impact"] != "degraded" {
		t.Errorf("page names deploy %v, want v1.42.0 by bob, degraded", det["deploy"])
	}
	if !strings.Contains(fmt.Sprint(page.Links), "https://slogate.example.com/services/checkout/slos/availability") {
		t.Errorf("page links %v, want the SLO page", page.Links)
	}

	// The team channel gets it too, with Bob mentioned.
	var channel slack.Message
	waitFor(t, 10*time.Second, "the page in the checkout channel", func() bool {
		for _, r := range slk.all() {
			if r.path == "/checkout" && json.Unmarshal(r.body, &channel) == nil && strings.HasPrefix(channel.Text, "[PAGE]") {
				return true
			}
		}
		return false
	})
	if !strings.Contains(channel.Text, "<@U0BOB>") || !strings.Contains(channel.Text, "burning") {
		t.Errorf("channel message %q: want the burn and Bob mentioned", channel.Text)
	}
	// Bob's deploy went to PagerDuty as a change event too.
	changes := 0
	for _, r := range pd.all() {
		if r.path == "/v2/change/enqueue" && strings.Contains(string(r.body), "v1.42.0") {
			changes++
		}
	}
	if changes != 1 {
		t.Errorf("got %d change events for v1.42.0, want 1", changes)
	}

	// The gate slows down (once the hour's burn passes its fast-burn
	// rule): features are held back, the revert goes out.
	type answer struct {
		Decision string
		Allowed  bool
	}
	gateSays := func(msg string) answer {
		var a answer
		getJSON(t, base+"/api/v1/gate/checkout?message="+url.QueryEscape(msg), &a)
		return a
	}
	waitFor(t, 20*time.Second, "the gate to slow down", func() bool { return gateSays("feat: gift cards").Decision == "slow_down" })
	if a := gateSays("feat: gift cards"); a.Allowed {
		t.Errorf("gate lets a feature through: %+v", a)
	}
	if a := gateSays("revert: one-click checkout"); !a.Allowed {
		t.Errorf("gate holds the revert back: %+v", a)
	}
	now := clock.Now().Truncate(time.Minute).Add(time.Minute)
	revertAt.Store(now.Unix())
	if code, body := request(t, "POST", base+"/api/v1/deploys", deployToken, fmt.Sprintf(
		`{"service":"checkout","version":"v1.41.0","author":"alice@example.com","message":"revert: one-click checkout","started_at":%q}`,
		now.Format(time.RFC3339))); code != http.StatusCreated {
		t.Fatalf("record revert: got %d %v", code, body)
	}

	// The page resolves at Alice's PagerDuty and in the channel, saying
	// what the incident cost.
	var resolvedAt time.Time
	waitFor(t, 60*time.Second, "the page resolved", func() bool {
		for _, r := range pd.all() {
			var ev pagerduty.Event
			if r.path == "/v2/enqueue" && json.Unmarshal(r.body, &ev) == nil && ev.EventAction == "resolve" {
				if ev.DedupKey != page.DedupKey || ev.RoutingKey != "alice-routing-key" {
					t.Errorf("resolve %+v: want dedup key %s at Alice's routing key", ev, page.DedupKey)
				}
				resolvedAt = r.at
				return true
			}
		}
		return false
	})
	t.Logf("resolved %s after the revert (simulated)", resolvedAt.Sub(now).Round(time.Second))
	if d := resolvedAt.Sub(now); d > 12*time.Minute {
		t.Errorf("resolved %s after the revert, want within about 10 minutes", d)
	}
	waitFor(t, 10*time.Second, "the resolve in the channel", func() bool {
		for _, r := range slk.all() {
			var m slack.Message
			if r.path == "/checkout" && json.Unmarshal(r.body, &m) == nil && strings.HasPrefix(m.Text, "[RESOLVED]") {
				if !strings.Contains(m.Text, "of its budget") || strings.Contains(m.Text, "spent 0.0%") {
					t.Errorf("resolve %q: want the budget the incident cost", m.Text)
				}
				t.Logf("channel: %s", m.Text)
				return true
			}
		}
		return false
	})

	// The business-hours service burnt the same at 3 am its time: nobody
	// was told and no alert is open or was raised.
	for _, r := range slk.all() {
		if r.path == "/b2b" {
			t.Errorf("the b2b channel got %s at 3 am", r.body)
		}
	}
	for _, r := range pd.all() {
		if strings.Contains(string(r.body), "carol-routing-key") || strings.Contains(string(r.body), "b2b-portal") {
			t.Errorf("PagerDuty got %s for the business-hours service", r.body)
		}
	}
	var alerts struct {
		Alerts []struct{ Service, State string } `json:"alerts"`
	}
	getJSON(t, base+"/api/v1/alerts", &alerts)
	for _, a := range alerts.Alerts {
		if a.Service == "b2b-portal" {
			t.Errorf("alert %+v for the business-hours service", a)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
