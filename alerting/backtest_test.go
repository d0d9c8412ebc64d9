package alerting_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/slo"
)

// fill adds perMinute events with errorRatio of them bad to every minute
// of [from, from+d).
func fill(h *budget.History, from time.Time, d time.Duration, perMinute, errorRatio float64) {
	for m := budget.MinuteOf(from); m < budget.MinuteOf(from.Add(d)); m++ {
		h.Add(m, budget.Counts{Good: perMinute * (1 - errorRatio), Total: perMinute})
	}
}

func availability() slo.SLO {
	return slo.SLO{Name: "availability", Objective: 99.9, Window: "28d", Win: slo.Window{Rolling: 28 * day}}
}

func TestBacktestRejectsBadInput(t *testing.T) {
	h := budget.NewHistory()
	bad := availability()
	bad.Objective = 100
	unparsed := availability()
	unparsed.Win = slo.Window{}
	tests := []struct {
		name string
		cfg  alerting.BacktestConfig
		want string
	}{
		{"a range that ends before it starts is rejected", alerting.BacktestConfig{Service: "s", From: t0, To: t0.Add(-time.Minute),
			SLOs: []alerting.BacktestSLO{{SLO: availability(), History: h}}}, "is before from"},
		{"an objective of 100% is rejected", alerting.BacktestConfig{Service: "s", From: t0, To: t0,
			SLOs: []alerting.BacktestSLO{{SLO: bad, History: h}}}, "objective 100"},
		{"an SLO whose window was not parsed is rejected", alerting.BacktestConfig{Service: "s", From: t0, To: t0,
			SLOs: []alerting.BacktestSLO{{SLO: unparsed, History: h}}}, `window "28d"`},
		{"an SLO without history is rejected", alerting.BacktestConfig{Service: "s", From: t0, To: t0,
			SLOs: []alerting.BacktestSLO{{SLO: availability()}}}, "no history"},
		{"invalid rules are rejected", alerting.BacktestConfig{Service: "s", From: t0, To: t0,
			SLOs: []alerting.BacktestSLO{{SLO: availability(), History: h, Rules: []alerting.Rule{{Severity: "page"}}}}}, "long window 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alerting.Backtest(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestBacktestReportsAlertsStillFiringAtTheEnd(t *testing.T) {
	h := budget.NewHistory()
	fill(h, t0, time.Hour, 100, 0)
	fill(h, t0.Add(time.Hour), 20*time.Minute, 100, 1)
	alerts, err := alerting.Backtest(alerting.BacktestConfig{
		Service: "checkout",
		SLOs:    []alerting.BacktestSLO{{SLO: availability(), History: h}},
		From:    t0, To: t0.Add(time.Hour + 19*time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("got %d alerts, want 1 page: %+v", len(alerts), alerts)
	}
	a := alerts[0]
	if a.Severity != alerting.SeverityPage || !a.Resolved.IsZero() {
		t.Errorf("got %s resolved at %v, want a page still firing", a.Severity, a.Resolved)
	}
	if want := t0.Add(time.Hour + 59*time.Second); !a.Started.Equal(want) {
		t.Errorf("got detection at %v, want %v (the end of the outage's first minute)", a.Started, want)
	}
	if s := a.SLOs[0]; !s.Firing || math.Abs(s.ShortBurn-1000) > 1e-6 {
		t.Errorf("got %+v, want the latest numbers: firing, 5m burn 1000", s)
	}
}

// A 20-minute outage after four good weeks pages at the end of its first
// minute and resolves within 10 minutes of recovery: 5 minutes for the 5m
// window to clear, then the 5-minute hold-down. Replaying just the
// afternoon takes milliseconds.
func ExampleBacktest() {
	start := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	h := budget.NewHistory()
	fill(h, start.Add(-28*24*time.Hour), 28*24*time.Hour+time.Hour, 100, 0) // fine until 14:00
	fill(h, start.Add(time.Hour), 20*time.Minute, 100, 1)                   // 14:00-14:20 down
	fill(h, start.Add(80*time.Minute), 40*time.Minute, 100, 0)              // fine again
	alerts, err := alerting.Backtest(alerting.BacktestConfig{
		Service: "checkout",
		SLOs: []alerting.BacktestSLO{{
			SLO:     slo.SLO{Name: "availability", Objective: 99.9, Window: "28d", Win: slo.Window{Rolling: 28 * 24 * time.Hour}},
			History: h,
		}},
		From: start, To: start.Add(2 * time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range alerts {
		s := a.SLOs[0]
		fmt.Printf("%s %s: detected %s, reset %s; %s; %.0f%% of the budget spent\n",
			a.Severity, s.SLO, a.Started.Format("15:04:05"), a.Resolved.Format("15:04:05"), s.Rule, 100*s.Spent)
	}
	// Output:
	// page availability: detected 14:00:59, reset 14:29:59; page: burn > 13.44 over 1h0m0s and 5m0s; 47% of the budget spent
}

func ExampleDefaultRules() {
	for _, r := range alerting.DefaultRules(28 * 24 * time.Hour) {
		fmt.Println(r)
	}
	// Output:
	// page: burn > 13.44 over 1h0m0s and 5m0s
	// page: burn > 5.6 over 6h0m0s and 30m0s
	// ticket: burn > 2.8 over 24h0m0s and 2h0m0s
	// ticket: burn > 0.9333 over 72h0m0s and 6h0m0s
}
