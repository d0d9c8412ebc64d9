package integration

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/internal/realtest"
)

// tolerance is how far budgets read from a PromQL source may be from the
// scraper's and from what the workload served; in practice they are equal.
const tolerance = 0.005

// The SLIs of the live workload, the same for every reader.
const (
	liveGood  = `http_requests_total{job="shop",code!~"5.."}`
	liveTotal = `http_requests_total{job="shop"}`
)

// TestPromQLSourcesCountLikeTheScraper runs one workload, scraped every
// second by Prometheus, by VictoriaMetrics and by slogate's own scraper,
// and checks that the three SLOs slogate computes from them (one per
// reader, all on the same counters) count the same good and total events
// in every minute, the same events the workload served, and so report the
// same budget.
func TestPromQLSourcesCountLikeTheScraper(t *testing.T) {
	t.Parallel()
	timed(t)
	_, haveVM := realtest.LookBinary(t, "victoria-metrics")
	if !haveVM {
		t.Log("victoria-metrics not found (Debian package victoria-metrics): comparing Prometheus only")
	}
	target := newLiveTarget()
	srv := httptest.NewServer(target)
	t.Cleanup(srv.Close) // after the readers stop
	dir := t.TempDir()
	scrapeConfig := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: shop
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(srv.URL, "http://"))
	// Each reader has an SLO of its own, named after it; the PromQL
	// sources are named after their SLO too.
	type reader struct{ slo, api string }
	readers := []reader{{slo: "via-scraper"}}
	prom := realtest.StartPrometheus(t, realtest.PrometheusOptions{Dir: filepath.Join(dir, "prometheus"), Config: scrapeConfig})
	readers = append(readers, reader{"via-prometheus", prom.URL})
	if haveVM {
		vm := realtest.StartVictoriaMetrics(t, scrapeConfig)
		readers = append(readers, reader{"via-victoriametrics", vm.URL})
	}

	config := `listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
sources:
  scrape:
    - {name: shop, url: "` + srv.URL + `/metrics", interval: 1s, timeout: 1s}
  prometheus:
`
	spec := "name: shop\nowner: {team: payments}\nslos:\n"
	for _, r := range readers {
		source := ""
		if r.api != "" {
			config += fmt.Sprintf("    - {name: %s, url: %q, interval: 1s, backfillChunk: 1d}\n", r.slo, r.api)
			source = "source: " + r.slo + ", "
		}
		spec += fmt.Sprintf("  - {name: %s, objective: 95, window: 7d, sli: {%sratio: {good: '%s', total: '%s'}}}\n",
			r.slo, source, liveGood, liveTotal)
	}
	writeFiles(t, dir, map[string]string{"slogate.yaml": config, "specs/shop.yaml": spec})
	s := startSlogate(t, filepath.Join(dir, "slogate.yaml"))

	// Every reader takes its first sample, the baseline, before any
	// traffic; events before a reader's first sample are unknown to it.
	created := time.Now()
	waitFor(t, 30*time.Second, "every reader's first scrape of the idle workload", func() bool {
		for _, r := range readers[1:] {
			if !scrapedSince(t, r.api, created) {
				return false
			}
		}
		st := s.sources(t)
		return len(st.Scrape) == 1 && st.Scrape[0].Up && st.Scrape[0].LastScrape.After(created)
	})
	// Traffic runs into the next minute, so that minutes are compared on
	// both sides of a boundary: until 12s past it, or past the one after
	// when this minute has no traffic left.
	started := time.Now()
	until := started.Truncate(time.Minute).Add(time.Minute + 12*time.Second)
	if started.Second() >= 56 {
		until = until.Add(time.Minute)
	}
	stopped := target.serveUntil(until)
	perMinute, served := target.served()
	t.Logf("the workload served %.0f requests (%.0f good) in %d minutes, over %s",
		served.total, served.good, len(perMinute), stopped.Sub(started).Round(time.Second))

	// The Prometheus source reads 30s behind now, so that samples are
	// fully ingested: wait until every reader is past the last scrape of
	// the final counters, then for an evaluation of what they read.
	waitFor(t, 75*time.Second, "every reader past the end of the traffic", func() bool {
		st := s.sources(t)
		if len(st.Scrape) != 1 || !st.Scrape[0].LastScrape.After(stopped.Add(time.Second)) {
			return false
		}
		if len(st.Prometheus) != len(readers)-1 {
			return false
		}
		for _, p := range st.Prometheus {
			if p.LastError != "" {
				t.Logf("%s: %s", p.SLO, p.LastError)
			}
			if p.Backfilling || !p.Following.After(stopped.Add(3*time.Second)) {
				return false
			}
		}
		return true
	})
	s.waitEvaluation(t, time.Now())

	want := budget{Good: served.good, Total: served.total}
	want.RemainingRatio = ptr(1 - (served.total-served.good)/(0.05*served.total))
	scraped := s.sloBudget(t, "shop", "via-scraper")
	for _, r := range readers {
		got := s.sloBudget(t, "shop", r.slo)
		if got.RemainingRatio == nil || scraped.RemainingRatio == nil {
			t.Fatalf("%s: got no remaining budget (%+v), want %.4f", r.slo, got, *want.RemainingRatio)
		}
		dGood, dTotal := relDiff(got.Good, want.Good), relDiff(got.Total, want.Total)
		dRemaining := relDiff(*got.RemainingRatio, *scraped.RemainingRatio)
		t.Logf("%s: good %.0f, total %.0f, remaining %.6f; off by %.3g, %.3g from what was served, %.3g from the scraper's remaining",
			r.slo, got.Good, got.Total, *got.RemainingRatio, dGood, dTotal, dRemaining)
		if dGood > tolerance || dTotal > tolerance || relDiff(*got.RemainingRatio, *want.RemainingRatio) > tolerance || dRemaining > tolerance {
			t.Errorf("%s: got good %v, total %v, remaining %v; want %v, %v, %v (the scraper's: %v) within %.1f%%",
				r.slo, got.Good, got.Total, *got.RemainingRatio, want.Good, want.Total, *want.RemainingRatio,
				*scraped.RemainingRatio, 100*tolerance)
		}
		checkMinutes(t, s, r.slo, perMinute)
	}
}

// scrapedSince reports whether the Prometheus-compatible server at api
// scraped its one target successfully after since.
func scrapedSince(t *testing.T, api string, since time.Time) bool {
	t.Helper()
	var v struct {
		Data struct {
			ActiveTargets []struct {
				Health     string    `json:"health"`
				LastScrape time.Time `json:"lastScrape"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if getJSON(t, api+"/api/v1/targets", &v) != http.StatusOK {
		return false
	}
	ts := v.Data.ActiveTargets
	return len(ts) == 1 && ts[0].Health == "up" && ts[0].LastScrape.After(since)
}

// checkMinutes compares an SLO's per-minute good and total events, from
// slogate's series API, with what the workload served in each minute.
func checkMinutes(t *testing.T, s *slogate, slo string, served map[int64]minuteEvents) {
	t.Helper()
	var first, last int64
	for m := range served {
		if first == 0 || m < first {
			first = m
		}
		last = max(last, m)
	}
	var series struct {
		Timestamps []int64   `json:"timestamps"`
		Good       []float64 `json:"good"`
		Total      []float64 `json:"total"`
	}
	// The minutes before and after the traffic must be empty.
	from, to := time.Unix(first-60, 0).UTC(), time.Unix(last+120, 0).UTC()
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "step": {"1m"}}
	if code := getJSON(t, s.base+"/api/v1/services/shop/slos/"+slo+"/series?"+q.Encode(), &series); code != http.StatusOK {
		t.Fatalf("%s series: got %d", slo, code)
	}
	worst := 0.0
	for i, end := range series.Timestamps {
		minute := end - 60 // a point counts the step that ends at its timestamp
		want := served[minute]
		worst = max(worst, relDiff(series.Good[i], want.good), relDiff(series.Total[i], want.total))
		if relDiff(series.Good[i], want.good) > tolerance || relDiff(series.Total[i], want.total) > tolerance {
			t.Errorf("%s in the minute from %s: got %v good of %v, want %v of %v",
				slo, time.Unix(minute, 0).UTC().Format("15:04"), series.Good[i], series.Total[i], want.good, want.total)
		}
	}
	t.Logf("%s: %d minutes compared one by one, largest difference %.3g", slo, len(series.Timestamps), worst)
}

func ptr[T any](v T) *T { return &v }

// TestHistoryIsBackfilledFromPrometheus loads seven days of generated
// counter history into a fresh Prometheus with promtool, starts slogate on
// it, and checks that slogate's first start backfills exactly the events
// the generator knows of, for an always-on SLO and for a business-hours one.
func TestHistoryIsBackfilledFromPrometheus(t *testing.T) {
	t.Parallel()
	timed(t)
	promtool := realtest.Binary(t, "promtool")
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	h := makeHistory(time.Now(), berlin)
	om, err := h.openMetrics()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "prometheus", "data")
	writeFiles(t, dir, map[string]string{"history.om": string(om)})
	// Blocks of up to a day rather than promtool's default 2h: fewer for
	// Prometheus to open. Prometheus keeps 30d, more than
	// the seven days loaded.
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", "--quiet",
		filepath.Join(dir, "history.om"), data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	// A Prometheus that scrapes nothing: its head stays empty, and only
	// the loaded blocks hold data.
	prom := realtest.StartPrometheus(t, realtest.PrometheusOptions{
		Dir:    filepath.Join(dir, "prometheus"),
		Config: "global: {scrape_interval: 15s}\n",
		Args:   []string{"--storage.tsdb.retention.time=30d"},
	})

	writeFiles(t, dir, map[string]string{
		"slogate.yaml": fmt.Sprintf(`listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
retentionMargin: 1h
sources:
  prometheus:
    - {name: history, url: %q, interval: 2s, backfillChunk: 1d}
schedules:
  - name: berlin-business-hours
    timeZone: Europe/Berlin
    weekly: [{days: [mon-fri], hours: ["09:00-17:00"]}]
`, prom.URL),
		"specs/shop.yaml": `name: shop
owner: {team: payments}
slos:
  - name: availability
    objective: 99
    window: 7d
    sli: {source: history, ratio: {good: 'http_requests_total{job="shop",code!~"5.."}', total: 'http_requests_total{job="shop"}'}}
  - name: business-hours
    objective: 99
    window: 7d
    schedule: berlin-business-hours
    sli: {source: history, ratio: {good: 'http_requests_total{job="shop",code!~"5.."}', total: 'http_requests_total{job="shop"}'}}
`,
	})
	s := startSlogate(t, filepath.Join(dir, "slogate.yaml"))
	lastSample := h.minutes[len(h.minutes)-1].at.Add(sampleOffset)
	waitFor(t, 60*time.Second, "the backfill of both SLOs", func() bool {
		st := s.sources(t)
		if len(st.Prometheus) != 2 {
			return false
		}
		for _, p := range st.Prometheus {
			if p.LastError != "" {
				t.Logf("%s: %s", p.SLO, p.LastError)
			}
			if p.Backfilling || p.Progress < 1 || p.Following.Before(lastSample) {
				return false
			}
		}
		return true
	})
	s.waitEvaluation(t, time.Now())

	always := func(time.Time) bool { return true }
	inHours := businessHours(berlin)
	outageIn := 0
	for m := h.outage[0]; m.Before(h.outage[1]); m = m.Add(time.Minute) {
		if inHours(m) {
			outageIn++
		}
	}
	weekend := 0
	for _, m := range h.minutes {
		if wd := m.at.In(berlin).Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekend++
		}
	}
	t.Logf("history: %d minutes from %s, %d of them at weekends; outage %s to %s (%d of its %.0f minutes in business hours); counters reset at %s",
		len(h.minutes), h.first.Format(time.RFC3339), weekend, h.outage[0].Format(time.RFC3339), h.outage[1].Format(time.RFC3339),
		outageIn, h.outage[1].Sub(h.outage[0]).Minutes(), h.reset.Format(time.RFC3339))
	if weekend == 0 || outageIn == 0 || outageIn == int(h.outage[1].Sub(h.outage[0]).Minutes()) {
		t.Fatalf("the generated history lacks a weekend or an outage across the end of business hours")
	}
	for _, c := range []struct {
		slo     string
		counted func(time.Time) bool
	}{{"availability", always}, {"business-hours", inHours}} {
		good, total := h.events(c.counted)
		wantRemaining := 1 - float64(total-good)/(0.01*float64(total))
		got := s.sloBudget(t, "shop", c.slo)
		if got.RemainingRatio == nil {
			t.Fatalf("%s: got no remaining budget (%+v), want %v", c.slo, got, wantRemaining)
		}
		t.Logf("%s: good %.0f of %.0f, remaining %.6f; the generator says %d of %d, remaining %.6f",
			c.slo, got.Good, got.Total, *got.RemainingRatio, good, total, wantRemaining)
		if got.Good != float64(good) || got.Total != float64(total) || math.Abs(*got.RemainingRatio-wantRemaining) > 1e-9 {
			t.Errorf("%s: got good %v, total %v, remaining %v; want exactly %d, %d, %v",
				c.slo, got.Good, got.Total, *got.RemainingRatio, good, total, wantRemaining)
		}
	}
}

// promSample is one element of a Prometheus instant vector.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// promQuery runs an instant query against Prometheus' HTTP API.
func promQuery(t *testing.T, base, query string) []promSample {
	t.Helper()
	var v struct {
		Status string `json:"status"`
		Data   struct {
			Result []promSample `json:"result"`
		} `json:"data"`
	}
	if code := getJSON(t, base+"/api/v1/query?"+url.Values{"query": {query}}.Encode(), &v); code != http.StatusOK || v.Status != "success" {
		t.Fatalf("query %s: got %d %s", query, code, v.Status)
	}
	return v.Data.Result
}

// TestPrometheusScrapesBudgets has Prometheus scrape slogate's /metrics
// and checks that Prometheus' API answers each SLO's remaining budget with
// slogate's labels and the value slogate's own API gives.
func TestPrometheusScrapesBudgets(t *testing.T) {
	t.Parallel()
	timed(t)
	realtest.Binary(t, "prometheus")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"slogate.yaml": "listen: 127.0.0.1:0\nstorage: data/slogate.db\nspecs: [specs]\nevaluationInterval: 1s\n",
		"specs/checkout.yaml": "name: checkout\nowner: {team: payments}\nslos:\n" +
			"  - {name: availability, objective: 99, window: 7d, sli: {push: {}}}\n",
		"specs/search.yaml": "name: search\nowner: {team: discovery}\nslos:\n" +
			"  - {name: success, objective: 99.5, window: 28d, sli: {push: {}}}\n",
	})
	s := startSlogate(t, filepath.Join(dir, "slogate.yaml"))
	now := time.Now().UTC().Truncate(time.Minute)
	var events []string
	for i := range 30 {
		at := now.Add(-time.Duration(i) * 7 * time.Minute).Format(time.RFC3339)
		events = append(events,
			fmt.Sprintf(`{"service":"checkout","slo":"availability","good":%d,"total":1000,"timestamp":%q}`, 997-i%5, at),
			fmt.Sprintf(`{"service":"search","slo":"success","good":%d,"total":400,"timestamp":%q}`, 399-i%2, at))
	}
	postJSON(t, s.base+"/api/v1/events", "["+strings.Join(events, ",")+"]")
	waitFor(t, 15*time.Second, "the pushed events in both budgets", func() bool {
		return s.sloBudget(t, "checkout", "availability").Total == 30000 && s.sloBudget(t, "search", "success").Total == 12000
	})

	prom := realtest.StartPrometheus(t, realtest.PrometheusOptions{Dir: filepath.Join(dir, "prometheus"), Config: fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: slogate
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(s.base, "http://"))})

	want := map[string]struct{ service, slo, team string }{
		"checkout": {"checkout", "availability", "payments"},
		"search":   {"search", "success", "discovery"},
	}
	var got []promSample
	waitFor(t, 20*time.Second, "Prometheus to have scraped both budgets", func() bool {
		got = promQuery(t, prom.URL, `slogate_slo_error_budget_remaining_ratio{job="slogate"}`)
		return len(got) == len(want)
	})
	for _, g := range got {
		w, ok := want[g.Metric["service"]]
		if !ok || g.Metric["slo"] != w.slo || g.Metric["team"] != w.team {
			t.Errorf("got series %v, want service, slo and team of one of %v", g.Metric, want)
			continue
		}
		raw, _ := g.Value[1].(string)
		var v float64
		if _, err := fmt.Sscan(raw, &v); err != nil {
			t.Fatalf("series %v: value %q: %v", g.Metric, raw, err)
		}
		b := s.sloBudget(t, w.service, w.slo)
		if b.RemainingRatio == nil || v != *b.RemainingRatio {
			t.Errorf("%s/%s: Prometheus has %v, slogate's API %v; want them equal", w.service, w.slo, v, b.RemainingRatio)
			continue
		}
		t.Logf("%s/%s (team %s): remaining %v in Prometheus and in slogate's API", w.service, w.slo, w.team, v)
	}
}

// amAlert is an alert as Alertmanager's GET /api/v2/alerts lists it.
type amAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

func amAlerts(t *testing.T, base, service string) []amAlert {
	t.Helper()
	var v []amAlert
	q := url.Values{"filter": {fmt.Sprintf("service=%q", service)}}
	if code := getJSON(t, base+"/api/v2/alerts?"+q.Encode(), &v); code != http.StatusOK {
		t.Fatalf("alertmanager alerts: got %d", code)
	}
	return v
}

// pushMinutes pushes total events a minute, bad of them failed, for every
// minute in [from, to).
func pushMinutes(t *testing.T, s *slogate, from, to time.Time, total, bad int) {
	t.Helper()
	var evs []string
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		evs = append(evs, fmt.Sprintf(`{"service":"shop","slo":"availability","good":%d,"total":%d,"timestamp":%q}`,
			total-bad, total, m.Format(time.RFC3339)))
	}
	postJSON(t, s.base+"/api/v1/events", "["+strings.Join(evs, ",")+"]")
}

// TestAlertReachesAlertmanagerAndResolves burns a service's budget through
// pushed events: the page reaches a real Alertmanager with the service,
// SLO, severity and team labels, and once the service recovers the
// resolve ends it there.
//
// The config shortens the hold-down (alerting.holdDown, 5 minutes by
// default) to 10 seconds, so the resolve follows the recovery quickly.
func TestAlertReachesAlertmanagerAndResolves(t *testing.T) {
	t.Parallel()
	timed(t)
	dir := t.TempDir()
	am := realtest.StartAlertmanager(t).URL
	writeFiles(t, dir, map[string]string{
		"slogate.yaml": fmt.Sprintf(`listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
receivers:
  - {name: am, type: alertmanager, url: %q}
alerting:
  receivers: [am]
  holdDown: 10s
`, am),
		"specs/shop.yaml": `name: shop
owner: {team: payments}
runbook: https://runbooks.example.com/shop
slos:
  - {name: availability, objective: 99.9, window: 28d, sli: {push: {}}}
`,
	})
	s := startSlogate(t, filepath.Join(dir, "slogate.yaml"))

	// An hour of clean traffic, then every request of the last two
	// minutes failing: a burn of 400 over 5m and 32 over 1h pages.
	now := time.Now().UTC().Truncate(time.Minute)
	failed := time.Now()
	pushMinutes(t, s, now.Add(-60*time.Minute), now.Add(-time.Minute), 100, 0)
	pushMinutes(t, s, now.Add(-time.Minute), now.Add(time.Minute), 100, 100)
	var firing []amAlert
	waitFor(t, 30*time.Second, "the page in Alertmanager", func() bool {
		firing = amAlerts(t, am, "shop")
		return len(firing) > 0
	})
	a := firing[0]
	t.Logf("Alertmanager has the page %s after the failures were pushed: %v", time.Since(failed).Round(100*time.Millisecond), a.Labels)
	wantLabels := map[string]string{"service": "shop", "slo": "availability", "severity": "page", "team": "payments"}
	for k, v := range wantLabels {
		if a.Labels[k] != v {
			t.Errorf("label %s: got %q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if len(firing) != 1 || a.Status.State != "active" || !a.EndsAt.After(time.Now()) {
		t.Fatalf("got %d alerts, the first %s ending %s; want one active alert", len(firing), a.Status.State, a.EndsAt)
	}

	// Recovery: a flood of good requests in the current minute brings
	// every burn rate below its threshold.
	recovered := time.Now()
	pushMinutes(t, s, time.Now().UTC().Truncate(time.Minute), time.Now().UTC().Truncate(time.Minute).Add(time.Minute), 1_000_000, 0)
	waitFor(t, 15*time.Second, "slogate to see the page's conditions clear", func() bool {
		page := pageAlert(t, s)
		return page != nil && len(page.SLOs) == 1 && !page.SLOs[0].Firing
	})
	waitFor(t, time.Minute, "the page resolved in Alertmanager", func() bool {
		return len(amAlerts(t, am, "shop")) == 0
	})
	t.Logf("Alertmanager resolved the page %s after the recovery", time.Since(recovered).Round(100*time.Millisecond))
	// The outbox records the delivery just after Alertmanager answers.
	type note struct {
		Kind   string `json:"kind"`
		Status string `json:"status"`
	}
	var notes struct {
		Notifications []note `json:"notifications"`
	}
	waitFor(t, 10*time.Second, "the resolve logged as sent", func() bool {
		getJSON(t, s.base+"/api/v1/notifications?receiver=am", &notes)
		return len(notes.Notifications) > 0 && notes.Notifications[0] == note{"resolve", "sent"}
	})
	if len(notes.Notifications) != 2 || notes.Notifications[1] != (note{"trigger", "sent"}) {
		t.Errorf("notifications to Alertmanager, newest first: got %+v, want the trigger and the resolve, both sent", notes.Notifications)
	}
}

// pageAlert returns the open page of service shop from slogate's alerts
// API, or nil.
func pageAlert(t *testing.T, s *slogate) *alerting.Alert {
	t.Helper()
	var v struct {
		Alerts []struct {
			alerting.Alert
			State string `json:"state"`
		} `json:"alerts"`
	}
	getJSON(t, s.base+"/api/v1/alerts?service=shop", &v)
	for _, a := range v.Alerts {
		if a.Severity == alerting.SeverityPage && a.State == "firing" {
			return &a.Alert
		}
	}
	return nil
}
