package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify/webhook"
)

func TestServePagesTheTeamWhenAnSLOBurns(t *testing.T) {
	got := make(chan webhook.Payload, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify([]byte("hmac-key"), body, r.Header.Get("X-Slogate-Signature")) {
			t.Errorf("bad signature on %s", body)
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("payload %s: %v", body, err)
		}
		got <- p
	}))
	defer receiver.Close()

	dir := writeFiles(t, map[string]string{
		"secrets/hmac": "hmac-key\n",
		"specs/shop.yaml": "name: shop\nowner: {team: payments}\nrunbook: https://runbooks.example.com/shop\n" +
			"slos:\n  - {name: success, objective: 99.9, window: 28d, sli: {push: {}}}\n",
		"slogate.yaml": fmt.Sprintf(`listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
people:
  - {name: alice, email: alice@example.com}
teams:
  - name: payments
    members: [alice]
    channel: payments-hook
    rotation: {shift: 7d, timeZone: Europe/Berlin}
receivers:
  - {name: payments-hook, type: webhook, url: %q, secretFile: secrets/hmac}
`, receiver.URL+"/hook"),
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServe(t, ctx, filepath.Join(dir, "slogate.yaml"))

	// An hour of clean traffic, then the last ten minutes all failing.
	now := time.Now().UTC().Truncate(time.Minute)
	push(t, base, "shop", now.Add(-70*time.Minute), now.Add(-10*time.Minute), 100, 0)
	push(t, base, "shop", now.Add(-10*time.Minute), now.Add(time.Minute), 100, 100)

	select {
	case p := <-got:
		m := p.Message
		if m.Kind != "trigger" || m.Severity != "page" || m.Service != "shop" || len(m.SLOs) != 1 ||
			m.SLOs[0] != "success" || m.RunbookURL != "https://runbooks.example.com/shop" ||
			m.OnCall != "alice" || len(m.BurnRates) == 0 || m.DedupKey == "" {
			t.Fatalf("got %+v, want a page for shop/success with runbook, on-call alice and burn rates", m)
		}
		t.Logf("paged: %s", m.Summary)
	case <-time.After(30 * time.Second):
		t.Fatal("no page reached the team's webhook within 30s")
	}

	var list struct {
		Notifications []struct {
			Receiver, Status string
			Attempts         int
		} `json:"notifications"`
	}
	waitFor(t, 10*time.Second, "the notification log", func() bool {
		getJSON(t, base+"/api/v1/notifications?receiver=payments-hook", &list)
		return len(list.Notifications) > 0 && list.Notifications[len(list.Notifications)-1].Status == "sent"
	})
	cancel()
	<-done
}
