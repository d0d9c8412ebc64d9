package source

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/slo"
)

// benchPayload returns an exposition of about 10,000 series: request
// counters and latency histograms of 200 handlers, and unrelated metrics.
func benchPayload(step int) (string, int) {
	var b strings.Builder
	n := 0
	b.WriteString("# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n")
	for h := range 200 {
		for _, method := range []string{"GET", "POST"} {
			for _, code := range []string{"200", "201", "204", "301", "400", "404", "429", "500", "502", "503"} {
				fmt.Fprintf(&b, "http_requests_total{handler=\"/api/v1/resource/%d\",method=%q,code=%q} %d\n", h, method, code, 1000+h*step)
				n++
			}
		}
	}
	b.WriteString("# HELP http_request_duration_seconds Latency.\n# TYPE http_request_duration_seconds histogram\n")
	for h := range 200 {
		for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
			fmt.Fprintf(&b, "http_request_duration_seconds_bucket{handler=\"/api/v1/resource/%d\",le=%q} %d\n", h, le, 500+h*step)
			n++
		}
		fmt.Fprintf(&b, "http_request_duration_seconds_sum{handler=\"/api/v1/resource/%d\"} %d.5\n", h, 100+h*step)
		fmt.Fprintf(&b, "http_request_duration_seconds_count{handler=\"/api/v1/resource/%d\"} %d\n", h, 500+h*step)
		n += 2
	}
	b.WriteString("# TYPE node_cpu_seconds_total counter\n")
	for cpu := range 400 {
		for _, mode := range []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"} {
			if n >= 10000 {
				break
			}
			fmt.Fprintf(&b, "node_cpu_seconds_total{cpu=\"%d\",mode=%q} %d.25\n", cpu, mode, 12345+cpu*step)
			n++
		}
	}
	return b.String(), n
}

// benchServices returns 20 SLOs over the payload's metrics.
func benchServices(tb testing.TB) []*slo.Service {
	svc := &slo.Service{Name: "api"}
	for i := range 10 {
		h := fmt.Sprintf("/api/v1/resource/%d", i*17)
		svc.SLOs = append(svc.SLOs,
			ratioSLO(tb, fmt.Sprintf("availability-%d", i), "", "", fmt.Sprintf(`http_requests_total{job="api",handler=%q,code=~"5.."}`, h), fmt.Sprintf(`http_requests_total{job="api",handler=%q}`, h)),
			latencySLO(tb, fmt.Sprintf("latency-%d", i), "", "http_request_duration_seconds", fmt.Sprintf(`{job="api",handler=%q}`, h), "0.25"),
		)
	}
	return []*slo.Service{svc}
}

// BenchmarkScrapeParse measures parsing and matching a 10,000-series
// exposition against 20 SLOs in steady state (series seen before).
func BenchmarkScrapeParse(b *testing.B) {
	bodies := make([][]byte, 2)
	var n int
	for i := range bodies {
		var s string
		s, n = benchPayload(i + 1)
		bodies[i] = []byte(s)
	}
	s, err := NewScraper(ScraperConfig{
		Targets:  []slo.ScrapeTarget{{Name: "api", URL: "http://127.0.0.1:1/metrics"}},
		Services: benchServices(b),
		Sink:     &fakeSink{},
	})
	if err != nil {
		b.Fatal(err)
	}
	tg := s.targets[0]
	p := s.plan.Load()
	body := make([]byte, 0, len(bodies[0])+1)
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		body = append(body[:0], bodies[i%2]...)
		got, err := tg.parse(body, "text/plain; version=0.0.4", p, int64(i)*15000, uint64(i+1))
		if err != nil || got != n {
			b.Fatalf("got (%d, %v), want %d samples", got, err, n)
		}
		tg.ctr.commit()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	if len(tg.ctr.m) != 10*20+10*2 {
		b.Errorf("got %d matched series, want %d", len(tg.ctr.m), 10*20+10*2)
	}
}

// BenchmarkScrapeOnce measures whole scrapes over HTTP: fetch, parse,
// match, count and record.
func BenchmarkScrapeOnce(b *testing.B) {
	exp := &exposition{}
	exp.body, _ = benchPayload(1)
	srv := httptest.NewServer(exp)
	defer srv.Close()
	clock := &fakeClock{t: t0}
	s, err := NewScraper(ScraperConfig{
		Targets:  []slo.ScrapeTarget{{Name: "api", URL: srv.URL, Interval: model.Duration(time.Minute)}},
		Services: benchServices(b),
		Sink:     &fakeSink{RecordFunc: func([]Increase, []Checkpoint) error { return nil }},
		Now:      clock.Now,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		clock.Add(15 * time.Second)
		if err := s.ScrapeOnce(context.Background(), "api"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// FuzzScrapeBody checks that no body makes parsing and matching panic, in
// either text format.
func FuzzScrapeBody(f *testing.F) {
	body, _ := benchPayload(1)
	f.Add([]byte(body[:2000]), false)
	f.Add([]byte(requests(10, 2)), false)
	f.Add([]byte("# TYPE a counter\na_total{x=\"1\"} 1 123\n# EOF\n"), true)
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_count 2\n"), false)
	f.Add([]byte(`{"http_requests_total",code="200"} 1`+"\n"), false)
	f.Add([]byte("http_requests_total{code=\"200\"} NaN\nhttp_requests_total{code=\"200\"} +Inf\n"), false)
	services := append(benchServices(f), demoService(f))
	s, err := NewScraper(ScraperConfig{
		Targets:  []slo.ScrapeTarget{{Name: "demo", URL: "http://127.0.0.1:1/metrics"}},
		Services: services,
		Sink:     &fakeSink{},
	})
	if err != nil {
		f.Fatal(err)
	}
	p := s.plan.Load()
	f.Fuzz(func(t *testing.T, body []byte, openMetrics bool) {
		ct := "text/plain; version=0.0.4"
		if openMetrics {
			ct = "application/openmetrics-text; version=1.0.0"
		}
		tg := s.targets[0]
		tg.ctr = newCounters()
		clear(tg.cache)
		for round := range uint64(2) {
			if _, err := tg.parse(append([]byte(nil), body...), ct, p, int64(round)*1000, round+1); err != nil {
				return
			}
			for _, tl := range tg.tallies {
				if inc, ok := tl.increase("s", "o", false, t0); ok && (inc.Good < 0 || inc.Good > inc.Total) {
					t.Fatalf("got increase %+v, want 0 <= good <= total", inc)
				}
			}
			tg.ctr.commit()
		}
	})
}
