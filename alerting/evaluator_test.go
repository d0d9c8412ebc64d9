package alerting_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/budget"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// burning returns an active status burning at rate over every burn window,
// with 100000 events in each, so rate*100 of them bad (the objective is
// taken as 99.9%), and half the budget left.
func burning(rate float64) budget.Status {
	st := budget.Status{Active: true, RemainingRatio: 0.5, Total: 1e6, Good: 1e6 - 500, Bad: 500}
	for _, w := range budget.BurnWindows {
		st.Burn = append(st.Burn, budget.BurnRate{Window: w, Total: 1e5, Good: 1e5 - rate*100, Rate: rate})
	}
	return st
}

// with returns st with the burn rate over window w set to rate.
func with(st budget.Status, w time.Duration, rate float64) budget.Status {
	st.Burn = slices.Clone(st.Burn)
	for i := range st.Burn {
		if st.Burn[i].Window == w {
			st.Burn[i].Good, st.Burn[i].Rate = st.Burn[i].Total-rate*100, rate
		}
	}
	return st
}

// lowTraffic returns an active status burning at rate with only bad bad
// events in every window.
func lowTraffic(rate, bad float64) budget.Status {
	st := burning(rate)
	for i := range st.Burn {
		st.Burn[i].Total, st.Burn[i].Good = bad*1000/rate, bad*1000/rate-bad
	}
	return st
}

func inactive(st budget.Status) budget.Status { st.Active = false; return st }

func remaining(st budget.Status, r float64) budget.Status { st.RemainingRatio = r; return st }

// tick is one evaluation at t0 plus Minute minutes, and the transitions it
// must make, each as "firing page" or "resolved ticket".
type tick struct {
	minute   int
	statuses map[string]budget.Status
	want     []string
}

func one(st budget.Status) map[string]budget.Status {
	return map[string]budget.Status{"availability": st}
}

func newEvaluator(t *testing.T, minBad float64, slos ...string) *alerting.Evaluator {
	t.Helper()
	cfg := alerting.Config{Service: "checkout"}
	for _, s := range slos {
		cfg.SLOs = append(cfg.SLOs, alerting.SLOConfig{Name: s, Window: 30 * day, MinBadEvents: minBad})
	}
	e, err := alerting.NewEvaluator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run evaluates ticks in order, checking each one's transitions, and
// returns every event.
func run(t *testing.T, e *alerting.Evaluator, ticks []tick) []alerting.Event {
	t.Helper()
	var all []alerting.Event
	for _, tk := range ticks {
		now := t0.Add(time.Duration(tk.minute) * time.Minute)
		events := e.Evaluate(now, tk.statuses)
		var got []string
		for _, ev := range events {
			got = append(got, ev.Kind+" "+ev.Alert.Severity)
		}
		if !slices.Equal(got, tk.want) {
			t.Errorf("minute %d: got transitions %q, want %q", tk.minute, got, tk.want)
		}
		all = append(all, events...)
	}
	return all
}

func TestEvaluatorTransitions(t *testing.T) {
	ok := burning(0.5)
	fast := burning(20) // above every default threshold
	tests := []struct {
		name   string
		minBad float64
		ticks  []tick
	}{
		{"a fast burn pages once and keeps firing without repeating", 0, []tick{
			{0, one(fast), []string{"firing page"}},
			{1, one(fast), nil},
			{2, one(fast), nil},
		}},
		{"a page resolves once its condition has been false for the 5-minute hold-down", 0, []tick{
			{0, one(fast), []string{"firing page"}},
			{1, one(ok), nil},
			{5, one(ok), nil},
			{6, one(ok), []string{"resolved page"}},
			{7, one(ok), nil},
		}},
		{"a burn that returns within the hold-down continues the same incident", 0, []tick{
			{0, one(fast), []string{"firing page"}},
			{1, one(ok), nil},
			{4, one(fast), nil},
			{5, one(ok), nil},
			{9, one(ok), nil},
			{10, one(ok), []string{"resolved page"}},
		}},
		{"a burn that returns after the hold-down is a new incident", 0, []tick{
			{0, one(fast), []string{"firing page"}},
			{1, one(ok), nil},
			{6, one(ok), []string{"resolved page"}},
			{7, one(fast), []string{"firing page"}},
		}},
		{"fewer bad events than the guard's minimum page nobody", 0, []tick{
			{0, one(lowTraffic(100, 9)), nil},
			{1, one(lowTraffic(100, 10)), []string{"firing page"}},
		}},
		{"a negative minimum turns the low-traffic guard off", -1, []tick{
			{0, one(lowTraffic(100, 1)), []string{"firing page"}},
		}},
		{"a page rule needs both its windows above the threshold, so only the ticket rules hold", 0, []tick{
			{0, one(with(with(fast, 5*time.Minute, 1), 30*time.Minute, 1)), []string{"firing ticket"}},
		}},
		{"a page rule needs the 5-minute window still burning, so a past burst raises only a ticket", 0, []tick{
			{0, one(with(fast, 5*time.Minute, 0)), []string{"firing ticket"}},
		}},
		{"a slow burn raises a ticket, not a page", 0, []tick{
			{0, one(burning(2)), []string{"firing ticket"}},
			{1, one(ok), nil},
			{6, one(ok), []string{"resolved ticket"}},
		}},
		{"tickets are inhibited while a page for the same SLO fires, and after it for the same burn", 0, []tick{
			{0, one(fast), []string{"firing page"}},
			{1, one(with(fast, 5*time.Minute, 0)), nil},
			{6, one(with(fast, 5*time.Minute, 0)), []string{"resolved page"}},
			{7, one(burning(2)), nil},
			{8, one(ok), nil},
			{9, one(burning(2)), []string{"firing ticket"}},
		}},
		{"an open ticket resolves when a page for its SLO takes over", 0, []tick{
			{0, one(burning(2)), []string{"firing ticket"}},
			{1, one(fast), []string{"firing page"}},
			{6, one(fast), []string{"resolved ticket"}},
		}},
		{"an exhausted budget raises a ticket", 0, []tick{
			{0, one(remaining(ok, 0)), []string{"firing ticket"}},
			{1, one(remaining(ok, 0.01)), nil},
			{6, one(remaining(ok, 0.01)), []string{"resolved ticket"}},
		}},
		{"an off-hours burn starts no alert", 0, []tick{
			{0, one(inactive(fast)), nil},
			{1, one(inactive(burning(2))), nil},
			{2, one(inactive(remaining(ok, -1))), nil},
		}},
		{"an alert started in active hours keeps firing off-hours until its condition clears", 0, []tick{
			{0, one(fast), []string{"firing page"}},
			{1, one(inactive(fast)), nil},
			{2, one(inactive(ok)), nil},
			{7, one(inactive(ok)), []string{"resolved page"}},
		}},
		{"an SLO missing from the statuses holds no condition", 0, []tick{
			{0, one(fast), []string{"firing page"}},
			{1, nil, nil},
			{6, nil, []string{"resolved page"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run(t, newEvaluator(t, tt.minBad, "availability"), tt.ticks)
		})
	}
}

func TestEvaluatorGroupsSLOsIntoOneAlertPerSeverity(t *testing.T) {
	e := newEvaluator(t, 0, "availability", "latency")
	fast, ok := burning(20), burning(0)
	events := run(t, e, []tick{
		{0, map[string]budget.Status{"availability": remaining(fast, 0.9), "latency": ok}, []string{"firing page"}},
		{1, map[string]budget.Status{"availability": remaining(fast, 0.8), "latency": remaining(fast, 0.6)}, nil},
		{2, map[string]budget.Status{"availability": remaining(ok, 0.7), "latency": remaining(ok, 0.5)}, nil},
		{7, map[string]budget.Status{"availability": remaining(ok, 0.7), "latency": remaining(ok, 0.5)}, []string{"resolved page"}},
	})
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2", len(events))
	}
	fired, resolved := events[0].Alert, events[1].Alert
	if fired.Key != resolved.Key {
		t.Errorf("got dedup keys %q firing and %q resolved, want the same", fired.Key, resolved.Key)
	}
	if !strings.HasPrefix(fired.Key, "checkout/page/") {
		t.Errorf("got dedup key %q, want it to start with service and severity", fired.Key)
	}
	if got := len(fired.SLOs); got != 1 {
		t.Errorf("got %d SLOs on firing, want 1", got)
	}
	var names []string
	for _, s := range resolved.SLOs {
		names = append(names, s.SLO)
	}
	if want := []string{"availability", "latency"}; !slices.Equal(names, want) {
		t.Errorf("got SLOs %q on resolution, want %q", names, want)
	}
	if want := 7 * time.Minute; resolved.Duration != want || !resolved.Resolved.Equal(t0.Add(want)) {
		t.Errorf("got duration %v resolved at %v, want %v", resolved.Duration, resolved.Resolved, want)
	}
	for i, want := range []float64{0.2, 0.1} { // remaining at join minus at end
		if got := resolved.SLOs[i].Spent; math.Abs(got-want) > 1e-9 {
			t.Errorf("SLO %s: got %v of the budget spent, want %v", resolved.SLOs[i].SLO, got, want)
		}
	}
	a := resolved.SLOs[0]
	if a.Rule.Severity != alerting.SeverityPage || a.Rule.Long != time.Hour || a.Rule.Burn != 14.4 {
		t.Errorf("got rule %v, want the 14.4 page over 1h and 5m", a.Rule)
	}
	if a.Firing {
		t.Error("got SLO firing on resolution, want not")
	}
}

func TestEvaluatorFiringReportsLatestNumbers(t *testing.T) {
	e := newEvaluator(t, 0, "availability")
	e.Evaluate(t0, one(burning(20)))
	e.Evaluate(t0.Add(time.Minute), one(burning(30)))
	firing := e.Firing()
	if len(firing) != 1 {
		t.Fatalf("got %d firing alerts, want 1", len(firing))
	}
	if got := firing[0].SLOs[0]; got.LongBurn != 30 || got.ShortBurn != 30 || !got.Firing {
		t.Errorf("got %+v, want burn rates 30 over both windows, firing", got)
	}
	firing[0].SLOs[0].SLO = "changed"
	if got := e.Firing()[0].SLOs[0].SLO; got != "availability" {
		t.Errorf("got SLO %q after changing a copy, want the evaluator's own unchanged", got)
	}
}

func TestNewEvaluatorRejectsBadConfig(t *testing.T) {
	rules := alerting.DefaultRules(30 * day)
	tests := []struct {
		name string
		cfg  alerting.Config
		want string
	}{
		{"a config without a service is rejected", alerting.Config{SLOs: []alerting.SLOConfig{{Name: "a", Rules: rules}}}, "service name is empty"},
		{"a config without SLOs is rejected", alerting.Config{Service: "s"}, "no SLOs"},
		{"an SLO without rules or window is rejected", alerting.Config{Service: "s", SLOs: []alerting.SLOConfig{{Name: "a"}}}, "no rules and window 0s"},
		{"an SLO listed twice is rejected", alerting.Config{Service: "s", SLOs: []alerting.SLOConfig{{Name: "a", Rules: rules}, {Name: "a", Rules: rules}}}, `"a" listed twice`},
		{"an invalid rule is rejected with its SLO", alerting.Config{Service: "s", SLOs: []alerting.SLOConfig{{Name: "a", Rules: []alerting.Rule{{Severity: "page", Long: time.Hour, Short: time.Hour, Burn: 1}}}}}, "SLO s/a: rule 0"},
		{"a negative hold-down is rejected", alerting.Config{Service: "s", HoldDown: -time.Minute, SLOs: []alerting.SLOConfig{{Name: "a", Rules: rules}}}, "hold-down -1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alerting.NewEvaluator(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEvaluatorKeepsOffHoursSLOsOutOfOpenIncidents(t *testing.T) {
	e := newEvaluator(t, 0, "availability", "latency")
	fast := burning(20)
	events := run(t, e, []tick{
		{0, map[string]budget.Status{"availability": fast}, []string{"firing page"}},
		{1, map[string]budget.Status{"availability": fast, "latency": inactive(fast)}, nil},
		{2, map[string]budget.Status{}, nil},
		{7, map[string]budget.Status{}, []string{"resolved page"}},
	})
	if n := len(events[len(events)-1].Alert.SLOs); n != 1 {
		t.Errorf("got %d SLOs in the page, want 1: the off-hours SLO must not join", n)
	}
}

// TestEvaluatorStateSurvivesRestart runs the same ticks through one
// evaluator and through a fresh evaluator per tick restored from the
// previous one's state passed through JSON, as a restarted process
// would: both must make the same transitions under the same keys.
func TestEvaluatorStateSurvivesRestart(t *testing.T) {
	fast, ok := burning(20), burning(0.5)
	slow := with(with(burning(4), time.Hour, 4), 5*time.Minute, 4) // ticket only
	seq := []map[string]budget.Status{
		{"availability": fast, "latency": ok},
		{"availability": fast, "latency": slow},
		{"availability": ok, "latency": slow},
		{"availability": ok, "latency": slow},
		{"availability": ok, "latency": ok},
		{"availability": ok, "latency": ok},
		{"availability": ok, "latency": ok},
		{"availability": ok, "latency": ok},
		{"availability": ok, "latency": ok},
		{"availability": ok, "latency": ok},
	}
	steady := newEvaluator(t, 0, "availability", "latency")
	var want, got []alerting.Event
	var saved []byte
	for i, st := range seq {
		now := t0.Add(time.Duration(i*2) * time.Minute)
		want = append(want, steady.Evaluate(now, st)...)

		restarted := newEvaluator(t, 0, "availability", "latency")
		if saved != nil {
			var s alerting.State
			if err := json.Unmarshal(saved, &s); err != nil {
				t.Fatal(err)
			}
			restarted.Restore(s)
		}
		got = append(got, restarted.Evaluate(now, st)...)
		var err error
		if saved, err = json.Marshal(restarted.State()); err != nil {
			t.Fatal(err)
		}
	}
	if len(want) < 3 {
		t.Fatalf("the sequence made %d transitions, want a page and its resolve at least", len(want))
	}
	if !reflect.DeepEqual(summarize(got), summarize(want)) {
		t.Errorf("restarted evaluators made\n%q\nwant\n%q", summarize(got), summarize(want))
	}
}

func summarize(events []alerting.Event) []string {
	var out []string
	for _, e := range events {
		var slos []string
		for _, s := range e.Alert.SLOs {
			slos = append(slos, s.SLO)
		}
		out = append(out, fmt.Sprintf("%s %s %s at %s slos %v spent %.4f", e.Kind, e.Alert.Severity, e.Alert.Key,
			e.At.Format(time.TimeOnly), slos, e.Alert.SLOs[0].Spent))
	}
	return out
}

func TestEvaluatorRestoreDropsUnconfiguredSLOs(t *testing.T) {
	old := newEvaluator(t, 0, "availability", "latency")
	old.Evaluate(t0, map[string]budget.Status{"availability": burning(20), "latency": burning(20)})
	if n := len(old.Firing()[0].SLOs); n != 2 {
		t.Fatalf("got %d SLOs in the page, want 2", n)
	}
	renamed := newEvaluator(t, 0, "latency", "errors")
	renamed.Restore(old.State())
	firing := renamed.Firing()
	if len(firing) != 1 || len(firing[0].SLOs) != 1 || firing[0].SLOs[0].SLO != "latency" {
		t.Fatalf("got %+v, want the page kept with latency only", firing)
	}
	gone := newEvaluator(t, 0, "errors")
	gone.Restore(old.State())
	if f := gone.Firing(); len(f) != 0 {
		t.Errorf("got %+v, want no incident once none of its SLOs is configured", f)
	}
}
