package source

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/slo"
)

// fakePromAPI answers range-vector instant queries from in-memory series,
// returning samples in [end-range, end] (closed, as Prometheus 2 does) so
// that boundary samples come twice.
type fakePromAPI struct {
	mu      sync.Mutex
	series  map[string][]model.SamplePair // by metric name
	fail    bool
	queries []string
}

func (f *fakePromAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = r.ParseForm()
	q := r.Form.Get("query")
	f.queries = append(f.queries, q)
	if f.fail {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	i, j := strings.LastIndexByte(q, '['), strings.LastIndexByte(q, ']')
	rng, err := model.ParseDuration(q[i+1 : j])
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	sec, _ := strconv.ParseFloat(r.Form.Get("time"), 64)
	end := model.Time(sec * 1000)
	start := end.Add(-time.Duration(rng))
	var res model.Matrix
	for name, samples := range f.series {
		if !strings.Contains(q, `__name__="`+name+`"`) {
			continue
		}
		ss := &model.SampleStream{Metric: model.Metric{"__name__": model.LabelValue(name), "job": "demo"}}
		for _, sp := range samples {
			if sp.Timestamp >= start && sp.Timestamp <= end {
				ss.Values = append(ss.Values, sp)
			}
		}
		if len(ss.Values) > 0 {
			res = append(res, ss)
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": res}})
}

// add appends samples of name every 15s in [from, to) growing by step.
func (f *fakePromAPI) add(name string, from, to time.Time, step float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.series == nil {
		f.series = make(map[string][]model.SamplePair)
	}
	s := f.series[name]
	v := 0.0
	if len(s) > 0 {
		v = float64(s[len(s)-1].Value)
	}
	for ts := from; ts.Before(to); ts = ts.Add(15 * time.Second) {
		v += step
		s = append(s, model.SamplePair{Timestamp: model.TimeFromUnixNano(ts.UnixNano()), Value: model.SampleValue(v)})
	}
	f.series[name] = s
}

func newFakeProm(t *testing.T, api *fakePromAPI, sink *fakeSink) *Prom {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	p, err := NewProm(PromConfig{
		Source: slo.PromSource{Name: "fake", URL: srv.URL, BackfillChunk: model.Duration(time.Hour)},
		Services: []*slo.Service{{Name: "svc", SLOs: []slo.SLO{
			ratioSLO(t, "ratio", "fake", `good_total`, "", `all_total`),
			ratioSLO(t, "other-source", "elsewhere", `good_total`, "", `all_total`),
		}}},
		Sink:      sink,
		Retention: 6 * time.Hour,
		Lag:       30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPromBackfillsInChunksAndCountsEachSampleOnce(t *testing.T) {
	api := &fakePromAPI{}
	api.add("good_total", t0.Add(-6*time.Hour), t0, 1)
	api.add("all_total", t0.Add(-6*time.Hour), t0, 2)
	sink := &fakeSink{}
	p := newFakeProm(t, api, sink)
	if err := p.Sync(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	// The first sample is the baseline; the samples up to t0-30s count.
	n := float64(6*60*4 - 2 - 1)
	if got, want := sink.sums()["svc/ratio"], (sum{n, 2 * n}); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := len(api.queries); got != 2*6 {
		t.Errorf("got %d queries, want 12 (5 chunks of 1h and a shorter one, 2 selectors each)", got)
	}
	st := p.Status()
	if len(st) != 1 || st[0].SLO != "ratio" || st[0].Backfilling || st[0].Progress != 1 || !st[0].HistorySince.IsZero() ||
		!st[0].Following.Equal(t0.Add(-30*time.Second)) {
		t.Errorf("got status %+v, want one SLO with full history following at %v", st, t0.Add(-30*time.Second))
	}
	for _, inc := range sink.increases() {
		if inc.Minute.Before(t0.Add(-6*time.Hour)) || !inc.Minute.Before(t0) {
			t.Errorf("increase %+v outside the backfilled range", inc)
		}
	}
	checkIncreases(t, sink.increases())
}

func TestPromReportsPartialHistory(t *testing.T) {
	api := &fakePromAPI{}
	first := t0.Add(-2 * time.Hour)
	api.add("good_total", first, t0, 1)
	api.add("all_total", first, t0, 1)
	p := newFakeProm(t, api, &fakeSink{})
	if err := p.Sync(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if got := p.Status()[0].HistorySince; !got.Equal(first) {
		t.Errorf("got history since %v, want the first sample's time %v", got, first)
	}
}

func TestPromResumesAfterFailuresWithoutGapsOrDoubleCounting(t *testing.T) {
	api := &fakePromAPI{}
	api.add("good_total", t0.Add(-6*time.Hour), t0, 1)
	api.add("all_total", t0.Add(-6*time.Hour), t0, 1)
	records := 0
	sink := &fakeSink{}
	sink.RecordFunc = func([]Increase, []Checkpoint) error {
		records++
		if records == 3 {
			return errors.New("disk full")
		}
		return nil
	}
	p := newFakeProm(t, api, sink)
	if err := p.Sync(context.Background(), t0); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got error %v, want the sink's", err)
	}
	if st := p.Status()[0]; !strings.Contains(st.LastError, "disk full") || !st.Backfilling || st.Progress <= 0 || st.Progress >= 1 {
		t.Errorf("got status %+v, want a backfill in progress with the error", st)
	}
	api.fail = true
	if err := p.Sync(context.Background(), t0); err == nil {
		t.Fatal("got no error with the backend down")
	}
	api.fail = false
	// A new source on the same sink resumes from the checkpoint.
	p = newFakeProm(t, api, sink)
	if err := p.Sync(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	api.add("good_total", t0, t0.Add(10*time.Minute), 1)
	api.add("all_total", t0, t0.Add(10*time.Minute), 1)
	if err := p.Sync(context.Background(), t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	n := float64(6*60*4 + 10*4 - 2 - 1)
	if got, want := sink.sums()["svc/ratio"], (sum{n, n}); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if st := p.Status()[0]; st.LastError != "" {
		t.Errorf("got status %+v, want no error", st)
	}
}

func TestPromStateEncodingRoundTrips(t *testing.T) {
	st := promState{covered: 5000, start: 1000, earliest: 1500, ctr: [2]*counters{newCounters(), newCounters()}}
	st.ctr[0].observe(1, 10, 1500, 0)
	st.ctr[1].observe(2, 20, 1500, 0)
	st.ctr[1].observe(3, 30, 1600, 0)
	got, err := decodePromState(encodePromState(st))
	if err != nil {
		t.Fatal(err)
	}
	if got.covered != st.covered || got.start != st.start || got.earliest != st.earliest || len(got.ctr[0].m) != 1 || len(got.ctr[1].m) != 2 {
		t.Errorf("got %+v, want %+v", got, st)
	}
	if _, err := decodePromState([]byte{9}); err == nil {
		t.Error("got no error for an unknown version")
	}
}

func TestNewPromRejectsBadConfig(t *testing.T) {
	good := PromConfig{Source: slo.PromSource{Name: "p", URL: "http://127.0.0.1:9090"}, Sink: &fakeSink{}, Retention: time.Hour}
	tests := []struct {
		name    string
		mod     func(*PromConfig)
		wantErr string
	}{
		{"a missing sink", func(c *PromConfig) { c.Sink = nil }, "sink is required"},
		{"a missing name", func(c *PromConfig) { c.Source.Name = "" }, "name is required"},
		{"a url without scheme", func(c *PromConfig) { c.Source.URL = "127.0.0.1:9090" }, "want http"},
		{"no retention", func(c *PromConfig) { c.Retention = 0 }, "retention must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			_, err := NewProm(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
