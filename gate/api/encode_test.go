package api

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/gate"
	"github.com/slogate/slogate/slo"
)

func TestFastAnswerEncoding(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 2, 0, 123456789, time.UTC)
	freezeAll := slo.ScheduleSpec{Name: "freeze-all", TimeZone: "UTC"}
	sched, err := slo.CompileSchedule(freezeAll)
	if err != nil {
		t.Fatal(err)
	}
	schedules := map[string]*slo.Schedule{"freeze-all": sched, slo.AlwaysName: slo.AlwaysOn()}
	svc := &slo.Service{Name: "checkout", SLOs: []slo.SLO{{Name: "availability", Objective: 99.9, Window: "28d"}}}
	frozen := &slo.Service{Name: "checkout", SLOs: svc.SLOs, Gate: &slo.GatePolicy{Freeze: []slo.FreezeRule{{Schedule: "freeze-all"}}}}
	remaining, burn := -0.04, 16.2
	status := &monitor.ServiceStatus{Name: "checkout", SLOs: []*monitor.SLOStatus{{
		Service: "checkout", Name: "availability", Objective: 99.9, Window: "28d", State: monitor.StateExhausted,
		Budget: monitor.BudgetView{Total: 5000, RemainingRatio: &remaining},
		Burn:   []monitor.BurnView{{Window: "1h", Rate: &burn}, {Window: "5m", Rate: &burn}, {Window: "6h", Rate: &burn}},
	}}}
	ov := &gate.Override{ID: 7, Service: "checkout", Reason: `demo for "ACME" <today>`, By: "alice",
		CreatedAt: at.Add(-time.Minute), ExpiresAt: at.Add(time.Hour)}

	cases := []struct {
		name string
		svc  *slo.Service
		req  gate.Request
		ov   *gate.Override
	}{
		{"a plain feature during a slow-down", svc, gate.Request{Service: "checkout", Message: "feat: add Excel export"}, nil},
		{"a fix with version and commit", svc, gate.Request{Service: "checkout", Env: "production", Version: "v1.42.0", Commit: "0a1b2c3", ChangeType: "fix"}, nil},
		{"strings that need escaping", svc, gate.Request{Service: "checkout", Version: "v1\"\\\n\t<b>&\u2028\x01\xff", Commit: "é😀"}, nil},
		{"an active override", svc, gate.Request{Service: "checkout", ChangeType: "feat"}, ov},
		{"an ungated environment", svc, gate.Request{Service: "checkout", Env: "staging"}, nil},
		{"a freeze replacing the reasons", frozen, gate.Request{Service: "checkout", ChangeType: "feat"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := gate.Resolve(slo.GatePolicy{}, c.svc, schedules)
			v := gate.Judge(p, status, at)
			vj := newVerdictJSON(v, p, "http://slogate.example.com/services/checkout")
			var a gate.Answer
			gate.Decide(p, v, &c.req, c.ov, at, &a)
			a.URL = vj.url
			fast := appendAnswer(nil, &a, vj)
			if !json.Valid(fast) {
				t.Fatalf("invalid JSON: %s", fast)
			}
			slow, err := json.Marshal(&a)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			_ = json.Unmarshal(fast, &got)
			_ = json.Unmarshal(slow, &want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("fast encoding differs from encoding/json:\n got %s\nwant %s", fast, slow)
			}
		})
	}
}

func TestAppendStringEscapesLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "<html>&", "\x00\x1f\x7f", "\u2028\u2029", "bad\xffutf8", "é😀", "\t\n\r\b\f"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestTheGateLookupDoesNotAllocate(t *testing.T) {
	it := newIntegration(t)
	var a gate.Answer
	for _, req := range []gate.Request{
		{Service: "checkout", Env: "production", ChangeType: "feat", Version: "v1.42.0"},
		{Service: "payments", Message: "fix(api): handle empty carts"},
		{Service: "search", Env: "staging", Message: "feat!: drop v1 API"},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := it.gate.decide(&req, it.now, &a); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("deciding %+v allocated %v times, want 0", req, allocs)
		}
	}
}

func BenchmarkGateAnswer(b *testing.B) {
	it := newIntegration(b)
	req := gate.Request{Service: "payments", Env: "production", ChangeType: "feat", Version: "v1.42.0"}
	var a gate.Answer
	var buf []byte
	b.Run("decide", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = it.gate.decide(&req, it.now, &a)
		}
	})
	b.Run("decide and encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			vj, _ := it.gate.decide(&req, it.now, &a)
			buf = appendAnswer(buf[:0], &a, vj)
		}
	})
}
