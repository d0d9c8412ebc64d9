package promrules_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/alerting/promrules"
	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/internal/realtest"
	"github.com/slogate/slogate/slo"
	"github.com/slogate/slogate/slo/source"
)

// counts are the counters of the test's workload: requests to handler /a
// (good: 200, bad: 500), to /b (in no SLO, to prove the selectors leave
// it out), and a latency histogram (fast: at or under 0.3s).
type counts struct{ good, bad, other, fast, slow float64 }

func (c *counts) add(d counts) {
	c.good += d.good
	c.bad += d.bad
	c.other += d.other
	c.fast += d.fast
	c.slow += d.slow
}

// history is the traffic before the test, backfilled into Prometheus:
// steady traffic, two error bursts and a slowdown, at times chosen so that
// every burn window holds different events. No event is within 2 minutes
// of where a burn window starts while the test runs (checked), so slogate's
// minute-aligned windows and Prometheus' sliding ones hold the same events.
var history = []struct {
	ago time.Duration
	d   counts
}{
	{6*time.Hour + 30*time.Minute, counts{good: 10000, bad: 20, other: 500, fast: 9000, slow: 100}},
	{3 * time.Hour, counts{good: 20000, bad: 30, other: 800, fast: 20000, slow: 300}},
	{90 * time.Minute, counts{good: 5000, bad: 400, other: 100, fast: 4000, slow: 900}},
	{45 * time.Minute, counts{good: 8000, bad: 5, other: 300, fast: 3000, slow: 4}},
	{20 * time.Minute, counts{good: 2000, bad: 150, other: 50, fast: 1500, slow: 100}},
}

// live is the traffic during the test, scraped by Prometheus: one round
// a second, with an error burst in the last two.
var live = []counts{
	{good: 200, bad: 0, other: 10, fast: 66, slow: 1},
	{good: 200, bad: 30, other: 10, fast: 67, slow: 2},
	{good: 200, bad: 30, other: 10, fast: 67, slow: 2},
}

// initial are the counters' values before the history: large, so that
// increase() never clamps its extrapolation at a counter's zero for one
// series and not another.
var initial = counts{good: 100000, bad: 10000, other: 50000, fast: 100000, slow: 10000}

// backfillStep is the interval between the history's samples.
const backfillStep = 10 * time.Second

// workload serves the counters for Prometheus to scrape.
type workload struct {
	mu sync.Mutex
	c  counts
}

func (w *workload) add(d counts) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.c.add(d)
}

func (w *workload) get() counts {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c
}

func (w *workload) ServeHTTP(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprint(rw, exposition(w.get(), "", ""))
}

// exposition renders c as Prometheus text; with instance and a timestamp
// suffix, as the OpenMetrics lines promtool backfills.
func exposition(c counts, instance, ts string) string {
	extra := ""
	if instance != "" {
		extra = fmt.Sprintf(",instance=%q,job=\"demo\"", instance)
	}
	var b strings.Builder
	line := func(name, lbls string, v float64) {
		l := strings.TrimPrefix(lbls+extra, ",")
		fmt.Fprintf(&b, "%s{%s} %s%s\n", name, l, strconv.FormatFloat(v, 'f', -1, 64), ts)
	}
	line("http_requests_total", `code="200",handler="/a"`, c.good)
	line("http_requests_total", `code="500",handler="/a"`, c.bad)
	line("http_requests_total", `code="200",handler="/b"`, c.other)
	line("http_request_duration_seconds_bucket", `le="0.3"`, c.fast)
	line("http_request_duration_seconds_bucket", `le="+Inf"`, c.fast+c.slow)
	line("http_request_duration_seconds_count", "", c.fast+c.slow)
	return b.String()
}

// backfill writes the history, sampled every backfillStep from 7 hours
// before t0 to just before it, into Prometheus blocks in dir, and returns
// the counters' values at its end.
func backfill(t *testing.T, promtool, dir, instance string, t0 time.Time) counts {
	t.Helper()
	// OpenMetrics wants each series' samples together and in order.
	bySeries := map[string][]string{}
	var order []string
	c := initial
	next := 0
	events := slices.Clone(history)
	slices.SortFunc(events, func(a, b struct {
		ago time.Duration
		d   counts
	}) int {
		return int(b.ago - a.ago)
	})
	for at := t0.Add(-7 * time.Hour); at.Before(t0.Add(-backfillStep / 2)); at = at.Add(backfillStep) {
		for next < len(events) && !t0.Add(-events[next].ago).After(at) {
			c.add(events[next].d)
			next++
		}
		ts := " " + strconv.FormatInt(at.Unix(), 10)
		for _, l := range strings.Split(strings.TrimSpace(exposition(c, instance, ts)), "\n") {
			key := l[:strings.Index(l, "}")+1]
			if _, ok := bySeries[key]; !ok {
				order = append(order, key)
			}
			bySeries[key] = append(bySeries[key], l)
		}
	}
	if next != len(events) {
		t.Fatalf("backfilled %d of %d history events", next, len(events))
	}
	var b strings.Builder
	for _, k := range order {
		b.WriteString(strings.Join(bySeries[k], "\n") + "\n")
	}
	b.WriteString("# EOF\n")
	in := filepath.Join(t.TempDir(), "history.om")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", in, dir).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return c
}

// prometheus is the API of a real Prometheus at url.
type prometheus struct{ url string }

// waitFor polls cond until it holds, failing the test after limit with
// cond's last word on why not.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %s", limit, what, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get decodes the data of a Prometheus API answer into v.
func (p *prometheus) get(path string, params url.Values, v any) error {
	resp, err := http.Get(p.url + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// sample is one element of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) float() float64 {
	f, _ := strconv.ParseFloat(s.Value[1].(string), 64)
	return f
}

// query evaluates expr at at.
func (p *prometheus) query(t *testing.T, expr string, at time.Time) []sample {
	t.Helper()
	var data struct {
		Result []sample `json:"result"`
	}
	params := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	if err := p.get("/api/v1/query", params, &data); err != nil {
		t.Fatalf("query %s: %v", expr, err)
	}
	return data.Result
}

// historySink keeps a source's increases in one budget.History per SLO.
type historySink struct {
	mu  sync.Mutex
	h   map[string]*budget.History
	cps map[string][]byte
}

var _ source.Sink = (*historySink)(nil)

func (s *historySink) Record(_ context.Context, incs []source.Increase, cps []source.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, inc := range incs {
		h := s.h[inc.Service+"/"+inc.SLO]
		if h == nil {
			h = budget.NewHistory()
			s.h[inc.Service+"/"+inc.SLO] = h
		}
		h.Add(budget.MinuteOf(inc.Minute), budget.Counts{Good: inc.Good, Total: inc.Total})
	}
	for _, cp := range cps {
		s.cps[cp.Key] = cp.Data
	}
	return nil
}

func (s *historySink) Checkpoint(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.cps[key]
	return d, ok, nil
}

// TestRulesEquivalentToSlogate runs the generated rules in a real
// Prometheus over 7 hours of backfilled history and a few seconds of
// scraped traffic, reads the same samples with slogate's own PromQL
// source into budget trackers, and checks that both compute the same burn
// rates over every window, the same window error ratio and budget, and
// fire the same alerts.
//
// The history makes the 5m, 30m, 1h, 2h and 6h windows hold different
// events; 1d and 3d both hold all of it, and so does the 7d window.
// Counter totals differ by increase()'s extrapolation to the window's
// edges, which scales good and total alike, so they are not compared;
// the ratios are.
func TestRulesEquivalentToSlogate(t *testing.T) {
	realtest.Binary(t, "prometheus")
	promtool := realtest.Binary(t, "promtool")
	start := time.Now()

	services, err := slo.LoadServices([]string{"testdata/equivalence/shop.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	svc := services[0]
	res, err := promrules.Generate(promrules.Config{Services: services, WindowInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := res.Rules.YAML()
	if err != nil {
		t.Fatal(err)
	}

	w := &workload{}
	target := httptest.NewServer(w) // binds 127.0.0.1
	defer target.Close()
	instance := strings.TrimPrefix(target.URL, "http://")

	dir := t.TempDir()
	t0 := time.Now().Truncate(time.Second)
	w.c = backfill(t, promtool, filepath.Join(dir, "data"), instance, t0)
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	prom := &prometheus{url: realtest.StartPrometheus(t, realtest.PrometheusOptions{Dir: dir, Config: fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: [%q]
`, instance)}).URL}
	t.Logf("backfilled and started prometheus in %v", time.Since(start).Round(time.Millisecond))

	// Live traffic, scraped round by round once Prometheus scrapes the
	// target (its first scrape comes a few seconds after start).
	waitFor(t, 20*time.Second, "prometheus to scrape the target", func() (bool, string) {
		r := prom.query(t, `up{job="demo"}`, time.Now())
		return len(r) == 1 && r[0].float() == 1, fmt.Sprintf("up is %v", r)
	})
	for i, d := range live {
		if i > 0 {
			time.Sleep(time.Second)
		}
		w.add(d)
	}
	final := w.get()
	want := final.good + final.bad + final.other + final.fast + final.slow
	var seen time.Time
	waitFor(t, 20*time.Second, "prometheus to scrape the final counts", func() (bool, string) {
		r := prom.query(t, `sum(http_requests_total{job="demo"}) + sum(http_request_duration_seconds_count{job="demo"})`, time.Now())
		if len(r) != 1 {
			return false, fmt.Sprintf("got %d series", len(r))
		}
		seen = time.Now()
		return r[0].float() == want, fmt.Sprintf("got %v, want %v", r[0].float(), want)
	})
	waitFor(t, 20*time.Second, "every rule group to evaluate the final counts", func() (bool, string) {
		var data struct {
			Groups []struct {
				Name           string    `json:"name"`
				LastEvaluation time.Time `json:"lastEvaluation"`
				Rules          []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := prom.get("/api/v1/rules", nil, &data); err != nil {
			return false, err.Error()
		}
		if len(data.Groups) != len(res.Rules.Groups) {
			return false, fmt.Sprintf("%d groups loaded, want %d", len(data.Groups), len(res.Rules.Groups))
		}
		for _, g := range data.Groups {
			for _, r := range g.Rules {
				if r.Health == "err" {
					t.Fatalf("rule %s in %s: %s", r.Name, g.Name, r.LastError)
				}
			}
			// Twice: the window groups read the burn groups' series,
			// which may have been recorded just before.
			if !g.LastEvaluation.After(seen.Add(1500 * time.Millisecond)) {
				return false, fmt.Sprintf("group %s last evaluated %v, not twice since the final counts at %v", g.Name, g.LastEvaluation, seen)
			}
		}
		return true, ""
	})
	now := time.Now()
	t.Logf("live traffic scraped at %v, every rule group evaluated it at %v", seen.Sub(start).Round(time.Millisecond), now.Sub(start).Round(time.Millisecond))
	for _, e := range history {
		for _, bw := range slo.BurnWindows {
			if d := t0.Add(-e.ago).Sub(now.Add(-bw)).Abs(); d < 2*time.Minute {
				t.Fatalf("the test ran %v, too slow: the %v window now starts %v from an event, so the minute-aligned and the sliding window may differ", now.Sub(t0), bw, d)
			}
		}
	}

	// slogate's own computation, from the same samples.
	sink := &historySink{h: map[string]*budget.History{}, cps: map[string][]byte{}}
	src, err := source.NewProm(source.PromConfig{
		Source:    slo.PromSource{Name: "prom", URL: prom.url, BackfillChunk: model.Duration(2 * time.Hour)},
		Services:  services,
		Sink:      sink,
		Retention: 8 * time.Hour,
		Lag:       time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := src.Sync(ctx, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("slogate's PromQL source read the same samples by %v", time.Since(start).Round(time.Millisecond))
	statuses := map[string]budget.Status{}
	for _, s := range svc.SLOs {
		statuses[s.Name] = budget.NewTracker(s, nil, sink.h[svc.Name+"/"+s.Name]).Evaluate(now)
	}

	// Prometheus' computation, as recorded at its latest evaluations.
	recorded := map[string]float64{} // by "name slo"
	for _, s := range prom.query(t, `{__name__=~"slogate:.+"}`, now) {
		recorded[s.Metric["__name__"]+" "+s.Metric["slo"]] = s.float()
	}
	firing := map[string]bool{} // by "alertname slo severity long/short"
	for _, s := range prom.query(t, `ALERTS{alertstate="firing"}`, now) {
		m := s.Metric
		firing[m["alertname"]+" "+m["slo"]+" "+m["severity"]+" "+m["long"]+"/"+m["short"]] = true
	}

	near := func(got, want float64) bool {
		if want == 0 {
			return math.Abs(got) < 1e-9
		}
		return math.Abs(got-want) <= 0.01*math.Abs(want)
	}
	worst := 0.0
	for _, s := range svc.SLOs {
		st := statuses[s.Name]
		t.Run(s.Name+" burns at the same rates over every window", func(t *testing.T) {
			for _, b := range st.Burn {
				name := promrules.RecordName("burn_rate", b.Window) + " " + s.Name
				got, ok := recorded[name]
				if b.NoData {
					t.Errorf("%s: slogate has no data over %v", s.Name, b.Window)
					continue
				}
				if !ok {
					t.Errorf("%s: prometheus recorded nothing", name)
					continue
				}
				if !near(got, b.Rate) {
					t.Errorf("%s: prometheus %v, slogate %v (%v bad of %v); want within 1%%", name, got, b.Rate, b.Total-b.Good, b.Total)
				}
				if b.Rate != 0 {
					worst = max(worst, math.Abs(got-b.Rate)/b.Rate)
				}
				t.Logf("%-34s prometheus %-20v slogate %v", name, got, b.Rate)
			}
		})
		t.Run(s.Name+" has the same window error ratio and budget left", func(t *testing.T) {
			win := strconv.Itoa(int(s.Win.Rolling/(24*time.Hour))) + "d"
			errRatio := recorded["slogate:sli_error:ratio_rate"+win+" "+s.Name]
			if want := st.Bad / st.Total; !near(errRatio, want) {
				t.Errorf("error ratio over %s: prometheus %v, slogate %v; want within 1%%", win, errRatio, want)
			}
			remaining := recorded[promrules.RemainingName+" "+s.Name]
			if !near(1-remaining, 1-st.RemainingRatio) {
				t.Errorf("budget remaining: prometheus %v, slogate %v; want the spent share within 1%%", remaining, st.RemainingRatio)
			}
			t.Logf("budget remaining over %s: prometheus %v, slogate %v", win, remaining, st.RemainingRatio)
		})
	}

	// slogate's evaluator decides each rule alone, and the exhausted
	// budget alone, so that its grouping and inhibition (Alertmanager's
	// business with these rules) do not hide a rule that holds.
	eff, err := alerting.ConfigFor(svc).Effective()
	if err != nil {
		t.Fatal(err)
	}
	fires := func(c alerting.SLOConfig, rules []alerting.Rule, sev string) bool {
		c.Rules = rules
		ev, err := alerting.NewEvaluator(alerting.Config{Service: svc.Name, SLOs: []alerting.SLOConfig{c}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ev.Evaluate(now, map[string]budget.Status{c.Name: statuses[c.Name]}) {
			if e.Kind == alerting.EventFiring && e.Alert.Severity == sev {
				return true
			}
		}
		return false
	}
	var nFiring, nQuiet int
	for _, c := range eff.SLOs {
		t.Run(c.Name+" fires the same alerts", func(t *testing.T) {
			exhausted := fires(c, []alerting.Rule{}, alerting.SeverityTicket)
			promExhausted := firing[promrules.AlertExhausted+" "+c.Name+" ticket /"]
			if promExhausted != exhausted {
				t.Errorf("budget exhausted: prometheus firing %v, slogate %v", promExhausted, exhausted)
			}
			for _, r := range c.Rules {
				key := fmt.Sprintf("%s %s %s %s/%s", promrules.AlertBurn, c.Name, r.Severity, budgetWindow(r.Long), budgetWindow(r.Short))
				got := firing[key]
				want := fires(c, []alerting.Rule{r}, r.Severity)
				if r.Severity == alerting.SeverityTicket {
					// A ticket rule's evaluator also fires on the
					// exhausted budget.
					got = got || promExhausted
				}
				if got != want {
					t.Errorf("%v: prometheus firing %v, slogate %v", r, got, want)
				}
				if firing[key] {
					nFiring++
				} else {
					nQuiet++
				}
				t.Logf("%-36v firing %v", r, firing[key])
			}
		})
	}
	if nFiring == 0 || nQuiet == 0 {
		t.Errorf("got %d rules firing and %d quiet; want the data to make some fire and some not", nFiring, nQuiet)
	}
	t.Logf("largest relative burn-rate difference %.2g; test took %v", worst, time.Since(start).Round(time.Millisecond))
}

// budgetWindow renders a burn window as the alerts' labels do.
func budgetWindow(d time.Duration) string { return slo.Window{Rolling: d}.String() }
