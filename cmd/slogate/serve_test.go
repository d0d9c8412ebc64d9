package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slogate/slogate/cmd/slogate/demo"
)

// writeFiles writes files, keyed by slash-separated paths, into a new temp
// dir and returns the dir. Secrets (names ending in ".key" or under a
// "secrets/" dir) are readable by the owner only.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".key") || strings.Contains("/"+name, "/secrets/") {
			mode = 0o600
		}
		if err := os.WriteFile(path, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// setupFiles are a server config and specs: one service scraped from the
// demo at demoAddr (if any) and one push SLO.
func setupFiles(demoAddr string) map[string]string {
	files := map[string]string{
		"specs/export.yaml": `name: export
owner: {team: data}
slos:
  - name: success
    objective: 95
    window: 7d
    sli: {push: {}}
`,
		"slogate.yaml": `listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
`,
	}
	if demoAddr != "" {
		files["specs/shop.yaml"] = `name: shop
owner: {team: payments}
runbook: https://runbooks.example.com/shop
slos:
  - name: availability
    objective: 99
    window: 28d
    sli:
      ratio:
        good: http_requests_total{job="demo",code!~"5.."}
        total: http_requests_total{job="demo"}
  - name: latency
    objective: 90
    window: 28d
    sli:
      latency:
        metric: http_request_duration_seconds
        selector: '{job="demo"}'
        threshold: 0.3
`
		files["slogate.yaml"] += fmt.Sprintf(`sources:
  scrape:
    - name: demo
      url: http://%s/metrics
      interval: 1s
      timeout: 1s
`, demoAddr)
	}
	return files
}

// writeSetup writes setupFiles(demoAddr) into a temp dir and returns the
// config's path.
func writeSetup(t *testing.T, demoAddr string) string {
	t.Helper()
	return filepath.Join(writeFiles(t, setupFiles(demoAddr)), "slogate.yaml")
}

// startServe runs serve in-process on config until ctx ends and returns its
// base URL once it is ready, and a channel with serve's result.
func startServe(t *testing.T, ctx context.Context, config string) (string, <-chan error) {
	t.Helper()
	return startServeWith(t, ctx, serveOptions{config: config})
}

// stopServe cancels serve started by startServe and fails unless it
// returns nil within 15s.
func stopServe(t *testing.T, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v on shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down within 15s")
	}
}

// getJSON fetches url into v and returns the status code.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	return resp.StatusCode
}

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	return apiRequest(t, http.MethodPost, url, "", "application/json", body)
}

// waitFor polls cond every 100ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type sloJSON struct {
	State  string `json:"state"`
	Budget struct {
		Good, Total    float64
		SLI            *float64 `json:"sli"`
		RemainingRatio *float64 `json:"remainingRatio"`
		NoData         bool     `json:"noData"`
	} `json:"budget"`
	BurnRates []struct {
		Window string   `json:"window"`
		Rate   *float64 `json:"rate"`
	} `json:"burnRates"`
}

func TestServeScrapesEvaluatesAndAnswers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	demoCtx, stopDemo := context.WithCancel(ctx)
	d, err := demo.Start(demoCtx, demo.Config{Listen: "127.0.0.1:0", RequestsPerSecond: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	base, done := startServe(t, ctx, writeSetup(t, d.Addr()))

	t.Run("scraped traffic shows up as a budget", func(t *testing.T) {
		var s sloJSON
		waitFor(t, 30*time.Second, "scraped events", func() bool {
			getJSON(t, base+"/api/v1/services/shop/slos/availability", &s)
			return s.Budget.Total > 50
		})
		if s.Budget.SLI == nil || *s.Budget.SLI <= 0.5 || *s.Budget.SLI > 1 {
			t.Fatalf("got SLI %v, want a ratio near 1", s.Budget.SLI)
		}
		if s.Budget.Good > s.Budget.Total {
			t.Fatalf("got good %v > total %v", s.Budget.Good, s.Budget.Total)
		}
		var l sloJSON
		waitFor(t, 20*time.Second, "latency events", func() bool {
			getJSON(t, base+"/api/v1/services/shop/slos/latency", &l)
			return l.Budget.Total > 0
		})
	})

	t.Run("pushed events are counted exactly", func(t *testing.T) {
		code, body := postJSON(t, base+"/api/v1/events",
			`[{"service":"export","slo":"success","good":97,"total":100},{"service":"export","slo":"success","good":3,"total":4}]`)
		if code != http.StatusOK {
			t.Fatalf("got %d %v, want 200", code, body)
		}
		var s sloJSON
		waitFor(t, 20*time.Second, "pushed events in the budget", func() bool {
			getJSON(t, base+"/api/v1/services/export/slos/success", &s)
			return s.Budget.Total == 104
		})
		if s.Budget.Good != 100 {
			t.Fatalf("got good %v, want 100", s.Budget.Good)
		}
		// allowed = 5% of 104 = 5.2 bad; spent 4.
		if want := 1 - 4/5.2; s.Budget.RemainingRatio == nil || abs(*s.Budget.RemainingRatio-want) > 1e-9 {
			t.Fatalf("got remaining %v, want %v", s.Budget.RemainingRatio, want)
		}
	})

	t.Run("bad requests get a JSON error", func(t *testing.T) {
		cases := []struct {
			name, method, path, body string
			want                     int
		}{
			{"unknown service", "GET", "/api/v1/services/nope", "", 404},
			{"unknown SLO", "GET", "/api/v1/services/shop/slos/nope", "", 404},
			{"too many points", "GET", "/api/v1/services/shop/slos/availability/series?from=now-28d&step=1m", "", 400},
			{"unparsable time", "GET", "/api/v1/services/shop/slos/availability/series?from=yesterday", "", 400},
			{"bad sort", "GET", "/api/v1/services?sort=color", "", 400},
			{"push to a scraped SLO", "POST", "/api/v1/events", `{"service":"shop","slo":"availability","good":1,"total":1}`, 409},
			{"push with good above total", "POST", "/api/v1/events", `{"service":"export","slo":"success","good":2,"total":1}`, 400},
			{"push of broken JSON", "POST", "/api/v1/events", `{"service":`, 400},
		}
		for _, c := range cases {
			req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e map[string]string
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want || json.Unmarshal(b, &e) != nil || e["error"] == "" {
				t.Errorf("%s: got %d %s, want %d with a JSON error", c.name, resp.StatusCode, b, c.want)
			}
		}
	})

	t.Run("series have points for charts", func(t *testing.T) {
		var s struct {
			Timestamps      []int64               `json:"timestamps"`
			BudgetRemaining []*float64            `json:"budgetRemaining"`
			BurnRates       map[string][]*float64 `json:"burnRates"`
		}
		if code := getJSON(t, base+"/api/v1/services/shop/slos/availability/series?from=now-1h&step=1m", &s); code != 200 {
			t.Fatalf("got %d", code)
		}
		// An hour back from a time within a minute covers 60 whole minutes
		// and the one in progress.
		if n := len(s.Timestamps); n < 60 || n > 61 || len(s.BudgetRemaining) != n || len(s.BurnRates["1h"]) != n {
			t.Fatalf("got %d timestamps, %d budget points, %d 1h burn points; want 61 each",
				len(s.Timestamps), len(s.BudgetRemaining), len(s.BurnRates["1h"]))
		}
	})

	t.Run("metrics expose every SLO and the scrape health", func(t *testing.T) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`slogate_slo_objective_ratio{service="shop",slo="availability",team="payments"} 0.99`,
			`slogate_slo_error_budget_remaining_ratio{service="export",slo="success",team="data"}`,
			`slogate_slo_burn_rate{service="shop",slo="availability",team="payments",window="5m"}`,
			`slogate_scrape_up{target="demo"} 1`,
			`slogate_http_requests_total{handler="/api/v1/services/:service/slos/:slo",method="GET",code="200"}`,
		} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("a target that goes down is reported on its SLOs only", func(t *testing.T) {
		stopDemo()
		var s struct {
			Data struct {
				SourceError string `json:"sourceError"`
			} `json:"data"`
		}
		waitFor(t, 15*time.Second, "the scrape failure on the SLO", func() bool {
			getJSON(t, base+"/api/v1/services/shop/slos/availability", &s)
			return strings.Contains(s.Data.SourceError, "scrape target demo is down")
		})
		var push struct {
			Data map[string]any `json:"data"`
		}
		getJSON(t, base+"/api/v1/services/export/slos/success", &push)
		if e, ok := push.Data["sourceError"]; ok {
			t.Fatalf("the push SLO reports %q, want no source error", e)
		}
	})

	stopServe(t, cancel, done)
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// buildBinary builds slogate once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "slogate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs `slogate serve` with extra flags, if any, and returns
// its base URL once ready.
func startBinary(t *testing.T, bin, config string, flags ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--config", config, "--log-format", "json"}, flags...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addrc <- line.Addr
			}
		}
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("slogate did not start listening within 30s")
	}
	waitFor(t, 30*time.Second, "readiness", func() bool { return getJSON(t, base+"/readyz", nil) == http.StatusOK })
	return cmd, base
}

func TestBudgetsSurviveKill9(t *testing.T) {
	bin := buildBinary(t)
	config := writeSetup(t, "")
	cmd, base := startBinary(t, bin, config)

	now := time.Now().UTC()
	var events []string
	for i := range 30 {
		ts := now.Add(-time.Duration(i) * 17 * time.Minute).Format(time.RFC3339)
		events = append(events, fmt.Sprintf(`{"service":"export","slo":"success","good":%d,"total":%d,"timestamp":%q}`, 90+i%10, 100, ts))
	}
	if code, body := postJSON(t, base+"/api/v1/events", "["+strings.Join(events, ",")+"]"); code != http.StatusOK {
		t.Fatalf("push: got %d %v", code, body)
	}
	var before sloJSON
	waitFor(t, 20*time.Second, "pushed events in the budget", func() bool {
		getJSON(t, base+"/api/v1/services/export/slos/success", &before)
		return before.Budget.Total == 3000
	})

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	_, base = startBinary(t, bin, config)
	var after sloJSON
	getJSON(t, base+"/api/v1/services/export/slos/success", &after)
	if after.Budget.Good != before.Budget.Good || after.Budget.Total != before.Budget.Total ||
		*after.Budget.RemainingRatio != *before.Budget.RemainingRatio {
		t.Fatalf("after kill -9 and restart got good %v total %v remaining %v; want %v %v %v",
			after.Budget.Good, after.Budget.Total, *after.Budget.RemainingRatio,
			before.Budget.Good, before.Budget.Total, *before.Budget.RemainingRatio)
	}
}

func TestServeRefusesAnInvalidSpec(t *testing.T) {
	files := setupFiles("")
	files["specs/export.yaml"] = "name: export\nowner: {team: data}\nslos:\n  - name: success\n    objective: 150\n    window: 7d\n    sli: {push: {}}\n"
	config := filepath.Join(writeFiles(t, files), "slogate.yaml")
	started := false
	err := serve(context.Background(), serveOptions{config: config, logLevel: "error", logFormat: "text"}, func(string) { started = true })
	if err == nil || !strings.Contains(err.Error(), "invalid configuration: 1 problem") || started {
		t.Fatalf("got %v (started %v), want a refusal naming 1 problem before listening", err, started)
	}
	if _, statErr := os.Stat(filepath.Join(filepath.Dir(config), "data")); !os.IsNotExist(statErr) {
		t.Fatalf("an invalid config created the storage directory (%v)", statErr)
	}
}
