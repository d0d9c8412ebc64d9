package api

import (
	"context"
	"testing"
	"time"

	"github.com/slogate/slogate/gate/store"
)

// TestHarmfulDeploysAreJudgedEarly checks that a deploy already
// significantly degrading its SLOs five minutes in is judged degraded at
// once, so an alert it causes names it, while a harmless one waits for its
// whole impact window.
func TestHarmfulDeploysAreJudgedEarly(t *testing.T) {
	in := newIntegration(t)
	ctx := context.Background()
	t0 := in.now.Add(time.Hour) // after the setup's own records
	// checkout: clean before the deploy, 20% failing after it; payments:
	// 10% failing before and after (no change).
	recordEvents(t, in.mon, "checkout", in.now, t0, 100, 0)
	recordEvents(t, in.mon, "checkout", t0, t0.Add(40*time.Minute), 100, 20)
	recordEvents(t, in.mon, "payments", in.now, t0.Add(40*time.Minute), 100, 10)

	clock := t0
	cfg := in.cfg
	cfg.Now = func() time.Time { return clock }
	g, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ids = map[string]int64{}
	for _, svc := range []string{"checkout", "payments"} {
		d, err := cfg.Store.AddDeploy(ctx, store.Deploy{Service: svc, Version: "v2", Env: "production", Status: "succeeded",
			StartedAt: t0, CreatedAt: t0}, store.AuditEntry{At: t0, Actor: "ci", Action: "deploy.create", Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		ids[svc] = d.ID
	}
	class := func(svc string) string {
		t.Helper()
		d, err := cfg.Store.Deploy(ctx, ids[svc])
		if err != nil {
			t.Fatal(err)
		}
		return d.ImpactClass
	}
	for _, step := range []struct {
		after             time.Duration
		checkout, payment string
	}{
		{4 * time.Minute, "", ""},
		{6 * time.Minute, store.ClassDegraded, ""},
		{20 * time.Minute, store.ClassDegraded, ""},
		{31 * time.Minute, store.ClassDegraded, "neutral"},
	} {
		clock = t0.Add(step.after)
		if err := g.measureImpacts(ctx); err != nil {
			t.Fatal(err)
		}
		if got, got2 := class("checkout"), class("payments"); got != step.checkout || got2 != step.payment {
			t.Errorf("%v after the deploys: checkout %q, payments %q; want %q and %q", step.after, got, got2, step.checkout, step.payment)
		}
	}
	if d, _ := cfg.Store.Deploy(ctx, ids["checkout"]); d.ImpactAt == nil || !d.ImpactAt.Equal(t0.Add(6*time.Minute)) {
		t.Errorf("checkout judged at %v, want 6 minutes after the deploy", d.ImpactAt)
	}
}
