package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify/pagerduty"
)

// TestDetectionWithin90Seconds is issue 4's detection target in real
// time: with a 15 s scrape and a 15 s evaluation, a 99.9%/28d SLO going
// 100% bad is paged at the receiver within 90 s. The service is a real
// HTTP target whose counters grow with the clock, 100 requests a second,
// scraped by slogate's own scraper; the page goes to the on-call
// developer's PagerDuty, here a local server.
func TestDetectionWithin90Seconds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for up to 90 s of real time")
	}
	var mu sync.Mutex
	start := time.Now()
	var flip time.Time // when every request starts failing; zero before
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		now, f := time.Now(), flip
		mu.Unlock()
		good, bad := now.Sub(start).Seconds()*100, 0.0
		if !f.IsZero() {
			good, bad = f.Sub(start).Seconds()*100, now.Sub(f).Seconds()*100
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} %.0f\nhttp_requests_total{code=\"500\"} %.0f\n", good, bad)
	}))
	defer target.Close()

	paged := make(chan time.Time, 10)
	pd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev pagerduty.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err == nil && ev.EventAction == "trigger" && ev.RoutingKey == "alice-key" {
			paged <- time.Now()
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer pd.Close()

	dir := writeFiles(t, map[string]string{
		"specs/shop.yaml": `name: shop
owner: {team: shop}
runbook: https://runbooks.example.com/shop
slos:
  - name: availability
    objective: 99.9
    window: 28d
    sli:
      ratio:
        good: http_requests_total{job="shop",code!~"5.."}
        total: http_requests_total{job="shop"}
`,
		"slogate.yaml": fmt.Sprintf(`listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 15s
sources:
  scrape:
    - {name: shop, url: %s/metrics, interval: 15s}
alerting:
  pagerdutyURL: %s/v2/enqueue
people:
  - {name: alice, pagerduty: alice-key}
teams:
  - {name: shop, members: [alice], rotation: {shift: 7d}}
`, target.URL, pd.URL),
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, done := startServe(t, ctx, filepath.Join(dir, "slogate.yaml"))

	// Let the first scrape see healthy traffic, then fail everything.
	time.Sleep(2 * time.Second)
	mu.Lock()
	flip = time.Now()
	mu.Unlock()
	select {
	case at := <-paged:
		t.Logf("paged %s after the SLO went 100%% bad (target 90s)", at.Sub(flip).Round(100*time.Millisecond))
	case <-time.After(90 * time.Second):
		t.Fatal("no page within 90 s of the SLO going 100% bad")
	}
	cancel()
	<-done
}
