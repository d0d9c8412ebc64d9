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

func TestDecide(t *testing.T) {
	spent := service(healthy("availability", remaining(-0.04, 0.99896)))
	fine := service(healthy("availability"))
	freezeFridays := slo.GatePolicy{Freeze: []slo.FreezeRule{{Schedule: "friday-afternoons"}}}
	shadow := false
	override := &Override{ID: 7, Service: "checkout", Reason: "incident fix needs a feature flag", By: "jane",
		CreatedAt: thursday.Add(-time.Hour), ExpiresAt: thursday.Add(time.Hour)}
	ended := thursday.Add(-time.Minute)
	tests := []struct {
		name     string
		defaults slo.GatePolicy
		svc      *monitor.ServiceStatus
		req      Request
		ov       *Override
		now      time.Time
		// want
		decision                                    string
		allowed, wouldBlock, exempt, breaking, gate bool
		changeType, freeze, env                     string
		reasons                                     []string
		override                                    bool
	}{
		{
			name: "a feature ships when there is budget",
			svc:  fine, req: Request{Env: "production", Message: "feat: one-click buy"},
			decision: Ship, allowed: true, gate: true, changeType: "feat", env: "production",
		},
		{
			name: "a feature is blocked when the budget is spent",
			svc:  spent, req: Request{Env: "production", Message: "feat: one-click buy"},
			decision: SlowDown, wouldBlock: true, gate: true, changeType: "feat", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "a fix goes out when the budget is spent",
			svc:  spent, req: Request{Env: "production", Message: "fix(api): nil pointer"},
			decision: SlowDown, allowed: true, exempt: true, gate: true, changeType: "fix", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "an explicit change type wins over the message",
			svc:  spent, req: Request{Env: "production", ChangeType: "Revert", Message: "feat: x"},
			decision: SlowDown, allowed: true, exempt: true, gate: true, changeType: "revert", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "a breaking fix is never exempt",
			svc:  spent, req: Request{Env: "production", Message: "fix!: drop the legacy endpoint"},
			decision: SlowDown, wouldBlock: true, breaking: true, gate: true, changeType: "fix", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "a breaking footer makes an explicit fix breaking",
			svc:  spent, req: Request{Env: "production", ChangeType: "fix", Message: "fix: x\n\nBREAKING CHANGE: y"},
			decision: SlowDown, wouldBlock: true, breaking: true, gate: true, changeType: "fix", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "an unknown change type is not exempt",
			svc:  spent, req: Request{Env: "production", Message: "Fix login crash"},
			decision: SlowDown, wouldBlock: true, gate: true, env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "an active override lets a feature through",
			svc:  spent, req: Request{Env: "production", Message: "feat: flag"}, ov: override, now: thursday,
			decision: SlowDown, allowed: true, gate: true, changeType: "feat", env: "production", override: true,
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "an expired override is ignored",
			svc:  spent, req: Request{Env: "production", Message: "feat: flag"}, ov: override, now: thursday.Add(time.Hour),
			decision: SlowDown, wouldBlock: true, gate: true, changeType: "feat", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "an override ended early is ignored",
			svc:  spent, req: Request{Env: "production", Message: "feat: flag"}, now: thursday,
			ov:       &Override{Service: "checkout", CreatedAt: override.CreatedAt, ExpiresAt: override.ExpiresAt, EndedAt: &ended},
			decision: SlowDown, wouldBlock: true, gate: true, changeType: "feat", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "an override for another environment is ignored",
			svc:  spent, req: Request{Env: "production", Message: "feat: flag"}, now: thursday,
			ov:       &Override{Service: "checkout", Env: "staging", CreatedAt: override.CreatedAt, ExpiresAt: override.ExpiresAt},
			decision: SlowDown, wouldBlock: true, gate: true, changeType: "feat", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name:     "shadow mode allows but says it would block",
			defaults: slo.GatePolicy{Enforce: &shadow},
			svc:      spent, req: Request{Env: "production", Message: "feat: x"},
			decision: SlowDown, allowed: true, wouldBlock: true, gate: true, changeType: "feat", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "an environment that is not gated ships with the same reasons",
			svc:  spent, req: Request{Env: "staging", Message: "feat: x"},
			decision: Ship, allowed: true, changeType: "feat", env: "staging",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name: "no environment means the first gated one",
			svc:  spent, req: Request{Message: "feat: x"},
			decision: SlowDown, wouldBlock: true, gate: true, changeType: "feat", env: "production",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)"},
		},
		{
			name:     "a freeze slows a feature down even with budget",
			defaults: freezeFridays,
			svc:      fine, req: Request{Env: "production", Message: "feat: x"}, now: friday,
			decision: SlowDown, wouldBlock: true, gate: true, changeType: "feat", env: "production", freeze: "freeze (friday-afternoons)",
			reasons: []string{"freeze in force (friday-afternoons)"},
		},
		{
			name:     "a freeze adds its reason to the budget's",
			defaults: freezeFridays,
			svc:      spent, req: Request{Env: "production", Message: "feat: x"}, now: friday,
			decision: SlowDown, wouldBlock: true, gate: true, changeType: "feat", env: "production", freeze: "freeze (friday-afternoons)",
			reasons: []string{"availability has spent 104% of its 28d budget (99.9% objective, SLI 99.896%)", "freeze in force (friday-afternoons)"},
		},
		{
			name:     "a fix ships through a freeze",
			defaults: freezeFridays,
			svc:      fine, req: Request{Env: "production", Message: "fix: x"}, now: friday,
			decision: Ship, allowed: true, exempt: true, gate: true, changeType: "fix", env: "production", freeze: "freeze (friday-afternoons)",
		},
		{
			name:     "an override lets a feature through a freeze",
			defaults: freezeFridays,
			svc:      fine, req: Request{Env: "production", Message: "feat: x"}, now: friday,
			ov:       &Override{Service: "checkout", CreatedAt: friday.Add(-time.Hour), ExpiresAt: friday.Add(time.Hour)},
			decision: SlowDown, allowed: true, gate: true, changeType: "feat", env: "production", freeze: "freeze (friday-afternoons)", override: true,
			reasons: []string{"freeze in force (friday-afternoons)"},
		},
		{
			name:     "a freeze does not apply outside its schedule",
			defaults: freezeFridays,
			svc:      fine, req: Request{Env: "production", Message: "feat: x"}, now: thursday,
			decision: Ship, allowed: true, gate: true, changeType: "feat", env: "production",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Resolve(tt.defaults, &slo.Service{Name: "checkout"}, fridayAfternoons(t))
			v := Judge(p, tt.svc, evaluatedAt)
			req := tt.req
			req.Service, req.Version, req.Commit = "checkout", "1.2.3", "abc123"
			var a Answer
			Decide(p, v, &req, tt.ov, tt.now, &a)
			got := []any{a.Decision, a.Allowed, a.WouldBlock, a.Exempt, a.Breaking, a.Gated, a.ChangeType, a.Freeze, a.Env, a.Override != nil}
			want := []any{tt.decision, tt.allowed, tt.wouldBlock, tt.exempt, tt.breaking, tt.gate, tt.changeType, tt.freeze, tt.env, tt.override}
			if !slices.Equal(got, want) {
				t.Errorf("decision, allowed, would_block, exempt, breaking, gated, change_type, freeze, env, override:\ngot  %v\nwant %v", got, want)
			}
			if !slices.Equal(a.Reasons, tt.reasons) && !(len(a.Reasons) == 0 && len(tt.reasons) == 0) {
				t.Errorf("reasons:\ngot  %q\nwant %q", a.Reasons, tt.reasons)
			}
			if a.Service != "checkout" || a.Version != "1.2.3" || a.Commit != "abc123" || a.Policy != p || a.Enforced != p.Enforce {
				t.Errorf("service %q version %q commit %q policy %p enforced %v", a.Service, a.Version, a.Commit, a.Policy, a.Enforced)
			}
		})
	}
}

func TestDecideAnswerJSON(t *testing.T) {
	p := Resolve(slo.GatePolicy{}, &slo.Service{Name: "checkout"}, nil)
	v := Judge(p, service(healthy("availability", remaining(-0.04, 0.99896))), evaluatedAt)
	var a Answer
	Decide(p, v, &Request{Service: "checkout", Env: "production", Message: "feat: x"}, nil, thursday, &a)
	b, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"decision":"slow_down"`, `"allowed":false`, `"would_block":true`, `"enforced":true`, `"gated":true`,
		`"change_type":"feat"`, `"breaking":false`, `"exempt":false`, `"warnings":[]`, `"override":null`,
		`"data":{"stale":[]}`, `"evaluated_at":"2026-11-26T10:00:00Z"`, `"policy":{"min_budget_remaining":0,`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("answer JSON lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `"freeze"`) || strings.Contains(string(b), `"url"`) {
		t.Errorf("answer JSON has empty freeze or url:\n%s", b)
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	p := Resolve(slo.GatePolicy{Freeze: []slo.FreezeRule{{Schedule: "friday-afternoons"}}}, &slo.Service{Name: "checkout"}, fridayAfternoons(t))
	v := Judge(p, service(healthy("availability", remaining(-0.04, 0.99896)), healthy("latency")), evaluatedAt)
	ov := &Override{Service: "checkout", CreatedAt: thursday.Add(-time.Hour), ExpiresAt: thursday.Add(time.Hour)}
	tests := []struct {
		name string
		req  Request
		ov   *Override
		now  time.Time
	}{
		{"a message is parsed", Request{Service: "checkout", Env: "production", Message: "Merge pull request #12 from acme/fix/login\n\nfix: login"}, nil, thursday},
		{"an uppercase explicit type is mapped", Request{Service: "checkout", Env: "Production", ChangeType: "FIX!"}, nil, thursday},
		{"a freeze adds its reason", Request{Service: "checkout", Message: "feat: x"}, nil, friday},
		{"an override is checked", Request{Service: "checkout", Env: "production", Message: "feat: x"}, ov, thursday},
		{"an ungated environment ships", Request{Service: "checkout", Env: "staging"}, nil, friday},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Answer
			if n := testing.AllocsPerRun(1000, func() { Decide(p, v, &tt.req, tt.ov, tt.now, &a) }); n != 0 {
				t.Errorf("Decide allocates %v times, want 0", n)
			}
		})
	}
}

func TestOverrideActiveAt(t *testing.T) {
	start := thursday
	ended := start.Add(30 * time.Minute)
	o := Override{Service: "checkout", Env: "production", CreatedAt: start, ExpiresAt: start.Add(time.Hour)}
	early := o
	early.EndedAt = &ended
	tests := []struct {
		name string
		o    *Override
		now  time.Time
		env  string
		want bool
	}{
		{"it is active from its start", &o, start, "production", true},
		{"it is not active before its start", &o, start.Add(-time.Second), "production", false},
		{"it is not active at its expiry", &o, start.Add(time.Hour), "production", false},
		{"it matches environments case-insensitively", &o, start, "PRODUCTION", true},
		{"it does not cover other environments", &o, start, "staging", false},
		{"it is not active once ended", &early, ended, "production", false},
		{"it is active before it was ended", &early, ended.Add(-time.Second), "production", true},
		{"a nil override is never active", nil, start, "production", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.o.ActiveAt(tt.now, tt.env); got != tt.want {
				t.Errorf("ActiveAt(%s, %q) = %v, want %v", tt.now, tt.env, got, tt.want)
			}
		})
	}
}

// BenchmarkDecide measures the gate's per-request work: it must report 0
// allocs/op (go test -bench Decide -benchmem ./gate/).
func BenchmarkDecide(b *testing.B) {
	p := Resolve(slo.GatePolicy{Freeze: []slo.FreezeRule{{Schedule: "friday-afternoons"}}}, &slo.Service{Name: "checkout"}, fridayAfternoons(b))
	v := Judge(p, service(healthy("availability", remaining(-0.04, 0.99896)), healthy("latency")), evaluatedAt)
	req := Request{Service: "checkout", Env: "production", Version: "1.2.3", Commit: "abc123",
		Message: "fix(checkout): retry payment callbacks (#1234)"}
	var a Answer
	b.ReportAllocs()
	for b.Loop() {
		Decide(p, v, &req, nil, friday, &a)
	}
}
