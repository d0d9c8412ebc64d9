package gate

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/slo"
)

var evaluatedAt = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// healthy returns a 99.9% 28d SLO with 71% of its budget left, fresh data
// and calm burn rates; mods change it.
func healthy(name string, mods ...func(*monitor.SLOStatus)) *monitor.SLOStatus {
	s := &monitor.SLOStatus{
		Service: "checkout", Name: name, Objective: 99.9, Window: "28d", Budgeting: slo.Occurrences,
		Budget: monitor.BudgetView{Unit: "events", Good: 999710, Total: 1000000, SLI: ptr64(0.99971), RemainingRatio: ptr64(0.71)},
		Burn: []monitor.BurnView{
			{Window: "5m", Rate: ptr64(0.4)}, {Window: "30m", Rate: ptr64(0.5)}, {Window: "1h", Rate: ptr64(0.6)},
			{Window: "2h", Rate: ptr64(0.7)}, {Window: "6h", Rate: ptr64(0.8)}, {Window: "1d", Rate: ptr64(0.9)}, {Window: "3d", Rate: ptr64(1)},
		},
		Schedule: monitor.ScheduleView{Name: slo.AlwaysName, TimeZone: "UTC", Active: true},
		Data:     monitor.FreshnessView{AgeSeconds: ptr64(30)},
	}
	for _, m := range mods {
		m(s)
	}
	return s
}

func remaining(r float64, sli float64) func(*monitor.SLOStatus) {
	return func(s *monitor.SLOStatus) { s.Budget.RemainingRatio, s.Budget.SLI = ptr64(r), ptr64(sli) }
}

func burn(window string, rate float64) func(*monitor.SLOStatus) {
	return func(s *monitor.SLOStatus) {
		for i := range s.Burn {
			if s.Burn[i].Window == window {
				s.Burn[i].Rate = ptr64(rate)
			}
		}
	}
}

func events(n float64) func(*monitor.SLOStatus) {
	return func(s *monitor.SLOStatus) { s.Budget.Total, s.Budget.Good = n, n }
}

func noData(s *monitor.SLOStatus) {
	s.Budget = monitor.BudgetView{Unit: "events", RemainingRatio: ptr64(1), NoData: true}
	for i := range s.Burn {
		s.Burn[i].Rate = nil
	}
	s.Data = monitor.FreshnessView{}
}

func age(seconds float64) func(*monitor.SLOStatus) {
	return func(s *monitor.SLOStatus) { s.Data.AgeSeconds = ptr64(seconds) }
}

func service(slos ...*monitor.SLOStatus) *monitor.ServiceStatus {
	return &monitor.ServiceStatus{Name: "checkout", Team: "payments", SLOs: slos}
}

func TestJudge(t *testing.T) {
	slowOnNoData := slo.GatePolicy{OnNoData: slo.OnNoDataSlowDown}
	tests := []struct {
		name     string
		defaults slo.GatePolicy
		gate     *slo.GatePolicy
		svc      *monitor.ServiceStatus
		decision string
		reasons  []string
		warnings []string
		statuses []string
		stale    []string
	}{
		{
			name:     "healthy SLOs ship without reasons or warnings",
			svc:      service(healthy("availability"), healthy("latency")),
			decision: Ship, statuses: []string{"ok", "ok"},
		},
		{
			name:     "an overspent budget slows down with its numbers",
			svc:      service(healthy("availability", remaining(-0.04, 0.998896)), healthy("latency")),
			decision: SlowDown,
			reasons:  []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.890%)"},
			statuses: []string{"slow_down", "ok"},
		},
		{
			name:     "a budget at exactly zero counts as spent under the default minimum",
			svc:      service(healthy("availability", remaining(0, 0.999))),
			decision: SlowDown,
			reasons:  []string{"availability has spent 100% of its 28d budget (99.9% objective, SLI 99.900%)"},
			statuses: []string{"slow_down"},
		},
		{
			name:     "a budget below a minimum above zero slows down and says so",
			gate:     &slo.GatePolicy{MinBudgetRemaining: ptr64(10)},
			svc:      service(healthy("availability", remaining(0.04, 0.99996))),
			decision: SlowDown,
			reasons:  []string{"availability has 4% of its 28d budget left, below the 10% minimum (99.9% objective, SLI 99.996%)"},
			statuses: []string{"slow_down"},
		},
		{
			name:     "a fast burn over both windows slows down",
			svc:      service(healthy("availability", burn("1h", 16.2), burn("5m", 21))),
			decision: SlowDown,
			reasons:  []string{"availability is burning 16.2x its budget over 1h and 21.0x over 5m"},
			statuses: []string{"slow_down"},
		},
		{
			name:     "a fast burn over one window only does not slow down",
			svc:      service(healthy("availability", burn("5m", 30))),
			decision: Ship, statuses: []string{"ok"},
		},
		{
			name:     "a burn rate exactly at the threshold does not slow down",
			svc:      service(healthy("availability", burn("1h", 14.4), burn("5m", 14.4))),
			decision: Ship, statuses: []string{"ok"},
		},
		{
			name:     "a fast-burn rate of zero turns the condition off",
			gate:     &slo.GatePolicy{FastBurn: &slo.FastBurn{Rate: 0}},
			svc:      service(healthy("availability", burn("1h", 100), burn("5m", 100))),
			decision: Ship, statuses: []string{"ok"},
		},
		{
			name:     "a spent budget and a fast burn make one sentence",
			svc:      service(healthy("availability", remaining(-0.5, 0.9985), burn("1h", 20), burn("5m", 30))),
			decision: SlowDown,
			reasons:  []string{"availability has spent 150% of its 28d budget (99.9% objective, SLI 99.850%) and is burning 20.0x its budget over 1h and 30.0x over 5m"},
			statuses: []string{"slow_down"},
		},
		{
			name:     "a low budget warns but ships",
			svc:      service(healthy("availability", remaining(0.18, 0.99982))),
			decision: Ship,
			warnings: []string{"availability has 18% of its 28d budget left, below the 25% warning threshold"},
			statuses: []string{"warning"},
		},
		{
			name: "a business-hours SLO names its schedule",
			svc: service(healthy("availability", remaining(-0.2, 0.9988), func(s *monitor.SLOStatus) {
				s.Schedule.Name, s.Window = "berlin-business-hours", "month"
			})),
			decision: SlowDown,
			reasons:  []string{"availability has spent 120% of its month budget (99.9% objective, SLI 99.880%, counting berlin-business-hours only)"},
			statuses: []string{"slow_down"},
		},
		{
			name:     "an SLO that is not gated does not count",
			gate:     &slo.GatePolicy{SLOs: []string{"latency"}},
			svc:      service(healthy("availability", remaining(-1, 0.998)), healthy("latency")),
			decision: Ship, statuses: []string{"slow_down", "ok"},
		},
		{
			name:     "no data ships with a warning by default",
			svc:      service(healthy("availability", noData)),
			decision: Ship,
			warnings: []string{"availability has no data in its 28d window"},
			statuses: []string{"no_data"}, stale: []string{"availability"},
		},
		{
			name:     "no data slows down when onNoData says so",
			defaults: slowOnNoData,
			svc:      service(healthy("availability", noData)),
			decision: SlowDown,
			reasons:  []string{"availability has no data in its 28d window"},
			statuses: []string{"no_data"}, stale: []string{"availability"},
		},
		{
			name:     "too few events is insufficient data and the budget is not judged",
			svc:      service(healthy("latency", events(42), remaining(-3, 0.9))),
			decision: Ship,
			warnings: []string{"latency has insufficient data: 42 events in its 28d window, at least 100 needed"},
			statuses: []string{"insufficient_data"},
		},
		{
			name: "timeslice SLOs count minutes",
			svc: service(healthy("latency", events(42), func(s *monitor.SLOStatus) {
				s.Budget.Unit = "minutes"
			})),
			defaults: slowOnNoData,
			decision: SlowDown,
			reasons:  []string{"latency has insufficient data: 42 minutes in its 28d window, at least 100 needed"},
			statuses: []string{"insufficient_data"},
		},
		{
			name:     "old data while the schedule is active is stale",
			svc:      service(healthy("availability", age(22*60+10))),
			decision: Ship,
			warnings: []string{"availability has stale data: the latest is 22m old, more than the 15m allowed"},
			statuses: []string{"stale"}, stale: []string{"availability"},
		},
		{
			name: "old data outside the schedule is fine",
			svc: service(healthy("availability", age(16*3600), func(s *monitor.SLOStatus) {
				s.Schedule = monitor.ScheduleView{Name: "berlin-business-hours", Active: false}
			})),
			decision: Ship, statuses: []string{"ok"},
		},
		{
			name: "a failing source makes data stale",
			svc: service(healthy("availability", func(s *monitor.SLOStatus) {
				s.Data.SourceError = "scrape demo: connection refused"
			})),
			defaults: slowOnNoData,
			decision: SlowDown,
			reasons:  []string{"availability has stale data: its source reports an error: scrape demo: connection refused"},
			statuses: []string{"stale"}, stale: []string{"availability"},
		},
		{
			name:     "stale data is still judged: a spent budget stays spent",
			svc:      service(healthy("availability", age(3600), remaining(-0.1, 0.9989))),
			decision: SlowDown,
			reasons:  []string{"availability has spent 110% of its 28d budget (99.9% objective, SLI 99.890%)"},
			warnings: []string{"availability has stale data: the latest is 1h old, more than the 15m allowed"},
			statuses: []string{"slow_down"}, stale: []string{"availability"},
		},
		{
			name:     "a gated SLO missing from the evaluation has no data",
			gate:     &slo.GatePolicy{SLOs: []string{"availability", "latency"}},
			svc:      service(healthy("availability")),
			decision: Ship,
			warnings: []string{"latency has no data: it is not in the latest evaluation"},
			statuses: []string{"ok", "no_data"}, stale: []string{"latency"},
		},
		{
			name:     "a service not evaluated yet is a data problem",
			defaults: slowOnNoData,
			svc:      nil,
			decision: SlowDown,
			reasons:  []string{"checkout has not been evaluated yet"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Resolve(tt.defaults, &slo.Service{Name: "checkout", Gate: tt.gate}, nil)
			v := Judge(p, tt.svc, evaluatedAt)
			var statuses []string
			for _, s := range v.SLOs {
				statuses = append(statuses, s.Status)
			}
			checks := []struct {
				what      string
				got, want []string
			}{
				{"decision", []string{v.Decision}, []string{tt.decision}},
				{"reasons", v.Reasons, tt.reasons},
				{"warnings", v.Warnings, tt.warnings},
				{"statuses", statuses, tt.statuses},
				{"stale", v.Stale, tt.stale},
			}
			for _, c := range checks {
				if !slices.Equal(c.got, c.want) && !(len(c.got) == 0 && len(c.want) == 0) {
					t.Errorf("%s:\ngot  %q\nwant %q", c.what, c.got, c.want)
				}
			}
			if v.Service != "checkout" || !v.EvaluatedAt.Equal(evaluatedAt) {
				t.Errorf("service %q at %s, want checkout at %s", v.Service, v.EvaluatedAt, evaluatedAt)
			}
		})
	}
}

func TestJudgeEncodesEmptyListsAsArrays(t *testing.T) {
	v := Judge(Resolve(slo.GatePolicy{}, nil, nil), service(healthy("availability")), evaluatedAt)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"reasons":[]`, `"warnings":[]`, `"stale":[]`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("verdict JSON lacks %s: %s", key, b)
		}
	}
}

func TestJudgeSummarizesEachSLO(t *testing.T) {
	v := Judge(Resolve(slo.GatePolicy{}, nil, nil), service(healthy("availability", burn("1h", 2.5)), healthy("latency", noData)), evaluatedAt)
	got, err := json.Marshal(v.SLOs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"availability","gated":true,"status":"ok","budget_remaining":0.71,"burn_1h":2.5,"burn_6h":0.8,"window":"28d","objective":99.9,"events":1000000},` +
		`{"name":"latency","gated":true,"status":"no_data","budget_remaining":null,"burn_1h":null,"burn_6h":null,"window":"28d","objective":99.9,"events":0}]`
	if string(got) != want {
		t.Errorf("summaries\ngot  %s\nwant %s", got, want)
	}
}
