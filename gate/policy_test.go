package gate

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/slo"
)

func ptr64(v float64) *float64 { return &v }

func dur(d time.Duration) *model.Duration { md := model.Duration(d); return &md }

// fridayAfternoons is active Fridays from 12:00 UTC to midnight.
func fridayAfternoons(t testing.TB) map[string]*slo.Schedule {
	t.Helper()
	s, err := slo.CompileSchedule(slo.ScheduleSpec{Name: "friday-afternoons",
		Weekly: []slo.WeeklyRule{{Days: []string{"fri"}, Hours: []string{"12:00-24:00"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*slo.Schedule{"friday-afternoons": s, slo.AlwaysName: slo.AlwaysOn()}
}

var (
	friday   = time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC) // a Friday afternoon
	thursday = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
)

func TestResolveMergesFieldByField(t *testing.T) {
	f := false
	defaults := slo.GatePolicy{
		WarnBudgetRemaining: ptr64(40),
		AllowedChangeTypes:  []string{"fix", "revert", "docs"},
		OnNoData:            slo.OnNoDataSlowDown,
		MaxDataAge:          dur(10 * time.Minute),
		Freeze:              []slo.FreezeRule{{Schedule: "friday-afternoons"}},
	}
	svc := &slo.Service{Name: "checkout", Gate: &slo.GatePolicy{
		SLOs:               []string{"availability"},
		MinBudgetRemaining: ptr64(10),
		FastBurn:           &slo.FastBurn{Rate: 6, Windows: []model.Duration{model.Duration(6 * time.Hour), model.Duration(30 * time.Minute)}},
		Environments:       []string{"production", "production-eu"},
		Enforce:            &f,
	}}
	p := Resolve(defaults, svc, fridayAfternoons(t))
	tests := []struct {
		name      string
		got, want any
	}{
		{"the service's SLO list is kept", p.SLOs, []string{"availability"}},
		{"the service's minimum wins, as a ratio", p.MinBudgetRemaining, 0.10},
		{"the config's warning threshold fills the gap, as a ratio", p.WarnBudgetRemaining, 0.40},
		{"the service's fast burn replaces the default", p.FastBurnRate, 6.0},
		{"fast-burn windows are named as the monitor names them", p.FastBurnWindows, []string{"6h", "30m"}},
		{"the config's change types apply", p.AllowedChangeTypes, []string{"fix", "revert", "docs"}},
		{"the service's environments apply", p.Environments, []string{"production", "production-eu"}},
		{"the config's onNoData applies", p.OnNoData, slo.OnNoDataSlowDown},
		{"the built-in minimum events apply", p.MinEvents, 100.0},
		{"the config's max data age applies", p.MaxDataAge, 10 * time.Minute},
		{"the max data age is in seconds for JSON", p.MaxDataAgeSeconds, 600.0},
		{"the service turns enforcement off", p.Enforce, false},
		{"the built-in max override applies", p.MaxOverride, 24 * time.Hour},
		{"the built-in impact window applies", p.ImpactWindow, 30 * time.Minute},
		{"the built-in impact minimum applies", p.ImpactMinEvents, 100.0},
		{"freeze rules get a default when and reason", []any{p.Freeze[0].Schedule, p.Freeze[0].When, p.Freeze[0].Reason},
			[]any{"friday-afternoons", "active", "freeze (friday-afternoons)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gb, _ := json.Marshal(tt.got)
			wb, _ := json.Marshal(tt.want)
			if string(gb) != string(wb) {
				t.Errorf("got %s, want %s", gb, wb)
			}
		})
	}
}

func TestResolveWithoutSettingsUsesTheBuiltInDefaults(t *testing.T) {
	p := Resolve(slo.GatePolicy{}, nil, nil)
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"min_budget_remaining":0,"warn_budget_remaining":0.25,"fast_burn_rate":14.4,"fast_burn_windows":["1h","5m"],` +
		`"allowed_change_types":["fix","revert"],"environments":["production"],"on_no_data":"ship","min_events":100,` +
		`"max_data_age_seconds":900,"enforce":true}`
	if string(got) != want {
		t.Errorf("policy JSON\ngot  %s\nwant %s", got, want)
	}
}

func TestResolveDoesNotShareSlicesWithTheSpec(t *testing.T) {
	svc := &slo.Service{Gate: &slo.GatePolicy{AllowedChangeTypes: []string{"fix"}}}
	p := Resolve(slo.GatePolicy{}, svc, nil)
	p.AllowedChangeTypes[0] = "feat"
	if svc.Gate.AllowedChangeTypes[0] != "fix" {
		t.Error("changing the policy changed the spec")
	}
}

func TestBurnRateWindowsMatchTheBudgetEngine(t *testing.T) {
	if got, want := slo.BurnRateWindows(), budget.BurnWindows; !slices.Equal(got, want) {
		t.Errorf("slo.BurnRateWindows() = %v, budget.BurnWindows = %v; keep them equal", got, want)
	}
}

func TestPolicyGated(t *testing.T) {
	p := Resolve(slo.GatePolicy{Environments: []string{"production", "prod-eu"}}, nil, nil)
	tests := []struct {
		env  string
		want bool
	}{
		{"production", true},
		{"Production", true},
		{"prod-eu", true},
		{"staging", false},
		{"", true},
	}
	for _, tt := range tests {
		t.Run("env "+strconv.Quote(tt.env)+" gated is "+strconv.FormatBool(tt.want), func(t *testing.T) {
			if got := p.Gated(tt.env); got != tt.want {
				t.Errorf("Gated(%q) = %v, want %v", tt.env, got, tt.want)
			}
		})
	}
}

func TestPolicyExempt(t *testing.T) {
	p := Resolve(slo.GatePolicy{}, nil, nil)
	tests := []struct {
		typ  string
		want bool
	}{
		{"fix", true}, {"revert", true}, {"REVERT", true}, {"feat", false}, {"", false}, {"merge", false},
	}
	for _, tt := range tests {
		t.Run("type "+strconv.Quote(tt.typ)+" exempt is "+strconv.FormatBool(tt.want), func(t *testing.T) {
			if got := p.Exempt(tt.typ); got != tt.want {
				t.Errorf("Exempt(%q) = %v, want %v", tt.typ, got, tt.want)
			}
		})
	}
}

func TestPolicyFreezeAt(t *testing.T) {
	scheds := fridayAfternoons(t)
	tests := []struct {
		name   string
		rules  []slo.FreezeRule
		at     time.Time
		reason string
	}{
		{"an active schedule freezes", []slo.FreezeRule{{Schedule: "friday-afternoons"}}, friday, "freeze (friday-afternoons)"},
		{"an inactive schedule does not freeze", []slo.FreezeRule{{Schedule: "friday-afternoons"}}, thursday, ""},
		{"when inactive freezes outside the schedule", []slo.FreezeRule{{Schedule: "friday-afternoons", When: "inactive", Reason: "outside the release window"}}, thursday, "outside the release window"},
		{"the first rule in force wins", []slo.FreezeRule{{Schedule: "friday-afternoons", Reason: "weekend ahead"}, {Schedule: "always"}}, friday, "weekend ahead"},
		{"a rule naming an unknown schedule never freezes", []slo.FreezeRule{{Schedule: "nope"}}, friday, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Resolve(slo.GatePolicy{Freeze: tt.rules}, nil, scheds)
			reason, frozen := p.FreezeAt(tt.at)
			if reason != tt.reason || frozen != (tt.reason != "") {
				t.Errorf("FreezeAt = %q, %v; want %q", reason, frozen, tt.reason)
			}
			if n := testing.AllocsPerRun(100, func() { p.FreezeAt(tt.at) }); n != 0 {
				t.Errorf("FreezeAt allocates %v times, want 0", n)
			}
		})
	}
}
