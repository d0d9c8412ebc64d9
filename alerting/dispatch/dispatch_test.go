package dispatch_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/alerting/dispatch"
	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/alertmanager"
	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/alerting/outbox"
	"github.com/slogate/slogate/alerting/state"
	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/slo"
)

// t0 is a Wednesday afternoon in Alice's week on call (the rotation starts
// Monday 2026-11-23 09:00 Berlin with Alice, then Carol).
var t0 = time.Date(2026, 11, 25, 14, 2, 0, 0, time.UTC)

// rig is a dispatcher over the testdata config with a real outbox and
// state store in one SQLite file. The outbox is never run, so what the
// dispatcher enqueues stays listed there.
type rig struct {
	t      *testing.T
	cat    *slo.Catalog
	dir    *oncall.Directory
	path   string
	ob     *outbox.Outbox
	mem    *state.Store
	recv   map[string]notify.Notifier
	d      *dispatch.Dispatcher
	seen   int64 // highest notification ID already returned by sent
	deploy *notify.Deploy
}

func newRig(t *testing.T) *rig {
	t.Helper()
	cat, err := slo.Load("testdata/slogate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := oncall.New(cat.Config)
	if err != nil {
		t.Fatal(err)
	}
	recv, skipped, err := dispatch.Notifiers(cat.Config, func(string) string { return "" })
	if err != nil || len(skipped) > 0 {
		t.Fatalf("notifiers: %v, skipped %v", err, skipped)
	}
	r := &rig{t: t, cat: cat, dir: dir, path: filepath.Join(t.TempDir(), "slogate.db"), recv: recv}
	r.open()
	return r
}

// open (re)opens the stores and builds a dispatcher, as a process start.
func (r *rig) open() {
	r.t.Helper()
	ctx := context.Background()
	var err error
	if r.ob, err = outbox.Open(ctx, outbox.Config{Path: r.path, Notifiers: r.recv}); err != nil {
		r.t.Fatal(err)
	}
	if r.mem, err = state.Open(ctx, r.path); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { r.ob.Close(); r.mem.Close() })
	r.d, err = dispatch.New(ctx, dispatch.Config{
		Catalog: r.cat, Directory: r.dir, Outbox: r.ob, Receivers: r.recv, Memory: r.mem,
		ExternalURL: "https://slogate.example.com", RepeatInterval: time.Duration(r.cat.Config.Alerting.RepeatInterval),
		Suspect: func(context.Context, string) (*notify.Deploy, error) { return r.deploy, nil },
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

// restart closes the stores and opens them again with a new dispatcher.
func (r *rig) restart() {
	r.t.Helper()
	r.d.Wait()
	r.ob.Close()
	r.mem.Close()
	r.open()
}

// tick evaluates the statuses of checkout's SLOs at t.
func (r *rig) tick(at time.Time, statuses map[string]budget.Status) {
	r.t.Helper()
	snap := &monitor.Snapshot{At: at}
	for _, svc := range r.cat.Services {
		st := &monitor.ServiceStatus{Name: svc.Name}
		for _, o := range svc.SLOs {
			raw, ok := statuses[svc.Name+"/"+o.Name]
			if !ok {
				raw = burning(0.1)
			}
			st.SLOs = append(st.SLOs, &monitor.SLOStatus{Service: svc.Name, Name: o.Name, Raw: raw})
		}
		snap.Services = append(snap.Services, st)
	}
	r.d.Update(context.Background(), snap)
}

// sent returns the notifications enqueued since the last call, oldest
// first, as "receiver kind".
func (r *rig) sent() ([]string, []outbox.Notification) {
	r.t.Helper()
	ns, err := r.ob.List(context.Background(), outbox.Filter{Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	slices.Reverse(ns)
	var names []string
	var out []outbox.Notification
	for _, n := range ns {
		if n.ID <= r.seen {
			continue
		}
		r.seen = n.ID
		names = append(names, n.Receiver+" "+string(n.Kind))
		out = append(out, n)
	}
	return names, out
}

func (r *rig) expect(when string, want ...string) []outbox.Notification {
	r.t.Helper()
	got, ns := r.sent()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		r.t.Errorf("%s: enqueued %q, want %q", when, got, want)
	}
	return ns
}

// burning returns an active status burning at rate over every window,
// with a thousand bad events per window at rate 1 (so every rule's
// low-traffic guard passes) and 60% of the budget left.
func burning(rate float64) budget.Status {
	st := budget.Status{Active: true, RemainingRatio: 0.6, Total: 1e7, Good: 1e7 - 4000, Bad: 4000}
	for _, w := range budget.BurnWindows {
		st.Burn = append(st.Burn, budget.BurnRate{Window: w, Total: 1e6, Good: 1e6 - rate*1000, Rate: rate})
	}
	return st
}

func fast() map[string]budget.Status {
	return map[string]budget.Status{"checkout/availability": burning(80)}
}

func TestTriggerReachesOnCallAndChannelAndResolveTheSameReceivers(t *testing.T) {
	r := newRig(t)
	r.deploy = &notify.Deploy{Version: "v1.42.0", Commit: "abc1234", Author: "bob@example.com", At: t0.Add(-2 * time.Minute), Impact: "degraded"}
	r.tick(t0, fast())
	ns := r.expect("page", "pagerduty:alice trigger", "checkout-slack trigger")
	for _, n := range ns {
		m := n.Message
		if m.Severity != notify.SeverityPage || m.OnCall != "alice" || m.RunbookURL != "https://runbooks.example.com/checkout" ||
			m.UIURL != "https://slogate.example.com/services/checkout/slos/availability" || m.Deploy == nil ||
			m.Deploy.Version != "v1.42.0" || len(m.BurnRates) == 0 || m.BudgetRemaining != 0.6 || m.DedupKey == "" {
			t.Errorf("%s got %+v, want a page with on-call, runbook, link, suspect deploy, burn and budget", n.Receiver, m)
		}
		// Bob authored the suspect deploy: he is mentioned in the channel.
		wantMention := n.Receiver == "checkout-slack"
		if got := len(m.Mentions) == 1 && m.Mentions[0].Person == "bob" && m.Mentions[0].Slack == "U0BOB"; got != wantMention {
			t.Errorf("%s mentions %+v, want bob mentioned only in the channel", n.Receiver, m.Mentions)
		}
	}
	if _, err := r.mem.Acknowledge(context.Background(), ns[0].DedupKey, "alice", "on it", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	// Still burning after the handoff to Carol: no reminder (acknowledged),
	// and the resolve goes where the trigger went, Alice's PagerDuty
	// included, so her incident closes.
	handoff := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	r.tick(handoff, fast())
	r.expect("after the handoff, acknowledged")
	for m := 1; m <= 6; m++ {
		r.tick(handoff.Add(time.Duration(m)*time.Minute), nil)
	}
	ns = r.expect("resolve", "pagerduty:alice resolve", "checkout-slack resolve")
	for _, n := range ns {
		if n.DedupKey != r.d.Alerts()[0].Key || n.Message.Lasted == 0 || !strings.HasPrefix(n.Message.Summary, "resolved after") {
			t.Errorf("%s got %+v, want the resolve of the same alert with how long it lasted", n.Receiver, n.Message)
		}
	}
	if a := r.d.Alerts(); len(a) != 1 || a[0].State != "resolved" {
		t.Errorf("alerts %+v, want the one resolved alert", a)
	}
}

func TestUnacknowledgedPagesRepeatUntilAcknowledged(t *testing.T) {
	r := newRig(t)
	r.tick(t0, fast())
	ns := r.expect("page", "pagerduty:alice trigger", "checkout-slack trigger")
	r.tick(t0.Add(29*time.Minute), fast())
	r.expect("before the repeat interval")
	r.tick(t0.Add(30*time.Minute), fast())
	rep := r.expect("after the repeat interval", "pagerduty:alice trigger", "checkout-slack trigger")
	for _, n := range rep {
		if n.Message.Repeat != 1 || n.DedupKey != ns[0].DedupKey || !strings.Contains(n.Message.Summary, "unacknowledged") {
			t.Errorf("got %+v, want reminder 1 of the same alert", n.Message)
		}
	}
	if _, err := r.mem.Acknowledge(context.Background(), ns[0].DedupKey, "alice", "", t0.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	r.tick(t0.Add(90*time.Minute), fast())
	r.expect("acknowledged")
	if a := r.d.Alerts(); len(a) != 1 || a[0].Repeats != 1 {
		t.Errorf("alerts %+v, want one firing alert repeated once", a)
	}
}

func TestSilencesHoldAlertsBackUntilTheyEnd(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	sil, err := r.mem.AddSilence(ctx, state.Silence{Service: "checkout", SLO: "availability",
		EndsAt: t0.Add(time.Hour), Reason: "load test", Author: "alice"}, t0.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	r.tick(t0, fast())
	r.expect("silenced")
	if a := r.d.Alerts(); len(a) != 1 || a[0].State != "silenced" || a[0].SilencedBy != sil.ID {
		t.Fatalf("alerts %+v, want one alert silenced by %d", a, sil.ID)
	}
	// A second SLO burning is not covered by the silence, so the alert
	// (now over both) goes out.
	both := fast()
	both["checkout/latency"] = burning(50)
	r.tick(t0.Add(time.Minute), both)
	r.expect("partly silenced", "pagerduty:alice trigger", "checkout-slack trigger")

	// A silenced alert that resolves was never told, so its resolve is not.
	r2 := newRig(t)
	if _, err := r2.mem.AddSilence(ctx, state.Silence{Service: "checkout", EndsAt: t0.Add(time.Hour), Reason: "x", Author: "a"}, t0); err != nil {
		t.Fatal(err)
	}
	r2.tick(t0, fast())
	for m := 1; m <= 10; m++ {
		r2.tick(t0.Add(time.Duration(m)*time.Minute), nil)
	}
	r2.expect("silenced and resolved")
	// Expiring the silence while the alert fires sends it then.
	r3 := newRig(t)
	s3, err := r3.mem.AddSilence(ctx, state.Silence{Service: "checkout", EndsAt: t0.Add(time.Hour), Reason: "x", Author: "a"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	r3.tick(t0, fast())
	r3.expect("silenced")
	if _, err := r3.mem.ExpireSilence(ctx, s3.ID, "alice", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	r3.tick(t0.Add(3*time.Minute), fast())
	r3.expect("silence expired", "pagerduty:alice trigger", "checkout-slack trigger")
}

func TestOpenAlertsSurviveARestart(t *testing.T) {
	r := newRig(t)
	r.tick(t0, fast())
	ns := r.expect("page", "pagerduty:alice trigger", "checkout-slack trigger")
	r.restart()
	if a := r.d.Alerts(); len(a) != 1 || a[0].Key != ns[0].DedupKey || a[0].State != "firing" ||
		!slices.Equal(a[0].Receivers, []string{"pagerduty:alice", "checkout-slack"}) {
		t.Fatalf("after restart alerts %+v, want the page %s told to alice and the channel", a, ns[0].DedupKey)
	}
	r.tick(t0.Add(time.Minute), fast())
	r.expect("still burning after restart")
	for m := 2; m <= 8; m++ {
		r.tick(t0.Add(time.Duration(m)*time.Minute), nil)
	}
	for _, n := range r.expect("resolve", "pagerduty:alice resolve", "checkout-slack resolve") {
		if n.DedupKey != ns[0].DedupKey {
			t.Errorf("resolve under key %s, want the trigger's %s", n.DedupKey, ns[0].DedupKey)
		}
	}
}

func TestFiringAlertsAreResentToAlertmanager(t *testing.T) {
	var mu sync.Mutex
	var posts []alertmanager.Alert
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var as []alertmanager.Alert
		if err := json.Unmarshal(b, &as); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		mu.Lock()
		posts = append(posts, as...)
		mu.Unlock()
	}))
	defer srv.Close()
	r := newRig(t)
	am, err := alertmanager.New(alertmanager.Config{URL: srv.URL, Resend: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	r.recv["checkout-am"] = am
	r.restart()

	st := map[string]budget.Status{"search/availability": burning(80)}
	r.tick(t0, st)
	r.expect("page", "checkout-slack trigger", "checkout-am trigger")
	r.tick(t0.Add(30*time.Second), st)
	r.tick(t0.Add(time.Minute), st)
	r.tick(t0.Add(90*time.Second), st)
	r.tick(t0.Add(2*time.Minute), st)
	r.d.Wait()
	r.expect("resends skip the outbox")
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 2 {
		t.Fatalf("alertmanager got %d alerts, want 2 resends (at 1m and 2m)", len(posts))
	}
	if p := posts[0]; p.Labels["service"] != "search" || p.Labels["severity"] != "page" || !p.EndsAt.After(t0) {
		t.Errorf("resend %+v, want search's page with endsAt ahead", p)
	}
}

func TestDeploysBecomePagerDutyChangeEvents(t *testing.T) {
	r := newRig(t)
	r.d.Change(context.Background(), "checkout", notify.Deploy{Version: "v1.42.0", Author: "bob", At: t0}, t0)
	ns := r.expect("change", "pagerduty:alice change")
	if m := ns[0].Message; m.Deploy == nil || m.Deploy.Version != "v1.42.0" || m.Summary != "deployed checkout v1.42.0 by bob" ||
		m.UIURL != "https://slogate.example.com/services/checkout" {
		t.Errorf("got %+v, want the deploy", m)
	}
	r.d.Change(context.Background(), "search", notify.Deploy{Version: "v2"}, t0)
	r.expect("search pages no PagerDuty receiver")
}

func TestEvaluatorConfigTakesTheSpecsRules(t *testing.T) {
	cat, err := slo.Load("testdata/slogate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range cat.Services {
		if svc.Name != "checkout" {
			continue
		}
		c := alerting.ConfigFor(svc)
		if len(c.SLOs) != 2 || c.SLOs[0].Rules != nil || c.SLOs[0].MinBadEvents != 0 {
			t.Errorf("availability: got %+v, want the default rules and guard", c.SLOs[0])
		}
		if l := c.SLOs[1]; len(l.Rules) != 1 || l.Rules[0].Burn != 10 || l.Rules[0].Long != time.Hour || l.MinBadEvents != -1 {
			t.Errorf("latency: got %+v, want its one rule and no guard", l)
		}
	}
}

func TestMetricsSayWhatFires(t *testing.T) {
	r := newRig(t)
	r.tick(t0, fast())
	var b strings.Builder
	r.d.WriteMetrics(&b)
	for _, want := range []string{
		"# TYPE slogate_alerts_firing gauge\n",
		`slogate_alerts_firing{service="checkout",team="checkout",severity="page"} 1` + "\n",
		`slogate_alerts_firing{service="checkout",team="checkout",severity="ticket"} 0` + "\n",
		`slogate_alerts_firing{service="search",team="checkout",severity="page"} 0` + "\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics\n%s\nlack %q", b.String(), want)
		}
	}
}

// TestATriggerNotStoredIsSentAfterRestart breaks the outbox so the first
// trigger cannot be stored: the alert is kept as not yet told, and after a
// restart the same alert, under the same key, is sent.
func TestATriggerNotStoredIsSentAfterRestart(t *testing.T) {
	r := newRig(t)
	r.ob.Close()
	r.tick(t0, fast())
	a := r.d.Alerts()
	if len(a) != 1 || len(a[0].Receivers) != 0 {
		t.Fatalf("alerts %+v, want one alert nobody was told of", a)
	}
	r.restart()
	r.tick(t0.Add(time.Minute), fast())
	for _, n := range r.expect("after restart", "pagerduty:alice trigger", "checkout-slack trigger") {
		if n.DedupKey != a[0].Key {
			t.Errorf("sent under key %s, want the alert's own %s", n.DedupKey, a[0].Key)
		}
	}
}

// TestAResolveNotStoredIsSentLater breaks the outbox when the alert
// ends: the resolve is kept, with the alert's state, and reaches the
// trigger's receivers once the outbox works again, here after a restart.
func TestAResolveNotStoredIsSentLater(t *testing.T) {
	r := newRig(t)
	r.tick(t0, fast())
	r.expect("page", "pagerduty:alice trigger", "checkout-slack trigger")
	key := r.d.Alerts()[0].Key
	r.ob.Close()
	for m := 1; m <= 6; m++ {
		r.tick(t0.Add(time.Duration(m)*time.Minute), nil)
	}
	if a := r.d.Alerts(); len(a) != 1 || a[0].State != "resolved" {
		t.Fatalf("alerts %+v, want the alert resolved", a)
	}
	r.restart()
	r.expect("after the restart, before an evaluation")
	r.tick(t0.Add(7*time.Minute), nil)
	for _, n := range r.expect("at the first evaluation after the restart", "pagerduty:alice resolve", "checkout-slack resolve") {
		if n.DedupKey != key {
			t.Errorf("%s resolve under key %s, want the alert's own %s", n.Receiver, n.DedupKey, key)
		}
	}
	r.tick(t0.Add(8*time.Minute), nil)
	r.expect("once stored, not again")
	r.restart()
	r.tick(t0.Add(9*time.Minute), nil)
	r.expect("nor after another restart")
}

func TestNotifiersReadSecretsFromTheEnvironment(t *testing.T) {
	cfg := &slo.Config{Receivers: []slo.Receiver{
		{Name: "team-slack", Type: slo.ReceiverSlack, URLEnv: "TEAM_SLACK_URL"},
		{Name: "ops-pd", Type: slo.ReceiverPagerDuty, RoutingKeyEnv: "OPS_PD_KEY"},
	}}
	env := map[string]string{"TEAM_SLACK_URL": "https://hooks.slack.example/T0/B0/secret", "OPS_PD_KEY": "pd-key"}
	got, skipped, err := dispatch.Notifiers(cfg, func(k string) string { return env[k] })
	if err != nil || len(skipped) > 0 || got["team-slack"] == nil || got["ops-pd"] == nil {
		t.Fatalf("got %v, skipped %v, error %v; want both receivers", got, skipped, err)
	}
	delete(env, "OPS_PD_KEY")
	if _, _, err := dispatch.Notifiers(cfg, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "ops-pd") {
		t.Errorf("got error %v, want one naming ops-pd, whose variable is unset", err)
	}
}

// onDiskCheck is the outbox as the dispatcher sees it, checking at each
// trigger that the alert it is about is saved already.
type onDiskCheck struct {
	dispatch.Enqueuer
	t   *testing.T
	mem *state.Store
	n   int
}

func (c *onDiskCheck) Enqueue(ctx context.Context, receiver string, m *notify.Message, now time.Time) (int64, error) {
	c.n++
	saved, err := c.mem.LoadIncidents(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	if !strings.Contains(string(saved[m.Service]), m.DedupKey) {
		c.t.Errorf("%s %s for %s enqueued before the alert was saved (saved: %s)", m.Kind, m.DedupKey, receiver, saved[m.Service])
	}
	return c.Enqueuer.Enqueue(ctx, receiver, m, now)
}

func TestATriggerIsEnqueuedOnlyOnceItsAlertIsSaved(t *testing.T) {
	r := newRig(t)
	check := &onDiskCheck{Enqueuer: r.ob, t: t, mem: r.mem}
	d, err := dispatch.New(context.Background(), dispatch.Config{Catalog: r.cat, Directory: r.dir, Outbox: check,
		Receivers: r.recv, Memory: r.mem})
	if err != nil {
		t.Fatal(err)
	}
	snapAt := func(at time.Time) *monitor.Snapshot {
		snap := &monitor.Snapshot{At: at}
		for _, svc := range r.cat.Services {
			st := &monitor.ServiceStatus{Name: svc.Name}
			for _, o := range svc.SLOs {
				raw := burning(0.1)
				if svc.Name == "checkout" && o.Name == "availability" {
					raw = burning(80)
				}
				st.SLOs = append(st.SLOs, &monitor.SLOStatus{Service: svc.Name, Name: o.Name, Raw: raw})
			}
			snap.Services = append(snap.Services, st)
		}
		return snap
	}
	d.Update(context.Background(), snapAt(t0))
	if check.n == 0 {
		t.Fatal("nothing was enqueued: the page did not fire")
	}
}
