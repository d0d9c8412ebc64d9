package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slogate/slogate/internal/realtest"
)

// TestMetricsOfARealServer builds slogate, runs it with a scrape target, a
// PromQL source and a receiver, and checks slogateMetrics against its
// /metrics both ways: every metric the deploy files may use is there (but
// the counters that wait for their first event), with no label the list
// does not know, and every slogate_ metric the server has is in the list,
// so a new one is considered for the dashboard. It also checks that the
// probes' paths answer.
func TestMetricsOfARealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs slogate")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH: cannot build slogate")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "slogate")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/slogate")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/slogate: %v\n%s", err, out)
	}

	addr, dead := realtest.FreeAddr(t), realtest.FreeAddr(t) // nothing listens on dead
	config := fmt.Sprintf(`listen: %s
storage: slogate.db
specs: [specs]
evaluationInterval: 1s
sources:
  scrape:
    - {name: slogate, url: "http://%[1]s/metrics", interval: 1s}
  prometheus:
    - {name: prom, url: "http://%[2]s", interval: 1s, timeout: 1s}
receivers:
  - {name: am, type: alertmanager, url: "http://%[2]s"}
alerting:
  receivers: [am]
`, addr, dead)
	shop := `name: shop
owner: {team: web}
runbook: https://runbooks.example.com/shop
slos:
  - name: availability
    objective: 99
    window: 1d
    sli:
      source: prom
      ratio:
        good: http_requests_total{code!~"5.."}
        total: http_requests_total
`
	copyInto(t, filepath.Join(kustomizeDir, "specs"), filepath.Join(dir, "specs"))
	for name, data := range map[string]string{"slogate.yaml": config, "specs/shop.yaml": shop} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	srv := realtest.StartProcess(t, dir, "slogate", bin, "serve", "--config", filepath.Join(dir, "slogate.yaml"))

	base := "http://" + addr
	want := map[string]bool{}
	for name, m := range slogateMetrics {
		if !m.lazy && name != "up" {
			want[name] = true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var series map[string][]map[string]string
	var missing []string
	for {
		select {
		case <-srv.Exited():
			t.Fatal("slogate exited")
		case <-ctx.Done():
			t.Fatalf("after 60s, /metrics still lacks %v", missing)
		case <-time.After(250 * time.Millisecond):
		}
		if get(ctx, base+"/readyz") != http.StatusOK {
			continue
		}
		series = scrape(t, ctx, base+"/metrics")
		missing = missing[:0]
		for name := range want {
			if len(series[name]) == 0 {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			break
		}
	}

	if code := get(ctx, base+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz: %d, want 200 (the Kubernetes probes and the docs use it)", code)
	}
	var unknown []string
	for name, ss := range series {
		m, ok := slogateMetrics[name]
		if !ok {
			if strings.HasPrefix(name, "slogate_") {
				unknown = append(unknown, name)
			}
			continue
		}
		for _, s := range ss {
			for l := range s {
				if !slices.Contains(m.labels, l) {
					t.Errorf("%s%v: label %q is not in slogateMetrics' list %v", name, s, l, m.labels)
				}
			}
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Errorf("/metrics has %v, which slogateMetrics does not list: add them (with where they come from) and consider them for the dashboard", unknown)
	}

	t.Run("a real Prometheus runs the dashboard's queries and the alert rules on it", func(t *testing.T) {
		prometheusQueries(t, addr)
	})
}

// prometheusQueries starts a real Prometheus scraping slogate at target as
// job "slogate" with deploy/prometheus's alert rules, then runs every query
// of the dashboard (variables set to All) and checks every rule evaluates
// without error: the parser the other tests use is Prometheus 3's, the
// Debian package may be older.
func prometheusQueries(t *testing.T, target string) {
	rules, err := filepath.Abs("prometheus/slogate-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prom := realtest.StartPrometheus(t, realtest.PrometheusOptions{Config: fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: slogate
    static_configs: [{targets: [%q]}]
`, rules, target)})

	api := prom.URL + "/api/v1/"
	// Wait until Prometheus holds two scrapes of slogate's budgets, so
	// rate() has something to work on.
	for {
		select {
		case <-prom.Exited():
			t.Fatal("prometheus exited")
		case <-ctx.Done():
			t.Fatal("Prometheus did not get two scrapes of slogate's budgets in time")
		case <-time.After(500 * time.Millisecond):
		}
		var r promResponse
		if promGet(ctx, api+"query?query="+url.QueryEscape(`count_over_time(slogate_slo_objective_ratio{job="slogate"}[1m])`), &r) != nil {
			continue
		}
		if res := r.Data.Result; len(res) > 0 && len(res[0].Value) == 2 && res[0].Value[1] != "1" {
			break
		}
	}

	values := map[string]string{"__rate_interval": "1m", "__interval": "15s", "__range": "5m", "job": "slogate", "team": ".*", "service": ".*", "slo": ".*"}
	d := readDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			expr, _ := substituteWith(tg.Expr, values)
			var r promResponse
			if err := promGet(ctx, api+"query?query="+url.QueryEscape(expr), &r); err != nil {
				t.Errorf("panel %q query %s: %v", p.Title, tg.RefID, err)
				continue
			}
			if r.Status != "success" {
				t.Errorf("panel %q query %s: %s: %s", p.Title, tg.RefID, r.Status, r.Error)
			}
		}
	}
	// These have data on any running slogate with an SLO that has events.
	for _, expr := range []string{
		`slogate_slo_error_budget_remaining_ratio{job="slogate"}`,
		`slogate_slo_burn_rate{job="slogate",window="5m"}`,
		`sum by (code) (rate(slogate_http_requests_total{job="slogate"}[1m]))`,
	} {
		var r promResponse
		if err := promGet(ctx, api+"query?query="+url.QueryEscape(expr), &r); err != nil || len(r.Data.Result) == 0 {
			t.Errorf("%s: no data from the real server (err %v)", expr, err)
		}
	}

	// Every rule has been evaluated, without error.
	for {
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name, Health, LastError string
					}
				}
			}
		}
		if err := promGet(ctx, api+"rules", &r); err != nil {
			t.Fatalf("GET rules: %v", err)
		}
		var n, pending int
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				n++
				switch rule.Health {
				case "ok":
				case "unknown":
					pending++
				default:
					t.Errorf("rule %s: health %s: %s", rule.Name, rule.Health, rule.LastError)
				}
			}
		}
		if n == 0 {
			t.Fatal("Prometheus loaded no rules")
		}
		if pending == 0 || t.Failed() {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d rule(s) still not evaluated", pending)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// promResponse is the Prometheus HTTP API's answer to an instant query.
type promResponse struct {
	Status string
	Error  string
	Data   struct {
		Result []struct {
			Metric map[string]string
			Value  []any
		}
	}
}

// promGet decodes the JSON answer of GET u into v; an error answer (4xx)
// is decoded too, its status says so.
func promGet(ctx context.Context, u string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// scrape reads a Prometheus text exposition and returns each metric's
// series as label sets.
func scrape(t *testing.T, ctx context.Context, url string) map[string][]map[string]string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	out := map[string][]map[string]string{}
	p := parser.NewParser(parser.Options{})
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			t.Fatalf("GET %s: line %q has no value", url, l)
		}
		lset, err := p.ParseMetric(l[:i])
		if err != nil {
			t.Fatalf("GET %s: line %q: %v", url, l, err)
		}
		labels := lset.Map()
		name := labels["__name__"]
		delete(labels, "__name__")
		out[name] = append(out[name], labels)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return out
}

// get returns the status of GET url, or 0 when there was no answer.
func get(ctx context.Context, url string) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
