package source

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/slo"
)

// exposition is a test target serving whatever body was set last.
type exposition struct {
	mu          sync.Mutex
	body        string
	contentType string
	status      int
	delay       time.Duration
}

func (e *exposition) set(body string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.body = body
}

func (e *exposition) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	body, ct, status, delay := e.body, e.contentType, e.status, e.delay
	e.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if ct == "" {
		ct = "text/plain; version=0.0.4; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	if status != 0 {
		w.WriteHeader(status)
	}
	_, _ = w.Write([]byte(body))
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func demoService(t testing.TB) *slo.Service {
	return &slo.Service{Name: "demo", SLOs: []slo.SLO{
		ratioSLO(t, "availability", "", `http_requests_total{job="demo",code!~"5.."}`, "", `http_requests_total{job="demo"}`),
		ratioSLO(t, "errors", "", "", `http_requests_total{job="demo",code=~"5.."}`, `http_requests_total{job="demo"}`),
		latencySLO(t, "latency", "", "http_request_duration_seconds", `{job="demo"}`, "0.5"),
		{Name: "pushed", SLI: slo.SLI{Push: &slo.PushSLI{}}},
	}}
}

type scrapeEnv struct {
	exp     *exposition
	srv     *httptest.Server
	sink    *fakeSink
	clock   *fakeClock
	set     *metrics.Set
	scraper *Scraper
}

func newScrapeEnv(t *testing.T, services []*slo.Service, mod func(*slo.ScrapeTarget)) *scrapeEnv {
	t.Helper()
	e := &scrapeEnv{exp: &exposition{}, sink: &fakeSink{}, clock: &fakeClock{t: t0}, set: metrics.NewSet()}
	e.srv = httptest.NewServer(e.exp)
	t.Cleanup(e.srv.Close)
	e.scraper = e.newScraper(t, services, mod)
	return e
}

func (e *scrapeEnv) newScraper(t *testing.T, services []*slo.Service, mod func(*slo.ScrapeTarget)) *Scraper {
	t.Helper()
	tg := slo.ScrapeTarget{Name: "demo", URL: e.srv.URL + "/metrics", Interval: model.Duration(time.Second)}
	if mod != nil {
		mod(&tg)
	}
	s, err := NewScraper(ScraperConfig{Targets: []slo.ScrapeTarget{tg}, Services: services, Sink: e.sink, Metrics: e.set, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// scrape serves body, scrapes and returns the increases recorded by it.
func (e *scrapeEnv) scrape(t *testing.T, body string) ([]Increase, error) {
	t.Helper()
	before := len(e.sink.increases())
	e.exp.set(body)
	e.clock.Add(15 * time.Second)
	err := e.scraper.ScrapeOnce(context.Background(), "demo")
	incs := e.sink.increases()[before:]
	checkIncreases(t, incs)
	return incs, err
}

// sumIncs sums increases per "service/slo".
func sumIncs(incs []Increase) map[string]sum {
	out := make(map[string]sum)
	for _, inc := range incs {
		s := out[inc.Service+"/"+inc.SLO]
		s.Good += inc.Good
		s.Total += inc.Total
		out[inc.Service+"/"+inc.SLO] = s
	}
	return out
}

func equalSums(a, b map[string]sum) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func requests(ok200, err500 int) string {
	return "# TYPE http_requests_total counter\n" +
		`http_requests_total{handler="/a",code="200"} ` + itoa(ok200) + "\n" +
		`http_requests_total{handler="/a",code="500"} ` + itoa(err500) + "\n"
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestScraperCountsIncreases(t *testing.T) {
	hist := func(le05, inf int) string {
		return "# TYPE http_request_duration_seconds histogram\n" +
			`http_request_duration_seconds_bucket{le="0.1"} 0` + "\n" +
			`http_request_duration_seconds_bucket{le="0.5"} ` + itoa(le05) + "\n" +
			`http_request_duration_seconds_bucket{le="+Inf"} ` + itoa(inf) + "\n" +
			`http_request_duration_seconds_sum 3` + "\n" +
			`http_request_duration_seconds_count ` + itoa(inf) + "\n"
	}
	type step struct {
		body string
		want map[string]sum
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the first scrape is a baseline and later ones count increases", []step{
			{requests(100, 5), nil},
			{requests(190, 15), map[string]sum{"demo/availability": {90, 100}, "demo/errors": {90, 100}}},
			{requests(190, 15), nil},
		}},
		{"a counter reset counts the new values", []step{
			{requests(100, 5), nil},
			{requests(7, 3), map[string]sum{"demo/availability": {7, 10}, "demo/errors": {7, 10}}},
		}},
		{"a histogram counts requests under the threshold as good", []step{
			{hist(10, 12), nil},
			{hist(18, 22), map[string]sum{"demo/latency": {8, 10}}},
		}},
		{"a series that appears later starts as a baseline", []step{
			{"http_requests_total{code=\"200\"} 10\n", nil},
			{requests(20, 4), map[string]sum{"demo/availability": {0, 0}}},
			{requests(25, 6), map[string]sum{"demo/availability": {5, 7}, "demo/errors": {5, 7}}},
		}},
		{"a series whose labels change is neither double counted nor an error", []step{
			{`http_requests_total{code="200",version="1"} 50` + "\n", nil},
			{`http_requests_total{code="200",version="1"} 60` + "\n", map[string]sum{"demo/availability": {10, 10}, "demo/errors": {10, 10}}},
			{`http_requests_total{code="200",version="2"} 3` + "\n", nil},
			{`http_requests_total{code="200",version="2"} 8` + "\n", map[string]sum{"demo/availability": {5, 5}, "demo/errors": {5, 5}}},
		}},
		{"target labels win over exposed job and instance labels", []step{
			{`http_requests_total{job="other",code="200"} 1` + "\n", nil},
			{`http_requests_total{job="other",code="200"} 4` + "\n", map[string]sum{"demo/availability": {3, 3}, "demo/errors": {3, 3}}},
		}},
		{"gauges are never counted even when a selector names them", []step{
			{"# TYPE http_requests_total gauge\n" + `http_requests_total{code="200"} 10` + "\n", nil},
			{"# TYPE http_requests_total gauge\n" + `http_requests_total{code="200"} 30` + "\n", nil},
		}},
		{"other metrics are ignored", []step{
			{"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1\n", nil},
			{"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 9\n", nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newScrapeEnv(t, []*slo.Service{demoService(t)}, nil)
			for i, st := range tt.steps {
				incs, err := e.scrape(t, st.body)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				want := map[string]sum{}
				for k, v := range st.want {
					if v.Total > 0 {
						want[k] = v
					}
				}
				if got := sumIncs(incs); !equalSums(got, want) {
					t.Errorf("step %d: got %v, want %v", i, got, want)
				}
				for _, inc := range incs {
					if want := minuteOf(millis(e.clock.Now())); !inc.Minute.Equal(want) {
						t.Errorf("step %d: increase in minute %v, want the scrape's minute %v", i, inc.Minute, want)
					}
				}
			}
		})
	}
}

func TestScraperParsesOpenMetrics(t *testing.T) {
	e := newScrapeEnv(t, []*slo.Service{demoService(t)}, nil)
	e.exp.contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	om := func(n int) string {
		return "# TYPE http_requests counter\n" + `http_requests_total{code="200"} ` + itoa(n) + "\n# EOF\n"
	}
	if _, err := e.scrape(t, om(1)); err != nil {
		t.Fatal(err)
	}
	incs, err := e.scrape(t, om(5))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sumIncs(incs)["demo/availability"], (sum{4, 4}); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestScraperMarksBadTargetsDown(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *scrapeEnv)
		body    string
		target  func(*slo.ScrapeTarget)
		wantErr string
	}{
		{"an HTTP error status", func(e *scrapeEnv) { e.exp.status = 500 }, requests(1, 1), nil, "HTTP status 500"},
		{"a body that is not exposition text", nil, "this is { not metrics\n", nil, "parse"},
		{"a body above the limit", nil, requests(1, 1) + strings.Repeat("# padding\n", 100),
			func(tg *slo.ScrapeTarget) { tg.BodyLimit = 500 }, "body exceeds 500 bytes"},
		{"more series than the limit", nil, requests(1, 1),
			func(tg *slo.ScrapeTarget) { tg.SeriesLimit = 1 }, "series limit"},
		{"a target slower than the timeout", func(e *scrapeEnv) { e.exp.delay = time.Second }, requests(1, 1),
			func(tg *slo.ScrapeTarget) { tg.Timeout = model.Duration(50 * time.Millisecond) }, "deadline exceeded"},
		{"a refused connection", func(e *scrapeEnv) { e.srv.Close() }, requests(1, 1), nil, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newScrapeEnv(t, []*slo.Service{demoService(t)}, tt.target)
			// A good scrape with generous limits sets the baseline.
			good := e.newScraper(t, []*slo.Service{demoService(t)}, nil)
			e.exp.set(requests(0, 0))
			if err := good.ScrapeOnce(context.Background(), "demo"); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(e)
			}
			incs, err := e.scrape(t, tt.body)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if len(incs) != 0 {
				t.Errorf("got increases %v from a down target, want none", incs)
			}
			h := e.scraper.Health()[0]
			if h.Up || !strings.Contains(h.LastError, tt.wantErr) || h.LastScrape.IsZero() {
				t.Errorf("got health %+v, want down with %q", h, tt.wantErr)
			}
			var buf bytes.Buffer
			e.set.WritePrometheus(&buf)
			if !strings.Contains(buf.String(), `slogate_scrape_up{target="demo"} 0`) {
				t.Errorf("metrics do not say the target is down:\n%s", buf.String())
			}
		})
	}
}

func TestScraperCountsEventsOfAnOutageWhenTheTargetIsBack(t *testing.T) {
	e := newScrapeEnv(t, []*slo.Service{demoService(t)}, nil)
	if _, err := e.scrape(t, requests(10, 0)); err != nil {
		t.Fatal(err)
	}
	e.exp.status = 503
	if _, err := e.scrape(t, requests(15, 0)); err == nil {
		t.Fatal("got no error from a target answering 503")
	}
	e.exp.status = 0
	incs, err := e.scrape(t, requests(20, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sumIncs(incs)["demo/availability"], (sum{10, 11}); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if h := e.scraper.Health()[0]; !h.Up || h.LastError != "" || h.Samples != 2 || h.Series != 2 {
		t.Errorf("got health %+v, want up with 2 samples and 2 series", h)
	}
}

func TestScraperRecountsWhenRecordingFails(t *testing.T) {
	e := newScrapeEnv(t, []*slo.Service{demoService(t)}, nil)
	if _, err := e.scrape(t, requests(10, 0)); err != nil {
		t.Fatal(err)
	}
	e.sink.RecordFunc = func([]Increase, []Checkpoint) error { return errors.New("disk full") }
	if _, err := e.scrape(t, requests(15, 0)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got error %v, want the sink's", err)
	}
	e.sink.RecordFunc = nil
	incs, err := e.scrape(t, requests(17, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sumIncs(incs)["demo/availability"], (sum{7, 7}); got != want {
		t.Errorf("got %v, want the events of the failed scrape counted again: %v", got, want)
	}
}

func TestScraperResumesFromItsCheckpoint(t *testing.T) {
	tests := []struct {
		name     string
		downtime time.Duration
		want     sum
	}{
		{"a restart within minutes loses no events", 3 * time.Minute, sum{15, 18}},
		{"a checkpoint older than the maximum age is a new baseline", MaxCheckpointAge + time.Minute, sum{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newScrapeEnv(t, []*slo.Service{demoService(t)}, nil)
			for _, b := range []string{requests(10, 0), requests(15, 2)} {
				if _, err := e.scrape(t, b); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Add(tt.downtime)
			e.scraper = e.newScraper(t, []*slo.Service{demoService(t)}, nil)
			incs, err := e.scrape(t, requests(30, 5))
			if err != nil {
				t.Fatal(err)
			}
			if got := sumIncs(incs)["demo/availability"]; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScraperForgetsSeriesThatAreGone(t *testing.T) {
	e := newScrapeEnv(t, []*slo.Service{demoService(t)}, nil)
	if _, err := e.scrape(t, requests(10, 1)); err != nil {
		t.Fatal(err)
	}
	for range 2 * forgetAfterScrapes {
		if _, err := e.scrape(t, `http_requests_total{code="200",handler="/b"} 1`+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.scraper.Health()[0].Series; got != 1 {
		t.Errorf("got %d series kept, want 1", got)
	}
}

func TestScraperSetServicesChangesWhatIsCounted(t *testing.T) {
	e := newScrapeEnv(t, nil, nil)
	if _, err := e.scrape(t, requests(10, 1)); err != nil {
		t.Fatal(err)
	}
	if err := e.scraper.SetServices([]*slo.Service{demoService(t)}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []sum{{}, {5, 6}} {
		incs, err := e.scrape(t, requests(10+5*i, 1+i))
		if err != nil {
			t.Fatal(err)
		}
		if got := sumIncs(incs)["demo/availability"]; got != want {
			t.Errorf("scrape %d after SetServices: got %v, want %v", i, got, want)
		}
	}
}

func TestNewScraperRejectsBadConfig(t *testing.T) {
	unparsed := &slo.Service{Name: "x", SLOs: []slo.SLO{{Name: "y", SLI: slo.SLI{Ratio: &slo.RatioSLI{Good: "a", Total: "b"}}}}}
	tests := []struct {
		name    string
		cfg     ScraperConfig
		wantErr string
	}{
		{"a missing sink", ScraperConfig{}, "sink is required"},
		{"a target without a name", ScraperConfig{Sink: &fakeSink{}, Targets: []slo.ScrapeTarget{{URL: "http://x"}}}, "name is required"},
		{"a target with a bad url", ScraperConfig{Sink: &fakeSink{}, Targets: []slo.ScrapeTarget{{Name: "a", URL: "ftp://x"}}}, "want http"},
		{"two targets with one name", ScraperConfig{Sink: &fakeSink{}, Targets: []slo.ScrapeTarget{{Name: "a", URL: "http://x"}, {Name: "a", URL: "http://y"}}}, "defined twice"},
		{"an unvalidated spec", ScraperConfig{Sink: &fakeSink{}, Services: []*slo.Service{unparsed}}, "not parsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewScraper(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestScraperRunScrapesUntilCancelled(t *testing.T) {
	exp := &exposition{body: requests(1, 0)}
	srv := httptest.NewServer(exp)
	defer srv.Close()
	sink := &fakeSink{}
	s, err := NewScraper(ScraperConfig{
		Targets:  []slo.ScrapeTarget{{Name: "demo", URL: srv.URL, Interval: model.Duration(20 * time.Millisecond)}},
		Services: []*slo.Service{demoService(t)},
		Sink:     sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for n := 2; ; n++ {
		exp.set(requests(n, 0))
		time.Sleep(20 * time.Millisecond)
		if sum := sink.sums()["demo/availability"]; sum.Total >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not count increases within 5s")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestTargetInstanceLabelDefaultsToHostAndPort(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://127.0.0.1:9100/metrics", "127.0.0.1:9100"},
		{"http://example.com/metrics", "example.com:80"},
		{"https://example.com/metrics", "example.com:443"},
		{"http://[::1]:9100/metrics", net.JoinHostPort("::1", "9100")},
	}
	for _, tt := range tests {
		t.Run(tt.url+" has instance "+tt.want, func(t *testing.T) {
			tg, err := newTarget(slo.ScrapeTarget{Name: "x", URL: tt.url}, metrics.NewSet())
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tg.extra {
				if l.name == "instance" && l.value != tt.want {
					t.Errorf("got instance %q, want %q", l.value, tt.want)
				}
			}
		})
	}
}
