package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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

	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "specs"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "hmac"), []byte("hmac-key\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "specs", "shop.yaml"), []byte(
		"name: shop\nowner: {team: payments}\nrunbook: https://runbooks.example.com/shop\n"+
			"slos:\n  - {name: success, objective: 99.9, window: 28d, sli: {push: {}}}\n"), 0o644))
	config := fmt.Sprintf(`listen: 127.0.0.1:0
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
  - {name: payments-hook, type: webhook, url: %q, secretFile: hmac}
`, receiver.URL+"/hook")
	path := filepath.Join(dir, "slogate.yaml")
	must(os.WriteFile(path, []byte(config), 0o644))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServe(t, ctx, path)

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
