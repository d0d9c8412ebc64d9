package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/monitor"
	bstore "github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/gate/store"
	"github.com/slogate/slogate/slo"
)

// summaries returns GET /gate's services by name, and their order.
func summaries(t *testing.T, body map[string]any) (map[string]map[string]any, []string) {
	t.Helper()
	list, ok := body["services"].([]any)
	if !ok {
		t.Fatalf("got %v, want a services list", body)
	}
	byName := map[string]map[string]any{}
	var order []string
	for _, e := range list {
		m := e.(map[string]any)
		name := fmt.Sprint(m["service"])
		byName[name] = m
		order = append(order, name)
	}
	return byName, order
}

func TestGateAll(t *testing.T) {
	it := newIntegration(t)
	status, _, body := integSend(t, http.MethodGet, it.base+"/api/v1/gate", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("got %d %v, want 200", status, body)
	}
	got, order := summaries(t, body)

	t.Run("every service is listed once, sorted by name", func(t *testing.T) {
		if want := []string{"checkout", "orders", "payments", "search"}; !slices.Equal(order, want) {
			t.Fatalf("got %v, want %v", order, want)
		}
	})
	cases := []struct {
		name, service, decision string
		allowed, enforced       bool
		reasons                 string // a substring of the reasons; "" wants none
	}{
		{"a service with budget left ships", "checkout", "ship", true, true, ""},
		{"a service that spent its budget since the last evaluation slows down", "orders", "slow_down", false, true, "availability has spent"},
		{"an enforced slow-down blocks a plain change", "payments", "slow_down", false, true, "availability has spent"},
		{"shadow mode allows a plain change and says it is not enforced", "search", "slow_down", true, false, "availability has spent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := got[c.service]
			gotLine := fmt.Sprintf("%v allowed=%v enforced=%v evaluatedAt=%v", s["decision"], s["allowed"], s["enforced"], s["evaluatedAt"])
			wantLine := fmt.Sprintf("%s allowed=%v enforced=%v evaluatedAt=%s", c.decision, c.allowed, c.enforced, it.now.Format(time.RFC3339))
			if gotLine != wantLine {
				t.Errorf("got %s, want %s (%v)", gotLine, wantLine, s)
			}
			reasons, ok := s["reasons"].([]any)
			if r := answerReasons(s); !ok || (c.reasons == "" && len(reasons) > 0) || !strings.Contains(r, c.reasons) {
				t.Errorf("got reasons %v, want a list containing %q", s["reasons"], c.reasons)
			}
		})
	}
	t.Run("each service says what GET /gate/{service} without parameters says", func(t *testing.T) {
		for _, name := range order {
			_, _, one := integSend(t, http.MethodGet, it.base+"/api/v1/gate/"+name, nil, nil)
			s := got[name]
			if s["decision"] != one["decision"] || s["allowed"] != one["allowed"] || s["enforced"] != one["enforced"] ||
				!reflect.DeepEqual(s["reasons"], one["reasons"]) || s["evaluatedAt"] != one["evaluated_at"] {
				t.Errorf("%s: got %v, want the fields of %v", name, s, one)
			}
		}
	})
}

func TestGateAllFollowsOverridesAndAuth(t *testing.T) {
	it := newIntegration(t)
	auth := http.Header{"Authorization": {"Bearer " + integOverrideToken}, "Content-Type": {"application/json"}}
	if status, _, o := integSend(t, http.MethodPost, it.base+"/api/v1/gate/payments/overrides", auth,
		[]byte(`{"reason":"INC-4711: the fix needs the new cart flag","duration":"30m"}`)); status != http.StatusCreated {
		t.Fatalf("create override: got %d %v, want 201", status, o)
	}
	fresh, err := New(context.Background(), it.cfg) // no evaluation yet
	if err != nil {
		t.Fatal(err)
	}
	lockedCfg := it.cfg
	lockedCfg.Auth = NewAuth(slo.Auth{Tokens: it.cfg.Catalog.Config.Auth.Tokens, ReadsNeedToken: true})
	locked, err := New(context.Background(), lockedCfg)
	if err != nil {
		t.Fatal(err)
	}
	locked.Update(it.mon.Snapshot())
	lockedBase := integServe(t, locked)

	cases := []struct {
		name   string
		base   string
		header http.Header
		status int
		check  func(t *testing.T, body map[string]any)
	}{
		{"an active override lets a slow-down's plain changes through", it.base, nil, http.StatusOK, func(t *testing.T, body map[string]any) {
			got, _ := summaries(t, body)
			if p := got["payments"]; p["decision"] != "slow_down" || p["allowed"] != true {
				t.Errorf("payments: got %v, want slow_down and allowed", p)
			}
		}},
		{"before the first evaluation it is a 503 to retry", integServe(t, fresh), nil, http.StatusServiceUnavailable, nil},
		{"when reads need a token, none is a 401", lockedBase, nil, http.StatusUnauthorized, nil},
		{"when reads need a token, a read token is answered", lockedBase,
			http.Header{"Authorization": {"Bearer " + integReadToken}}, http.StatusOK, func(t *testing.T, body map[string]any) {
				if _, order := summaries(t, body); len(order) != 4 {
					t.Errorf("got %v, want four services", order)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, header, body := integSend(t, http.MethodGet, c.base+"/api/v1/gate", c.header, nil)
			if status != c.status {
				t.Fatalf("got %d %v, want %d", status, body, c.status)
			}
			if status == http.StatusServiceUnavailable && header.Get("Retry-After") == "" {
				t.Errorf("got no Retry-After with the 503")
			}
			if c.check != nil {
				c.check(t, body)
			}
		})
	}
}

func TestListDeploysByAuthor(t *testing.T) {
	it := newIntegration(t)
	ctx := context.Background()
	ids := map[string]int64{}
	for i, d := range []struct{ key, service, env, author string }{
		{"alice-checkout", "checkout", "production", "Alice Liddell <alice@example.com>"},
		{"alice-staging", "checkout", "staging", "alice"},
		{"bob-payments", "payments", "production", "BOB"},
		{"alice-payments", "payments", "production", "ALICE"},
	} {
		at := it.now.Add(time.Duration(i) * time.Minute)
		got, err := it.cfg.Store.AddDeploy(ctx, store.Deploy{Service: d.service, Env: d.env, Version: "v1", Author: d.author,
			StartedAt: at, CreatedAt: at}, store.AuditEntry{At: at, Actor: "ci", Action: "deploy.create"})
		if err != nil {
			t.Fatal(err)
		}
		ids[d.key] = got.ID
	}
	cases := []struct {
		name   string
		query  string
		status int
		want   []string // keys, latest first
	}{
		{"an author matches whatever its case", "author=aLiCe", 200, []string{"alice-payments", "alice-staging", "alice-checkout"}},
		{"an author matches part of the author", "author=example.com", 200, []string{"alice-checkout"}},
		{"an author combines with service", "author=alice&service=payments", 200, []string{"alice-payments"}},
		{"an author combines with env", "author=alice&env=production", 200, []string{"alice-payments", "alice-checkout"}},
		{"an author combines with limit", "author=alice&limit=1", 200, []string{"alice-payments"}},
		{"an author nobody has is an empty list", "author=mallory", 200, []string{}},
		{"an author's % is no wildcard", "author=%25", 200, []string{}},
		{"an empty author matches every deploy", "author=", 200, []string{"alice-payments", "bob-payments", "alice-staging", "alice-checkout"}},
		{"an author longer than an author may be is a 400", "author=" + strings.Repeat("a", 257), 400, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := integSend(t, http.MethodGet, it.base+"/api/v1/deploys?"+c.query, nil, nil)
			if status != c.status {
				t.Fatalf("got %d %v, want %d", status, body, c.status)
			}
			if c.want == nil {
				if msg, _ := body["error"].(string); !strings.Contains(msg, "author") {
					t.Errorf("got error %q, want it to name author", msg)
				}
				return
			}
			list, ok := body["deploys"].([]any)
			if !ok {
				t.Fatalf("got %v, want a deploys list", body)
			}
			got := []int64{}
			for _, d := range list {
				got = append(got, int64(d.(map[string]any)["id"].(float64)))
			}
			want := []int64{}
			for _, k := range c.want {
				want = append(want, ids[k])
			}
			if !slices.Equal(got, want) {
				t.Errorf("got deploys %v, want %v (%v)", got, want, c.want)
			}
		})
	}
}

// newFleet is a gate over n services, a tenth of which have spent their
// budget, evaluated once and served over loopback HTTP.
func newFleet(b testing.TB, n int) (base string, g *Gate) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "specs"), 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		spec := fmt.Sprintf("name: svc-%04d\nowner: {team: shop}\nslos:\n  - name: availability\n    objective: 99\n    window: 7d\n    sli: {push: {}}\n", i)
		if err := os.WriteFile(filepath.Join(dir, "specs", fmt.Sprintf("svc-%04d.yaml", i)), []byte(spec), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(dir, "slogate.yaml")
	if err := os.WriteFile(path, []byte("storage: slogate.db\nspecs: [specs]\nexternalURL: https://slogate.example.com\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cat, err := slo.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	bst, err := bstore.Open(ctx, cat.Config.Storage)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bst.Close() })
	gst, err := store.Open(ctx, cat.Config.Storage)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gst.Close() })
	mon, err := monitor.New(monitor.Config{Catalog: cat, Store: bst})
	if err != nil {
		b.Fatal(err)
	}
	now := integFirstEvaluation
	if err := mon.Restore(ctx, now); err != nil {
		b.Fatal(err)
	}
	g, err = New(ctx, Config{Catalog: cat, Monitor: mon, Store: gst, Auth: NewAuth(cat.Config.Auth),
		Now: func() time.Time { return now }, ExternalURL: cat.Config.ExternalURL})
	if err != nil {
		b.Fatal(err)
	}
	var adds []monitor.Add
	for i := range n {
		bad := 0.0
		if i%10 == 0 {
			bad = 10
		}
		for m := now.Add(-10 * time.Minute); m.Before(now); m = m.Add(time.Minute) {
			adds = append(adds, monitor.Add{SLO: monitor.Key(fmt.Sprintf("svc-%04d", i), "availability"),
				Minute: budget.MinuteOf(m), Counts: budget.Counts{Good: 100 - bad, Total: 100}})
		}
	}
	if err := mon.Record(ctx, adds, nil); err != nil {
		b.Fatal(err)
	}
	g.Update(mon.Evaluate(now))
	return integServe(b, g), g
}

// BenchmarkGateAll measures GET /api/v1/gate for 1,000 services, over
// loopback HTTP as the UI asks for it.
func BenchmarkGateAll(b *testing.B) {
	base, _ := newFleet(b, 1000)
	client := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(base + "/api/v1/gate")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n < 1000*50 {
			b.Fatalf("got %d with %d bytes, want 200 with every service", resp.StatusCode, n)
		}
		b.SetBytes(n)
	}
}

func TestGateMetricsSayEachServicesDecision(t *testing.T) {
	it := newIntegration(t)
	var b strings.Builder
	it.gate.WriteMetrics(&b)
	for _, want := range []string{
		"# TYPE slogate_gate_decision gauge\n",
		`slogate_gate_decision{service="checkout",team="shop",decision="ship"} 1` + "\n",
		`slogate_gate_decision{service="checkout",team="shop",decision="slow_down"} 0` + "\n",
		`slogate_gate_decision{service="payments",team="shop",decision="slow_down"} 1` + "\n",
		`slogate_gate_allowed{service="payments",team="shop"} 0` + "\n",
		`slogate_gate_allowed{service="search",team="shop"} 1` + "\n", // shadow mode
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics\n%s\nlack %q", b.String(), want)
		}
	}
}
