package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/slo"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testCatalog() *slo.Catalog {
	svc := &slo.Service{
		Name: "shop", Owner: slo.Owner{Team: "payments"},
		SLOs: []slo.SLO{
			{Name: "availability", Objective: 99, Window: "7d", Win: slo.Window{Rolling: 7 * 24 * time.Hour},
				Budgeting: slo.Occurrences, SLI: slo.SLI{Push: &slo.PushSLI{}}},
			{Name: "quiet", Objective: 99.9, Window: "28d", Win: slo.Window{Rolling: 28 * 24 * time.Hour},
				Budgeting: slo.Occurrences, SLI: slo.SLI{Push: &slo.PushSLI{}}},
		},
	}
	return &slo.Catalog{
		Config:    &slo.Config{RetentionMargin: model.Duration(24 * time.Hour)},
		Services:  []*slo.Service{svc},
		Schedules: map[string]*slo.Schedule{slo.AlwaysName: slo.AlwaysOn()},
	}
}

func openMonitor(t *testing.T, path string) (*Monitor, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Catalog: testCatalog(), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	return m, st
}

func adds(n int) []Add {
	var out []Add
	for i := range n {
		out = append(out, Add{
			SLO:    Key("shop", "availability"),
			Minute: budget.MinuteOf(t0.Add(-time.Duration(i*7) * time.Minute)),
			Counts: budget.Counts{Good: float64(95 + i%5), Total: 100},
		})
	}
	return out
}

func TestMonitor(t *testing.T) {
	ctx := context.Background()

	t.Run("recorded events are evaluated and restored exactly after a reopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "s.db")
		m, st := openMonitor(t, path)
		if err := m.Record(ctx, adds(500), []store.State{{Key: "scrape/x", Data: []byte("cp")}}); err != nil {
			t.Fatal(err)
		}
		before := m.Evaluate(t0).SLO("shop", "availability")
		// 500 minutes of 100 events with 95..99 good: 1500 bad of 50000.
		if before.Budget.Total != 50000 || before.Budget.Good != 48500 {
			t.Fatalf("got good %v total %v, want 48500 50000", before.Budget.Good, before.Budget.Total)
		}
		if want := 1 - 1500/((1-0.99)*50000); math.Abs(*before.Budget.RemainingRatio-want) > 1e-9 {
			t.Fatalf("got remaining %v, want %v", *before.Budget.RemainingRatio, want)
		}
		if before.State != StateExhausted {
			t.Fatalf("got state %q, want %q", before.State, StateExhausted)
		}
		st.Close()

		m2, st2 := openMonitor(t, path)
		defer st2.Close()
		after := m2.Evaluate(t0).SLO("shop", "availability")
		if !reflect.DeepEqual(after.Budget, before.Budget) {
			t.Fatalf("after reopen got %+v, want %+v", after.Budget, before.Budget)
		}
		if cp, ok, err := m2.State(ctx, "scrape/x"); err != nil || !ok || string(cp) != "cp" {
			t.Fatalf("got checkpoint %q %v %v, want cp", cp, ok, err)
		}
		if got := m2.Evaluate(t0).SLO("shop", "quiet"); got.State != StateNoData || got.Budget.SLI != nil {
			t.Fatalf("an SLO without events got state %q SLI %v, want no_data and no SLI", got.State, got.Budget.SLI)
		}
	})

	t.Run("a failed save applies nothing", func(t *testing.T) {
		m, st := openMonitor(t, filepath.Join(t.TempDir(), "s.db"))
		if err := m.Record(ctx, adds(10), nil); err != nil {
			t.Fatal(err)
		}
		want := m.Evaluate(t0).SLO("shop", "availability").Budget
		st.Close()
		if err := m.Record(ctx, adds(10), nil); err == nil {
			t.Fatal("Record on a closed store returned no error")
		}
		if got := m.Evaluate(t0).SLO("shop", "availability").Budget; !reflect.DeepEqual(got, want) {
			t.Fatalf("after a failed save got %+v, want %+v", got, want)
		}
	})

	t.Run("an unknown SLO is refused whole", func(t *testing.T) {
		m, st := openMonitor(t, filepath.Join(t.TempDir(), "s.db"))
		defer st.Close()
		batch := append(adds(3), Add{SLO: "shop/nope", Minute: budget.MinuteOf(t0), Counts: budget.Counts{Total: 1}})
		if err := m.Record(ctx, batch, nil); !errors.Is(err, ErrUnknownSLO) {
			t.Fatalf("got %v, want ErrUnknownSLO", err)
		}
		if got := m.Evaluate(t0).SLO("shop", "availability"); !got.Budget.NoData {
			t.Fatalf("got %+v, want no data", got.Budget)
		}
	})

	t.Run("series are evaluated at each step", func(t *testing.T) {
		m, st := openMonitor(t, filepath.Join(t.TempDir(), "s.db"))
		defer st.Close()
		if err := m.Record(ctx, adds(100), nil); err != nil {
			t.Fatal(err)
		}
		s, err := m.Series("shop", "availability", t0.Add(-time.Hour), t0, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Timestamps) != 6 || len(s.SLI) != 6 || len(s.BurnRates["5m"]) != 6 {
			t.Fatalf("got %d points, want 6", len(s.Timestamps))
		}
		var total float64
		for _, v := range s.Total {
			total += v
		}
		// Minutes t0-7m*i within (t0-1h, t0]: i = 1..8 (i=0 is t0 itself, in the step after).
		if total != 800 {
			t.Fatalf("got %v events in the last hour's steps, want 800", total)
		}
		for _, c := range []struct {
			name     string
			from, to time.Time
			step     time.Duration
		}{
			{"to before from", t0, t0.Add(-time.Hour), time.Minute},
			{"too many points", t0.Add(-28 * 24 * time.Hour), t0, time.Minute},
			{"zero step", t0.Add(-time.Hour), t0, 0},
		} {
			if _, err := m.Series("shop", "availability", c.from, c.to, c.step); !errors.Is(err, ErrBadRange) {
				t.Errorf("%s: got %v, want ErrBadRange", c.name, err)
			}
		}
		if _, err := m.Series("shop", "nope", t0.Add(-time.Hour), t0, time.Minute); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown SLO: got %v, want ErrNotFound", err)
		}
	})

	t.Run("metrics have every SLO and never NaN", func(t *testing.T) {
		m, st := openMonitor(t, filepath.Join(t.TempDir(), "s.db"))
		defer st.Close()
		if err := m.Record(ctx, adds(10), nil); err != nil {
			t.Fatal(err)
		}
		m.Evaluate(t0)
		var b bytes.Buffer
		m.WriteMetrics(&b)
		out := b.String()
		for _, want := range []string{
			`slogate_slo_objective_ratio{service="shop",slo="quiet",team="payments"} 0.999`,
			`slogate_slo_burn_rate{service="shop",slo="availability",team="payments",window="5m"}`,
			`slogate_slo_events{service="shop",slo="availability",team="payments",kind="total"} 1000`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(out, "NaN") || strings.Contains(out, `slo="quiet",team="payments",window=`) {
			t.Errorf("metrics have NaN or windows of an SLO without data:\n%s", out)
		}
	})
}

func TestTrimDropsWhatIsPastRetention(t *testing.T) {
	ctx := context.Background()
	m, st := openMonitor(t, filepath.Join(t.TempDir(), "s.db"))
	defer st.Close()
	key := Key("shop", "availability")
	old := budget.MinuteOf(t0.Add(-40 * 24 * time.Hour))
	recent := budget.MinuteOf(t0.Add(-time.Hour))
	err := m.Record(ctx, []Add{
		{SLO: key, Minute: old, Counts: budget.Counts{Good: 1, Total: 1}},
		{SLO: key, Minute: recent, Counts: budget.Counts{Good: 1, Total: 2}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Trim(ctx, t0); err != nil {
		t.Fatal(err)
	}
	h := m.entries[key].tracker.History()
	if first, _ := h.First(); first != recent {
		t.Fatalf("after trim the first minute is %v, want %v", first.Time(), recent.Time())
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Blocks != 1 {
		t.Fatalf("after trim the store holds %d blocks, want 1", stats.Blocks)
	}
}

func TestRecordBeforeRestoreIsRefused(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := New(Config{Catalog: testCatalog(), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	// Saving now would write this hour's block without its stored history
	// over the stored one.
	if err := m.Record(context.Background(), adds(1), nil); !errors.Is(err, ErrNotRestored) {
		t.Fatalf("got %v, want ErrNotRestored", err)
	}
}

func TestSeriesOffHours(t *testing.T) {
	// Berlin business hours with Good Friday 2026 as a holiday: 09:00-17:00
	// local is 08:00-16:00 UTC until DST starts on 29 March, 07:00-15:00
	// UTC after.
	berlin, err := slo.CompileSchedule(slo.ScheduleSpec{Name: "berlin-business-hours", TimeZone: "Europe/Berlin",
		Weekly:   []slo.WeeklyRule{{Days: []string{"mon-fri"}, Hours: []string{"09:00-17:00"}}},
		Holidays: slo.Holidays{Dates: []string{"2026-04-03"}}})
	if err != nil {
		t.Fatal(err)
	}
	cat := testCatalog()
	cat.Schedules[berlin.Name] = berlin
	cat.Services[0].SLOs[1].Schedule = berlin.Name // shop/quiet
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := New(Config{Catalog: cat, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		slo      string
		from, to string
		step     time.Duration
		want     []string // pairs of RFC 3339 times
	}{
		{"business hours across the start of DST shift by an hour in UTC", "quiet", "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z", time.Hour, []string{
			"2026-03-27T00:00:00Z", "2026-03-27T08:00:00Z",
			"2026-03-27T16:00:00Z", "2026-03-30T07:00:00Z",
			"2026-03-30T15:00:00Z", "2026-03-31T00:00:00Z"}},
		{"a holiday is off hours all local day", "quiet", "2026-04-02T00:00:00Z", "2026-04-04T00:00:00Z", 30 * time.Minute, []string{
			"2026-04-02T00:00:00Z", "2026-04-02T07:00:00Z",
			"2026-04-02T15:00:00Z", "2026-04-04T00:00:00Z"}},
		{"off hours end at the last step, past a to that is not on one", "quiet", "2026-03-30T06:00:00Z", "2026-03-30T16:10:00Z", time.Hour, []string{
			"2026-03-30T06:00:00Z", "2026-03-30T07:00:00Z",
			"2026-03-30T15:00:00Z", "2026-03-30T17:00:00Z"}},
		{"an always-on SLO has none", "availability", "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z", time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := m.Series("shop", tt.slo, at(tt.from), at(tt.to), tt.step)
			if err != nil {
				t.Fatal(err)
			}
			want := [][2]int64{}
			for i := 0; i+1 < len(tt.want); i += 2 {
				want = append(want, [2]int64{at(tt.want[i]).Unix(), at(tt.want[i+1]).Unix()})
			}
			if s.OffHours == nil || !reflect.DeepEqual(s.OffHours, want) {
				t.Errorf("got off hours %v, want %v", s.OffHours, want)
			}
			data, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				OffHours json.RawMessage `json:"offHours"`
			}
			if err := json.Unmarshal(data, &got); err != nil || got.OffHours == nil || string(got.OffHours) == "null" {
				t.Errorf("got JSON offHours %s, want a list", got.OffHours)
			}
		})
	}
}
