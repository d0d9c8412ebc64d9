package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/cmd/slogate/demo"
)

// historyJSON is GET /api/v1/specs/{service}/history's answer.
type historyJSON struct {
	Service string `json:"service"`
	Changes []struct {
		ID     int64     `json:"id"`
		Action string    `json:"action"`
		At     time.Time `json:"at"`
		By     string    `json:"by"`
		Via    string    `json:"via"`
		Remote string    `json:"remote"`
		Source string    `json:"source"`
		File   string    `json:"file"`
		Spec   string    `json:"spec"`
		Diff   string    `json:"diff"`
		Notes  []string  `json:"notes"`
	} `json:"changes"`
}

func specHistory(t *testing.T, base, service string) historyJSON {
	t.Helper()
	var h historyJSON
	if code := getJSON(t, base+"/api/v1/specs/"+service+"/history", &h); code != http.StatusOK {
		t.Fatalf("history of %s: got %d, want 200", service, code)
	}
	return h
}

// diffHas reports whether diff removes (op '-') or adds (op '+') a line
// that is text once indented.
func diffHas(diff string, op byte, text string) bool {
	for _, l := range strings.Split(diff, "\n") {
		if len(l) > 0 && l[0] == op && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") && strings.TrimSpace(l[1:]) == text {
			return true
		}
	}
	return false
}

func TestChangedSLIStartsANewHistoryAndSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := demo.Start(ctx, demo.Config{Listen: "127.0.0.1:0", RequestsPerSecond: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	config := writeSetup(t, d.Addr())
	shopFile := filepath.Join(filepath.Dir(config), "specs", "shop.yaml")
	base, done := startServeWith(t, ctx, serveOptions{config: config, watch: 200 * time.Millisecond})

	var avail, lat sloJSON
	waitFor(t, 60*time.Second, "a history of scraped events", func() bool {
		getJSON(t, base+"/api/v1/services/shop/slos/availability", &avail)
		getJSON(t, base+"/api/v1/services/shop/slos/latency", &lat)
		return avail.Budget.Total > 2000 && lat.Budget.Total > 0
	})
	b, err := os.ReadFile(shopFile)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), `good: http_requests_total{job="demo",code!~"5.."}`,
		`good: http_requests_total{job="demo",code!~"4..|5.."}`, 1)
	if changed == string(b) {
		t.Fatal("the test's selector is not in the spec")
	}

	t.Run("validate says the change starts a new history", func(t *testing.T) {
		code, body := apiRequest(t, http.MethodPost, base+"/api/v1/specs/validate", "", "application/yaml", changed)
		notices, _ := body["notices"].([]any)
		if code != http.StatusOK || len(notices) != 1 || !strings.Contains(notices[0].(string), "availability: the SLI changes") {
			t.Fatalf("got %d %v, want 200 with one notice about availability's SLI", code, body)
		}
		respaced := strings.Replace(string(b), `{job="demo",code!~"5.."}`, `{ code!~"5..", job="demo" }`, 1)
		if code, body := apiRequest(t, http.MethodPost, base+"/api/v1/specs/validate", "", "application/yaml", respaced); code != http.StatusOK || len(body["notices"].([]any)) != 0 {
			t.Fatalf("the same selector spelled otherwise: got %d %v, want no notice", code, body)
		}
	})

	t.Run("applied, the changed SLO starts over and the other keeps its history", func(t *testing.T) {
		writeFile(t, shopFile, changed)
		var h historyJSON
		waitFor(t, 10*time.Second, "the change in shop's spec history", func() bool {
			h = specHistory(t, base, "shop")
			return len(h.Changes) == 2
		})
		c := h.Changes[0]
		if c.Action != "changed" || c.Via != "watch" || c.Source != "file" || c.File != shopFile ||
			!diffHas(c.Diff, '-', `good: http_requests_total{job="demo",code!~"5.."}`) ||
			!diffHas(c.Diff, '+', `good: http_requests_total{job="demo",code!~"4..|5.."}`) ||
			len(c.Notes) != 1 || !strings.HasPrefix(c.Notes[0], "availability: the SLI changed, so its budget starts a new history") {
			t.Fatalf("got %+v, want a file change by the watcher with the selector's diff and a note on availability", c)
		}
		var a2, l2 sloJSON
		getJSON(t, base+"/api/v1/services/shop/slos/availability", &a2)
		getJSON(t, base+"/api/v1/services/shop/slos/latency", &l2)
		if a2.Budget.Total >= avail.Budget.Total/2 {
			t.Fatalf("availability: got %v events after the change, want a new history (had %v)", a2.Budget.Total, avail.Budget.Total)
		}
		if l2.Budget.Total < lat.Budget.Total {
			t.Fatalf("latency: got %v events after the change, want its history of %v kept", l2.Budget.Total, lat.Budget.Total)
		}
		avail = a2
	})

	stopServe(t, cancel, done)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	base, done = startServe(t, ctx, config)

	t.Run("a restart keeps the new history and records nothing new", func(t *testing.T) {
		var a3 sloJSON
		getJSON(t, base+"/api/v1/services/shop/slos/availability", &a3)
		if a3.Budget.Total < avail.Budget.Total {
			t.Fatalf("availability after the restart: got %v events, want at least the %v of its new history", a3.Budget.Total, avail.Budget.Total)
		}
		if h := specHistory(t, base, "shop"); len(h.Changes) != 2 {
			t.Fatalf("got %d changes after the restart, want the same 2", len(h.Changes))
		}
	})
	stopServe(t, cancel, done)
}
