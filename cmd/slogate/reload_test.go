package main

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServeWith is startServe with options beyond the config.
func startServeWith(t *testing.T, ctx context.Context, o serveOptions) (string, <-chan error) {
	t.Helper()
	o.logLevel, o.logFormat = "warn", "text"
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, o, func(a string) { addrc <- a }) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
	waitFor(t, 20*time.Second, "readiness", func() bool { return getJSON(t, base+"/readyz", nil) == http.StatusOK })
	return base, done
}

type readyJSON struct {
	Status string `json:"status"`
	Config struct {
		LastReload string    `json:"lastReload"`
		Trigger    string    `json:"trigger"`
		At         time.Time `json:"at"`
		Error      string    `json:"error"`
	} `json:"config"`
}

func readyz(t *testing.T, base string) (int, readyJSON) {
	t.Helper()
	var r readyJSON
	code := getJSON(t, base+"/readyz", &r)
	return code, r
}

// metricValue returns the value of the sample named name on /metrics, or
// NaN when there is none.
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if err := json.Unmarshal([]byte(v), &f); err == nil {
				return f
			}
		}
	}
	return math.NaN()
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func servicesBody(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

const checkoutSpec = `name: checkout
owner: {team: payments}
slos:
  - name: availability
    objective: 99
    window: 7d
    sli: {push: {}}
`

func TestReloadAppliesValidSpecsAndRefusesInvalidOnes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := writeFiles(t, setupFiles(""))
	config := filepath.Join(dir, "slogate.yaml")
	hup := make(chan os.Signal, 1)
	base, done := startServeWith(t, ctx, serveOptions{config: config, watch: time.Second, reload: hup})

	if code, body := postJSON(t, base+"/api/v1/events", `{"service":"export","slo":"success","good":90,"total":100}`); code != http.StatusOK {
		t.Fatalf("push: got %d %v, want 200", code, body)
	}
	var before sloJSON
	waitFor(t, 10*time.Second, "pushed events in the budget", func() bool {
		getJSON(t, base+"/api/v1/services/export/slos/success", &before)
		return before.Budget.Total == 100
	})
	if code, r := readyz(t, base); code != http.StatusOK || r.Config.LastReload != "success" || r.Config.Trigger != "start" {
		t.Fatalf("readyz at start: got %d %+v, want 200 with a successful start", code, r)
	}

	t.Run("a new spec file is picked up within 5s", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "specs", "checkout.yaml"), checkoutSpec)
		waitFor(t, 5*time.Second, "checkout in /api/v1/services", func() bool {
			return strings.Contains(servicesBody(t, base), `"checkout"`)
		})
		if code := getJSON(t, base+"/api/v1/services/checkout/slos/availability", nil); code != http.StatusOK {
			t.Fatalf("got %d for the new SLO, want 200", code)
		}
	})

	t.Run("a broken spec is refused and the running config stays", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "specs", "checkout.yaml"), strings.Replace(checkoutSpec, "objective: 99", "objective: 150", 1))
		var r readyJSON
		waitFor(t, 5*time.Second, "a refused reload in /readyz", func() bool {
			var code int
			code, r = readyz(t, base)
			return code == http.StatusOK && r.Config.LastReload == "failed"
		})
		if r.Status != "ready" || r.Config.Trigger != "watch" || !strings.Contains(r.Config.Error, "checkout.yaml:5: slos[0].objective:") ||
			strings.Contains(r.Config.Error, "warning") {
			t.Fatalf("readyz: got %+v, want ready with checkout.yaml:5: slos[0].objective: ...", r)
		}
		if v := metricValue(t, base, "slogate_config_last_reload_successful"); v != 0 {
			t.Fatalf("slogate_config_last_reload_successful: got %v, want 0", v)
		}
		if v := metricValue(t, base, "slogate_config_last_reload_success_timestamp_seconds"); !(v > 0) {
			t.Fatalf("slogate_config_last_reload_success_timestamp_seconds: got %v, want the start", v)
		}
		if code := getJSON(t, base+"/api/v1/services/checkout/slos/availability", nil); code != http.StatusOK {
			t.Fatalf("got %d for the running SLO, want 200", code)
		}
	})

	t.Run("a changed objective recomputes the budget from the same buckets", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "specs", "checkout.yaml"), checkoutSpec)
		spec := filepath.Join(dir, "specs", "export.yaml")
		b, err := os.ReadFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, spec, strings.Replace(string(b), "objective: 95", "objective: 80", 1))
		waitFor(t, 5*time.Second, "a successful reload", func() bool {
			_, r := readyz(t, base)
			return r.Config.LastReload == "success"
		})
		if v := metricValue(t, base, "slogate_config_last_reload_successful"); v != 1 {
			t.Fatalf("slogate_config_last_reload_successful: got %v, want 1", v)
		}
		var after sloJSON
		getJSON(t, base+"/api/v1/services/export/slos/success", &after)
		if after.Budget.Good != before.Budget.Good || after.Budget.Total != before.Budget.Total {
			t.Fatalf("got good/total %v/%v, want the stored %v/%v", after.Budget.Good, after.Budget.Total,
				before.Budget.Good, before.Budget.Total)
		}
		// 10 bad of 100: 95% allows 5 (spent twice over), 80% allows 20.
		if before.Budget.RemainingRatio == nil || after.Budget.RemainingRatio == nil ||
			abs(*before.Budget.RemainingRatio-(-1)) > 1e-9 || abs(*after.Budget.RemainingRatio-0.5) > 1e-9 {
			t.Fatalf("remaining: got %v before and %v after, want -1 and 0.5",
				floatText(before.Budget.RemainingRatio), floatText(after.Budget.RemainingRatio))
		}
		before = after
	})

	t.Run("the spec history has every applied file change and no refused one", func(t *testing.T) {
		h := specHistory(t, base, "export")
		if len(h.Changes) != 2 {
			t.Fatalf("export: got %+v, want its start and the objective change", h.Changes)
		}
		spec := filepath.Join(dir, "specs", "export.yaml")
		c := h.Changes[0]
		if c.Action != "changed" || c.Via != "watch" || c.By != "file watcher" || c.Source != "file" || c.File != spec ||
			!diffHas(c.Diff, '-', "objective: 95") || !diffHas(c.Diff, '+', "objective: 80") || len(c.Notes) != 0 {
			t.Fatalf("got %+v, want the watcher's change of %s from objective 95 to 80", c, spec)
		}
		h = specHistory(t, base, "checkout")
		if len(h.Changes) != 1 || h.Changes[0].Action != "created" || h.Changes[0].Via != "watch" {
			t.Fatalf("checkout: got %+v, want only its creation: the broken version was refused", h.Changes)
		}
	})

	t.Run("a removed service stops and comes back with its history", func(t *testing.T) {
		spec := filepath.Join(dir, "specs", "export.yaml")
		text, err := os.ReadFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(spec); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "export gone", func() bool {
			return getJSON(t, base+"/api/v1/services/export/slos/success", nil) == http.StatusNotFound
		})
		writeFile(t, spec, string(text))
		var back sloJSON
		waitFor(t, 5*time.Second, "export back", func() bool {
			return getJSON(t, base+"/api/v1/services/export/slos/success", &back) == http.StatusOK
		})
		if back.Budget.Good != before.Budget.Good || back.Budget.Total != before.Budget.Total {
			t.Fatalf("got good/total %v/%v, want the stored %v/%v", back.Budget.Good, back.Budget.Total,
				before.Budget.Good, before.Budget.Total)
		}
		h := specHistory(t, base, "export")
		if len(h.Changes) != 4 || h.Changes[0].Action != "created" || h.Changes[1].Action != "removed" {
			t.Fatalf("got %+v, want its removal and return on top of 2 changes", h.Changes)
		}
	})

	t.Run("POST /-/reload reloads from the machine itself", func(t *testing.T) {
		code, body := postJSON(t, base+"/-/reload", "")
		if code != http.StatusOK || body["status"] != "success" {
			t.Fatalf("got %d %v, want 200 success", code, body)
		}
		if _, r := readyz(t, base); r.Config.Trigger != "http" {
			t.Fatalf("got trigger %q, want http", r.Config.Trigger)
		}
	})

	t.Run("SIGHUP reloads", func(t *testing.T) {
		hup <- syscall.SIGHUP
		waitFor(t, 5*time.Second, "a reload by signal", func() bool {
			_, r := readyz(t, base)
			return r.Config.Trigger == "signal" && r.Config.LastReload == "success"
		})
	})

	t.Run("a changed listen address is refused", func(t *testing.T) {
		b, err := os.ReadFile(config)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, config, strings.Replace(string(b), "listen: 127.0.0.1:0", "listen: 127.0.0.1:1", 1))
		code, body := postJSON(t, base+"/-/reload", "")
		if code != http.StatusUnprocessableEntity || !strings.Contains(body["error"].(string), "listen") {
			t.Fatalf("got %d %v, want 422 naming listen", code, body)
		}
		if code := getJSON(t, base+"/api/v1/services/export/slos/success", nil); code != http.StatusOK {
			t.Fatalf("got %d for the running SLO, want 200", code)
		}
		writeFile(t, config, string(b))
	})

	stopServe(t, cancel, done)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	base, done = startServe(t, ctx, config)

	t.Run("after a restart everything is as it was", func(t *testing.T) {
		var after sloJSON
		if code := getJSON(t, base+"/api/v1/services/export/slos/success", &after); code != http.StatusOK {
			t.Fatalf("export: got %d, want 200", code)
		}
		if after.Budget.Good != before.Budget.Good || after.Budget.Total != before.Budget.Total ||
			after.Budget.RemainingRatio == nil || abs(*after.Budget.RemainingRatio-0.5) > 1e-9 {
			t.Fatalf("export: got %v/%v remaining %v, want %v/%v remaining 0.5", after.Budget.Good, after.Budget.Total,
				floatText(after.Budget.RemainingRatio), before.Budget.Good, before.Budget.Total)
		}
		if code := getJSON(t, base+"/api/v1/services/checkout/slos/availability", nil); code != http.StatusOK {
			t.Fatalf("checkout: got %d, want 200", code)
		}
		if h := specHistory(t, base, "export"); len(h.Changes) != 4 {
			t.Fatalf("export: got %d changes after the restart, want the same 4", len(h.Changes))
		}
	})
	stopServe(t, cancel, done)
}

func TestPostReloadNeedsATokenFromElsewhere(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:5000", true}, {"[::1]:5000", true}, {"10.0.0.1:5000", false}, {"garbage", false},
	} {
		if got := isLoopback(tc.addr); got != tc.want {
			t.Errorf("isLoopback(%q): got %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestSIGHUPReloadsTheBinary(t *testing.T) {
	bin := buildBinary(t)
	dir := writeFiles(t, setupFiles(""))
	cmd, base := startBinary(t, bin, filepath.Join(dir, "slogate.yaml"), "--watch-interval=0")
	writeFile(t, filepath.Join(dir, "specs", "checkout.yaml"), checkoutSpec)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "checkout after SIGHUP", func() bool {
		return strings.Contains(servicesBody(t, base), `"checkout"`)
	})
	if _, r := readyz(t, base); r.Config.Trigger != "signal" {
		t.Fatalf("got trigger %q, want signal", r.Config.Trigger)
	}
}

func floatText(p *float64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

func TestReloadDropsTheMetricsOfRemovedScrapeTargets(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Nothing listens at the demo's address: the target is down, its
	// series are there all the same.
	config := writeSetup(t, "127.0.0.1:1")
	base, done := startServe(t, ctx, config)
	if v := metricValue(t, base, `slogate_scrape_up{target="demo"}`); v != 0 {
		t.Fatalf(`slogate_scrape_up{target="demo"}: got %v, want 0`, v)
	}
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, config, strings.Replace(string(b), "name: demo", "name: shop", 1))
	if code, body := postJSON(t, base+"/-/reload", ""); code != http.StatusOK {
		t.Fatalf("reload: got %d %v, want 200", code, body)
	}
	if v := metricValue(t, base, `slogate_scrape_up{target="demo"}`); !math.IsNaN(v) {
		t.Fatalf(`slogate_scrape_up{target="demo"}: got %v after the target was renamed, want no series`, v)
	}
	if v := metricValue(t, base, `slogate_scrape_up{target="shop"}`); v != 0 {
		t.Fatalf(`slogate_scrape_up{target="shop"}: got %v, want 0`, v)
	}
	stopServe(t, cancel, done)
}
