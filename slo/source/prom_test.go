package source

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/internal/realtest"
	"github.com/slogate/slogate/slo"
)

// workload is a service under test exposing request counters and a latency
// histogram that the test increments.
type workload struct {
	mu       sync.Mutex
	requests map[[2]string]int // handler, code → count
	fast     int               // requests at or under 0.5s
	slow     int
}

func newWorkload() *workload {
	w := &workload{requests: make(map[[2]string]int)}
	// Every series exists from the start, so the scraper and Prometheus
	// both see its zero as the baseline.
	for _, h := range []string{"/a", "/b"} {
		for _, c := range []string{"200", "500"} {
			w.requests[[2]string{h, c}] = 0
		}
	}
	return w
}

func (w *workload) burst(handler, code string, n int, fast bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests[[2]string{handler, code}] += n
	if fast {
		w.fast += n
	} else {
		w.slow += n
	}
}

// reset simulates a restart of the service: every counter starts over.
func (w *workload) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range w.requests {
		w.requests[k] = 0
	}
	w.fast, w.slow = 0, 0
}

// total is the sum of all request counters, to tell when a reader saw the
// latest values.
func (w *workload) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, v := range w.requests {
		n += v
	}
	return n
}

func (w *workload) ServeHTTP(rw http.ResponseWriter, _ *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([][2]string, 0, len(w.requests))
	for k := range w.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintln(rw, "# TYPE http_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(rw, "http_requests_total{handler=%q,code=%q} %d\n", k[0], k[1], w.requests[k])
	}
	fmt.Fprintln(rw, "# TYPE http_request_duration_seconds histogram")
	fmt.Fprintf(rw, "http_request_duration_seconds_bucket{le=\"0.5\"} %d\n", w.fast)
	fmt.Fprintf(rw, "http_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", w.fast+w.slow)
	fmt.Fprintf(rw, "http_request_duration_seconds_sum %d\n", w.fast+10*w.slow)
	fmt.Fprintf(rw, "http_request_duration_seconds_count %d\n", w.fast+w.slow)
}

// demoSLOs are the SLOs both readers count, from the given source.
func demoSLOs(t testing.TB, source string) []*slo.Service {
	return []*slo.Service{{Name: "demo", SLOs: []slo.SLO{
		ratioSLO(t, "availability", source, `http_requests_total{job="demo",code!~"5.."}`, "", `http_requests_total{job="demo"}`),
		ratioSLO(t, "errors-a", source, "", `http_requests_total{job="demo",handler="/a",code=~"5.."}`, `http_requests_total{job="demo",handler="/a"}`),
		latencySLO(t, "latency", source, "http_request_duration_seconds", `{job="demo"}`, "0.5"),
	}}}
}

// startPrometheus runs a real Prometheus scraping target every second.
func startPrometheus(t *testing.T, target string) *realtest.Server {
	t.Helper()
	return realtest.StartPrometheus(t, realtest.PrometheusOptions{Config: fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: [%q]
`, target)})
}

// instantTotal returns the sum of the latest http_requests_total samples.
func instantTotal(prom *realtest.Server) (float64, bool) {
	resp, err := http.Get(prom.URL + `/api/v1/query?query=sum(http_requests_total{job="demo"})`)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// {"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[ts,"N"]}]}}
	s := string(b)
	i := strings.LastIndex(s, `,"`)
	j := strings.LastIndex(s, `"]`)
	if i < 0 || j < i {
		return 0, false
	}
	var v float64
	if _, err := fmt.Sscan(s[i+2:j], &v); err != nil {
		return 0, false
	}
	return v, true
}

// promTestLag is how far behind now the Prometheus source reads in the
// test; it covers Prometheus' ingestion delay with 1s scrapes.
const promTestLag = 1500 * time.Millisecond

// waitBoth waits until Prometheus and the scraper saw the workload's
// current values, and long enough that a Sync at the returned time reads
// them.
func waitBoth(t *testing.T, prom *realtest.Server, s *Scraper, w *workload) time.Time {
	t.Helper()
	want := float64(w.total())
	since := time.Now()
	deadline := since.Add(20 * time.Second)
	for {
		v, ok := instantTotal(prom)
		h := s.Health()[0]
		if ok && v == want && h.Up && h.LastScrape.After(since) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: prometheus has %v (ok %v), scraper health %+v; want total %v", v, ok, h, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(promTestLag + 100*time.Millisecond)
	return time.Now()
}

func TestPromSourceCountsLikeTheScraper(t *testing.T) {
	w := newWorkload()
	srv := httptest.NewServer(w) // binds 127.0.0.1
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	prom := startPrometheus(t, host)

	scrapeSink := &fakeSink{}
	scraper, err := NewScraper(ScraperConfig{
		Targets:  []slo.ScrapeTarget{{Name: "demo", URL: srv.URL + "/metrics", Interval: model.Duration(time.Second)}},
		Services: demoSLOs(t, ""),
		Sink:     scrapeSink,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scraperDone := make(chan struct{})
	go func() { _ = scraper.Run(ctx); close(scraperDone) }()
	defer func() { cancel(); <-scraperDone }()

	// Both must have their baseline before any traffic.
	waitBoth(t, prom, scraper, w)

	traffic := func(rounds int) {
		for i := range rounds {
			w.burst("/a", "200", 17+i, true)
			w.burst("/a", "500", 2, false)
			w.burst("/b", "200", 5*i, i%2 == 0)
			time.Sleep(400 * time.Millisecond)
		}
	}
	traffic(5)
	// Both must see the last values before the reset, or the events
	// between their last scrape and the reset are lost to one of them.
	waitBoth(t, prom, scraper, w)
	// A restart of the workload resets its counters; keep the new values
	// below the old ones so that both readers see the reset.
	w.reset()
	w.burst("/a", "200", 3, true)
	w.burst("/a", "500", 1, false)
	now := waitBoth(t, prom, scraper, w)

	promSink := &fakeSink{}
	newProm := func() *Prom {
		p, err := NewProm(PromConfig{
			Source:    slo.PromSource{Name: "prom", URL: prom.URL, Interval: model.Duration(time.Second), BackfillChunk: model.Duration(2 * time.Minute)},
			Services:  demoSLOs(t, "prom"),
			Sink:      promSink,
			Retention: 10 * time.Minute,
			Lag:       promTestLag,
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	compare := func(when string) {
		t.Helper()
		got, want := promSink.sums(), scrapeSink.sums()
		if !equalSums(got, want) {
			t.Errorf("%s: prometheus source counted %v, scraper %v; want equal", when, got, want)
		}
		if len(want) != 3 {
			t.Errorf("%s: the scraper counted %v; want all 3 SLOs counted", when, want)
		}
		checkIncreases(t, promSink.increases())
		t.Logf("%s: both counted %v", when, want)
	}

	p := newProm()
	if err := p.Sync(ctx, now); err != nil {
		t.Fatal(err)
	}
	compare("after the backfill")
	for _, st := range p.Status() {
		if st.Backfilling || st.Progress != 1 || st.LastError != "" || st.HistorySince.IsZero() || st.Following.IsZero() {
			t.Errorf("status after the backfill: got %+v, want complete, following, with partial history", st)
		}
	}

	t.Run("a follow round counts new traffic", func(t *testing.T) {
		traffic(3)
		now := waitBoth(t, prom, scraper, w)
		if err := p.Sync(ctx, now); err != nil {
			t.Fatal(err)
		}
		compare("after following")
	})

	t.Run("a restarted source resumes from its checkpoint without double counting", func(t *testing.T) {
		traffic(2)
		now := waitBoth(t, prom, scraper, w)
		p = newProm()
		if err := p.Sync(ctx, now); err != nil {
			t.Fatal(err)
		}
		compare("after a restart")
	})

	t.Run("a backend outage is caught up once it is back", func(t *testing.T) {
		prom.Stop()
		traffic(3)
		err := p.Sync(ctx, time.Now())
		if err == nil {
			t.Fatal("Sync with Prometheus down: got no error")
		}
		for _, st := range p.Status() {
			if st.LastError == "" {
				t.Errorf("status with Prometheus down: got %+v, want an error", st)
			}
		}
		prom.Start()
		traffic(2)
		now := waitBoth(t, prom, scraper, w)
		if err := p.Sync(ctx, now); err != nil {
			t.Fatal(err)
		}
		compare("after the outage")
		for _, st := range p.Status() {
			if st.LastError != "" {
				t.Errorf("status after the outage: got %+v, want no error", st)
			}
		}
	})
}
