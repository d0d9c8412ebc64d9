package source

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slogate/slogate/slo"
)

// fakeSink is an in-memory Sink. RecordFunc and CheckpointFunc, when set,
// run first and may fail the call.
type fakeSink struct {
	RecordFunc     func(incs []Increase, cps []Checkpoint) error
	CheckpointFunc func(key string) error

	mu    sync.Mutex
	incs  []Increase
	cps   map[string][]byte
	calls int
}

var _ Sink = (*fakeSink)(nil)

func (f *fakeSink) Record(_ context.Context, incs []Increase, cps []Checkpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.RecordFunc != nil {
		if err := f.RecordFunc(incs, cps); err != nil {
			return err
		}
	}
	f.calls++
	f.incs = append(f.incs, incs...)
	if f.cps == nil {
		f.cps = make(map[string][]byte)
	}
	for _, cp := range cps {
		f.cps[cp.Key] = append([]byte(nil), cp.Data...)
	}
	return nil
}

func (f *fakeSink) Checkpoint(_ context.Context, key string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.CheckpointFunc != nil {
		if err := f.CheckpointFunc(key); err != nil {
			return nil, false, err
		}
	}
	d, ok := f.cps[key]
	return d, ok, nil
}

// increases returns a copy of everything recorded.
func (f *fakeSink) increases() []Increase {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Increase(nil), f.incs...)
}

// sum is the good and total events of one SLO.
type sum struct{ Good, Total float64 }

// sums adds up the recorded increases per "service/slo".
func (f *fakeSink) sums() map[string]sum {
	out := make(map[string]sum)
	for _, inc := range f.increases() {
		s := out[inc.Service+"/"+inc.SLO]
		s.Good += inc.Good
		s.Total += inc.Total
		out[inc.Service+"/"+inc.SLO] = s
	}
	return out
}

// checkIncreases fails when an increase is not minute-aligned UTC or breaks
// 0 <= good <= total.
func checkIncreases(t *testing.T, incs []Increase) {
	t.Helper()
	for _, inc := range incs {
		if inc.Minute.Location() != time.UTC || !inc.Minute.Equal(inc.Minute.Truncate(time.Minute)) {
			t.Errorf("increase %+v: minute is not a UTC minute", inc)
		}
		if inc.Good < 0 || inc.Good > inc.Total {
			t.Errorf("increase %+v: want 0 <= good <= total", inc)
		}
	}
}

// mustMatchers parses a selector the way slo validation does.
func mustMatchers(t testing.TB, sel string) []*labels.Matcher {
	t.Helper()
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
	if err != nil {
		t.Fatalf("parse selector %q: %v", sel, err)
	}
	return ms
}

// ratioSLO builds a validated ratio SLO. Exactly one of good and bad is set.
func ratioSLO(t testing.TB, name, source, good, bad, total string) slo.SLO {
	r := &slo.RatioSLI{Good: good, Bad: bad, Total: total, TotalMatchers: mustMatchers(t, total)}
	if good != "" {
		r.GoodMatchers = mustMatchers(t, good)
	}
	if bad != "" {
		r.BadMatchers = mustMatchers(t, bad)
	}
	return slo.SLO{Name: name, Objective: 99, Window: "1d", SLI: slo.SLI{Source: source, Ratio: r}}
}

// latencySLO builds a validated latency SLO; le is the bucket label value.
func latencySLO(t testing.TB, name, source, metric, selector, le string) slo.SLO {
	inner := selector
	if len(inner) >= 2 {
		inner = inner[1 : len(inner)-1]
	}
	sep := ""
	if inner != "" {
		sep = ","
	}
	l := &slo.LatencySLI{
		Metric:         metric,
		Selector:       selector,
		BucketMatchers: mustMatchers(t, metric+"_bucket{"+inner+sep+`le="`+le+`"}`),
		CountMatchers:  mustMatchers(t, metric+"_count{"+inner+"}"),
	}
	return slo.SLO{Name: name, Objective: 99, Window: "1d", SLI: slo.SLI{Source: source, Latency: l}}
}
