package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	budgetstore "github.com/slogate/slogate/budget/store"

	"github.com/slogate/slogate/budget"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t testing.TB) *Store {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "slogate.db"))
}

// t0 has nanoseconds, to show that times are truncated to milliseconds.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

func by(actor string) AuditEntry { return AuditEntry{Actor: actor, Remote: "192.0.2.7:5123"} }

func mustAddDeploy(t testing.TB, s *Store, d Deploy) Deploy {
	t.Helper()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = d.StartedAt
	}
	got, err := s.AddDeploy(context.Background(), d, by("ci"))
	if err != nil {
		t.Fatalf("add deploy %+v: %v", d, err)
	}
	return got
}

func mustAddOverride(t testing.TB, s *Store, o Override) Override {
	t.Helper()
	got, err := s.AddOverride(context.Background(), o, by("oncall"))
	if err != nil {
		t.Fatalf("add override %+v: %v", o, err)
	}
	return got
}

func audit(t testing.TB, s *Store) []AuditEntry {
	t.Helper()
	got, err := s.Audit(context.Background(), AuditFilter{Limit: MaxLimit})
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	return got
}

func TestDeployRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	for _, tt := range []struct {
		name string
		d    Deploy
	}{
		{"a deploy with every field comes back as it was", Deploy{
			Service: "checkout", Env: "production", Version: "v1.2.3", Commit: "0123abcd", Author: "ada",
			Message: "feat(api): add ✓ unicode\nand a second line", Status: "succeeded", URL: "https://ci.example/run/7",
			StartedAt: at(0), FinishedAt: ptr(at(3 * time.Minute)), CreatedAt: at(4 * time.Minute),
		}},
		{"a deploy with only the required fields comes back without the others", Deploy{
			Service: "search", StartedAt: at(time.Hour), CreatedAt: at(time.Hour),
		}},
		{"times in another zone come back in UTC as the same instants", Deploy{
			Service: "search", StartedAt: at(0).In(paris), FinishedAt: ptr(at(time.Second).In(paris)), CreatedAt: at(time.Minute).In(paris),
		}},
		{"an impact passed to AddDeploy is ignored", Deploy{
			Service: "search", StartedAt: at(0), CreatedAt: at(0),
			ImpactClass: "degraded", Impact: json.RawMessage(`{"class":"degraded"}`), ImpactAt: ptr(at(0)),
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			added, err := s.AddDeploy(ctx, tt.d, by("ci"))
			if err != nil {
				t.Fatalf("add: %v", err)
			}
			if added.ID == 0 {
				t.Errorf("got no id")
			}
			got, err := s.Deploy(ctx, added.ID)
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if !reflect.DeepEqual(got, added) {
				t.Errorf("read back %+v\nwant what AddDeploy returned %+v", got, added)
			}
			want := tt.d
			want.ID = added.ID
			want.StartedAt, want.CreatedAt = want.StartedAt.UTC().Truncate(time.Millisecond), want.CreatedAt.UTC().Truncate(time.Millisecond)
			if want.FinishedAt != nil {
				want.FinishedAt = ptr(want.FinishedAt.UTC().Truncate(time.Millisecond))
			}
			want.ImpactClass, want.Impact, want.ImpactAt = "", nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
	t.Run("a missing deploy is not found", func(t *testing.T) {
		if _, err := s.Deploy(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("deploys missing a required field are refused", func(t *testing.T) {
		for _, d := range []Deploy{
			{StartedAt: at(0), CreatedAt: at(0)},
			{Service: "x", CreatedAt: at(0)},
			{Service: "x", StartedAt: at(0)},
		} {
			if _, err := s.AddDeploy(ctx, d, by("ci")); !errors.Is(err, ErrInvalid) {
				t.Errorf("add %+v: got %v, want ErrInvalid", d, err)
			}
		}
		if _, err := s.AddDeploy(ctx, Deploy{Service: "x", StartedAt: at(0), CreatedAt: at(0)}, AuditEntry{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("add without an actor: got %v, want ErrInvalid", err)
		}
	})
}

func TestDeployJSON(t *testing.T) {
	d := Deploy{ID: 7, Service: "checkout", Env: "production", Commit: "abc", StartedAt: t0, CreatedAt: t0,
		FinishedAt: ptr(t0), ImpactClass: "neutral", Impact: json.RawMessage(`{"class":"neutral"}`), ImpactAt: ptr(t0)}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "service", "env", "commit", "started_at", "finished_at", "created_at", "impact_class", "impact", "impact_at"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%s: got no %q key", b, k)
		}
	}
	for _, k := range []string{"version", "author", "message", "status", "url"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s: got an empty %q, want it left out", b, k)
		}
	}
}

func ids[T any](xs []T, id func(T) int64) []int64 {
	out := []int64{}
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func deployIDs(ds []Deploy) []int64 { return ids(ds, func(d Deploy) int64 { return d.ID }) }

func TestDeploysFilters(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	add := func(service, env, author string, started time.Duration) int64 {
		return mustAddDeploy(t, s, Deploy{Service: service, Env: env, Author: author, StartedAt: at(started)}).ID
	}
	c1 := add("checkout", "production", "Alice Liddell <alice@example.com>", 0)
	c2 := add("checkout", "production", "bob", time.Hour)
	cs := add("checkout", "staging", "ALICE", 30*time.Minute)
	s1 := add("search", "production", "alice", 2*time.Hour)
	c3 := add("checkout", "production", "100%_done\\bot", time.Hour) // same start as c2: the later recorded comes first
	s2 := add("search", "production", "", 3*time.Hour)
	for _, tt := range []struct {
		name string
		f    DeployFilter
		want []int64
	}{
		{"no filter lists every deploy, the latest started first", DeployFilter{}, []int64{s2, s1, c3, c2, cs, c1}},
		{"a service keeps its deploys", DeployFilter{Service: "checkout"}, []int64{c3, c2, cs, c1}},
		{"a service and env keep the deploys to that env", DeployFilter{Service: "checkout", Env: "production"}, []int64{c3, c2, c1}},
		{"an env alone keeps the deploys of every service to it", DeployFilter{Env: "production"}, []int64{s2, s1, c3, c2, c1}},
		{"since keeps the deploys started at or after it", DeployFilter{Since: at(time.Hour)}, []int64{s2, s1, c3, c2}},
		{"since is compared at millisecond precision", DeployFilter{Since: at(time.Hour + 100*time.Microsecond)}, []int64{s2, s1, c3, c2}},
		{"an author matches any part of the author, ignoring case", DeployFilter{Author: "aLiCe"}, []int64{s1, cs, c1}},
		{"an author matches inside an email address", DeployFilter{Author: "@example.com"}, []int64{c1}},
		{"an author combines with service, env and since", DeployFilter{Author: "alice", Service: "checkout", Env: "production"}, []int64{c1}},
		{"an author combines with since", DeployFilter{Author: "alice", Since: at(time.Minute)}, []int64{s1, cs}},
		{"an author's % and _ are literal, not wildcards", DeployFilter{Author: "0%_d"}, []int64{c3}},
		{"an author's % matches no other author", DeployFilter{Author: "%"}, []int64{c3}},
		{"an author's _ matches no other character", DeployFilter{Author: "b_b"}, []int64{}},
		{"an author's backslash is literal", DeployFilter{Author: "done\\b"}, []int64{c3}},
		{"an author nobody has matches nothing", DeployFilter{Author: "mallory"}, []int64{}},
		{"a limit keeps the latest", DeployFilter{Service: "checkout", Limit: 2}, []int64{c3, c2}},
		{"an unknown service has no deploys", DeployFilter{Service: "nope"}, []int64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := s.Deploys(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := deployIDs(ds); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in, out int
	}{
		{"zero means the default", 0, DefaultLimit},
		{"a negative limit means the default", -5, DefaultLimit},
		{"a limit within bounds is kept", 7, 7},
		{"the maximum is kept", MaxLimit, MaxLimit},
		{"a limit above the maximum is lowered to it", MaxLimit + 1, MaxLimit},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := limit(tt.in); got != tt.out {
				t.Errorf("limit(%d): got %d, want %d", tt.in, got, tt.out)
			}
		})
	}
	t.Run("listings apply the default and the maximum", func(t *testing.T) {
		ctx := context.Background()
		s := newStore(t)
		// Many rows in one transaction, rather than an fsync per row.
		if _, err := s.write.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1005)
			INSERT INTO gate_decisions (service, at, from_decision, to_decision, reasons)
			SELECT 'a', i, 'ship', 'slow_down', '[]' FROM n`); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ limit, want int }{{0, DefaultLimit}, {5000, MaxLimit}, {3, 3}} {
			h, err := s.DecisionHistory(ctx, "a", tt.limit)
			if err != nil || len(h) != tt.want {
				t.Errorf("limit %d: got %d changes, %v; want %d", tt.limit, len(h), err, tt.want)
			}
		}
	})
}

func TestImpact(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a := mustAddDeploy(t, s, Deploy{Service: "checkout", StartedAt: at(0), FinishedAt: ptr(at(10 * time.Minute))})
	b := mustAddDeploy(t, s, Deploy{Service: "checkout", StartedAt: at(5 * time.Minute)})
	c := mustAddDeploy(t, s, Deploy{Service: "checkout", StartedAt: at(20 * time.Minute), FinishedAt: ptr(at(40 * time.Minute))})
	d := mustAddDeploy(t, s, Deploy{Service: "search", StartedAt: at(0), FinishedAt: ptr(at(time.Minute))})
	pending := func(t *testing.T, before time.Time, n int) []int64 {
		t.Helper()
		ds, err := s.PendingImpact(ctx, before, n)
		if err != nil {
			t.Fatal(err)
		}
		return deployIDs(ds)
	}
	t.Run("pending deploys are those finished, or else started, by the time given, oldest first", func(t *testing.T) {
		if got, want := pending(t, at(30*time.Minute), 0), []int64{d.ID, b.ID, a.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		if got, want := pending(t, at(10*time.Minute), 0), []int64{d.ID, b.ID, a.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("at a's finish: got %v, want %v", got, want)
		}
		if got, want := pending(t, at(30*time.Minute), 2), []int64{d.ID, b.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("limit 2: got %v, want %v", got, want)
		}
	})
	t.Run("a deploy with its impact set is no longer pending and shows the impact", func(t *testing.T) {
		impact := json.RawMessage(`{"class":"degraded","before":0.001,"after":0.05}`)
		if err := s.SetImpact(ctx, a.ID, ClassDegraded, impact, at(41*time.Minute+time.Microsecond)); err != nil {
			t.Fatal(err)
		}
		if got, want := pending(t, at(time.Hour), 0), []int64{d.ID, b.ID, c.ID}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		got, err := s.Deploy(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ImpactClass != ClassDegraded || string(got.Impact) != string(impact) || got.ImpactAt == nil || !got.ImpactAt.Equal(at(41*time.Minute).Truncate(time.Millisecond)) {
			t.Errorf("got class %q, impact %s at %v; want %q, %s at %v", got.ImpactClass, got.Impact, got.ImpactAt, ClassDegraded, impact, at(41*time.Minute))
		}
	})
	t.Run("setting the impact of a missing deploy is not found", func(t *testing.T) {
		if err := s.SetImpact(ctx, 999, "neutral", json.RawMessage(`{}`), t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("an impact that is not JSON or has no class or time is refused", func(t *testing.T) {
		for _, tt := range []struct {
			class  string
			impact string
			at     time.Time
		}{{"neutral", `{"class":`, t0}, {"neutral", ``, t0}, {"", `{}`, t0}, {"neutral", `{}`, time.Time{}}} {
			if err := s.SetImpact(ctx, b.ID, tt.class, json.RawMessage(tt.impact), tt.at); !errors.Is(err, ErrInvalid) {
				t.Errorf("class %q impact %q at %v: got %v, want ErrInvalid", tt.class, tt.impact, tt.at, err)
			}
		}
	})
}

func TestLatestDegraded(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	set := func(d Deploy, class string) {
		t.Helper()
		if err := s.SetImpact(ctx, d.ID, class, json.RawMessage(`{"class":"`+class+`"}`), at(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	old := mustAddDeploy(t, s, Deploy{Service: "checkout", StartedAt: at(0)})
	suspect := mustAddDeploy(t, s, Deploy{Service: "checkout", StartedAt: at(30 * time.Minute)})
	fine := mustAddDeploy(t, s, Deploy{Service: "checkout", StartedAt: at(time.Hour)})
	mustAddDeploy(t, s, Deploy{Service: "checkout", StartedAt: at(90 * time.Minute)}) // not judged yet
	other := mustAddDeploy(t, s, Deploy{Service: "search", StartedAt: at(2 * time.Hour)})
	set(old, ClassDegraded)
	set(suspect, ClassDegraded)
	set(fine, "improved")
	set(other, "neutral")
	check := func(t *testing.T, service string, want int64, wantErr error) {
		t.Helper()
		got, err := s.LatestDegraded(ctx, service)
		if !errors.Is(err, wantErr) || got.ID != want {
			t.Errorf("got deploy %d, %v; want %d, %v", got.ID, err, want, wantErr)
		}
	}
	t.Run("the latest degraded deploy is the suspect, even when later ones are fine", func(t *testing.T) {
		check(t, "checkout", suspect.ID, nil)
	})
	t.Run("a service without degraded deploys has no suspect", func(t *testing.T) {
		check(t, "search", 0, ErrNotFound)
		check(t, "nope", 0, ErrNotFound)
	})
	t.Run("a deploy judged again is suspect only if still degraded", func(t *testing.T) {
		set(suspect, "neutral")
		check(t, "checkout", old.ID, nil)
	})
}

func TestOverrides(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	o := Override{Service: "checkout", Env: "production", Reason: "hotfix for INC-42", By: "ada", Token: "ci-token",
		CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	added := mustAddOverride(t, s, o)
	t.Run("an override comes back as it was, its times in UTC to the millisecond", func(t *testing.T) {
		want := o
		want.ID = added.ID
		want.CreatedAt, want.ExpiresAt = at(0).Truncate(time.Millisecond), at(time.Hour).Truncate(time.Millisecond)
		if !reflect.DeepEqual(added, want) {
			t.Errorf("added %+v\nwant %+v", added, want)
		}
		got, err := s.Overrides(ctx, "checkout", 0)
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("got %+v, %v\nwant [%+v]", got, err, want)
		}
	})
	active := func(t *testing.T, now time.Time) []int64 {
		t.Helper()
		got, err := s.ActiveOverrides(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return ids(got, func(o Override) int64 { return o.ID })
	}
	for _, tt := range []struct {
		name string
		now  time.Time
		want []int64
	}{
		{"an override is active from its creation", at(0), []int64{added.ID}},
		{"it is active up to its expiry", at(time.Hour - time.Millisecond), []int64{added.ID}},
		{"it is no longer active at its expiry", at(time.Hour).Truncate(time.Millisecond), []int64{}},
		{"nor after", at(2 * time.Hour), []int64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := active(t, tt.now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("active at %v: got %v, want %v", tt.now, got, tt.want)
			}
		})
	}
	t.Run("ending an override early records who and when and makes it inactive", func(t *testing.T) {
		ended, err := s.EndOverride(ctx, added.ID, "grace", at(10*time.Minute), by("oncall"))
		if err != nil {
			t.Fatal(err)
		}
		if ended.EndedAt == nil || !ended.EndedAt.Equal(at(10*time.Minute).Truncate(time.Millisecond)) || ended.EndedBy != "grace" {
			t.Errorf("got ended at %v by %q, want at %v by grace", ended.EndedAt, ended.EndedBy, at(10*time.Minute))
		}
		got, err := s.Overrides(ctx, "checkout", 0)
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], ended) {
			t.Errorf("stored %+v, %v\nwant [%+v]", got, err, ended)
		}
		if got := active(t, at(11*time.Minute)); len(got) != 0 {
			t.Errorf("active after ending: got %v, want none", got)
		}
	})
	t.Run("ending it again returns it unchanged and ErrNotActive", func(t *testing.T) {
		before, _ := s.Overrides(ctx, "checkout", 0)
		got, err := s.EndOverride(ctx, added.ID, "hopper", at(20*time.Minute), by("oncall"))
		if !errors.Is(err, ErrNotActive) || !reflect.DeepEqual(got, before[0]) {
			t.Errorf("got %+v, %v\nwant %+v, ErrNotActive", got, err, before[0])
		}
	})
	t.Run("ending an expired override returns it unchanged and ErrNotActive", func(t *testing.T) {
		exp := mustAddOverride(t, s, Override{Service: "search", Reason: "r", By: "ada", CreatedAt: at(0), ExpiresAt: at(time.Minute)})
		got, err := s.EndOverride(ctx, exp.ID, "hopper", at(time.Minute), by("oncall"))
		if !errors.Is(err, ErrNotActive) || !reflect.DeepEqual(got, exp) {
			t.Errorf("got %+v, %v\nwant %+v, ErrNotActive", got, err, exp)
		}
	})
	t.Run("ending a missing override is not found", func(t *testing.T) {
		if _, err := s.EndOverride(ctx, 999, "hopper", t0, by("oncall")); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("overrides missing what the store needs are refused and leave no trace", func(t *testing.T) {
		n := len(audit(t, s))
		for _, tt := range []struct {
			o Override
			a AuditEntry
		}{
			{Override{Reason: "r", By: "b", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, by("x")},
			{Override{Service: "s", Reason: " \t", By: "b", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, by("x")},
			{Override{Service: "s", Reason: "r", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, by("x")},
			{Override{Service: "s", Reason: "r", By: "b", ExpiresAt: at(time.Hour)}, by("x")},
			{Override{Service: "s", Reason: "r", By: "b", CreatedAt: at(0), ExpiresAt: at(0)}, by("x")},
			{Override{Service: "s", Reason: "r", By: "b", CreatedAt: at(0), ExpiresAt: at(time.Microsecond)}, by("x")},
			{Override{Service: "s", Reason: "r", By: "b", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, AuditEntry{}},
			{Override{Service: "s", Reason: "r", By: "b", CreatedAt: at(0), ExpiresAt: at(time.Hour)}, AuditEntry{Actor: "x", Detail: json.RawMessage(`{`)}},
		} {
			if _, err := s.AddOverride(ctx, tt.o, tt.a); !errors.Is(err, ErrInvalid) {
				t.Errorf("add %+v with audit %+v: got %v, want ErrInvalid", tt.o, tt.a, err)
			}
		}
		if got, _ := s.Overrides(ctx, "s", 0); len(got) != 0 {
			t.Errorf("got %d overrides of s, want none", len(got))
		}
		if got := len(audit(t, s)); got != n {
			t.Errorf("got %d audit entries, want %d", got, n)
		}
	})
}

func TestOverrideListings(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	add := func(service, env string, created, expires time.Duration) int64 {
		return mustAddOverride(t, s, Override{Service: service, Env: env, Reason: "r", By: "b",
			CreatedAt: at(created), ExpiresAt: at(expires)}).ID
	}
	c1 := add("checkout", "", 0, 2*time.Hour)
	c2 := add("checkout", "", 10*time.Minute, 3*time.Hour)
	cp := add("checkout", "production", 20*time.Minute, time.Hour)
	s1 := add("search", "", 30*time.Minute, 90*time.Minute)
	gone := add("search", "", 40*time.Minute, 50*time.Minute)
	ended := add("api", "", 50*time.Minute, 5*time.Hour)
	if _, err := s.EndOverride(ctx, ended, "b", at(55*time.Minute), by("x")); err != nil {
		t.Fatal(err)
	}
	t.Run("active overrides are ordered by service and env, the latest expiring first", func(t *testing.T) {
		got, err := s.ActiveOverrides(ctx, at(56*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if ids := ids(got, func(o Override) int64 { return o.ID }); !reflect.DeepEqual(ids, []int64{c2, c1, cp, s1}) {
			t.Errorf("got %v, want %v", ids, []int64{c2, c1, cp, s1})
		}
	})
	for _, tt := range []struct {
		name    string
		service string
		limit   int
		want    []int64
	}{
		{"a service's overrides are listed active or not, the latest created first", "search", 0, []int64{gone, s1}},
		{"no service lists every service's", "", 0, []int64{ended, gone, s1, cp, c2, c1}},
		{"a limit keeps the latest", "", 2, []int64{ended, gone}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Overrides(ctx, tt.service, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if ids := ids(got, func(o Override) int64 { return o.ID }); !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("got %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestOverrideActiveAt(t *testing.T) {
	o := Override{CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	for _, tt := range []struct {
		name string
		o    Override
		t    time.Time
		want bool
	}{
		{"an override is active before it expires", o, at(59 * time.Minute), true},
		{"it is not active when it expires", o, at(time.Hour), false},
		{"an ended override is not active", Override{ExpiresAt: at(time.Hour), EndedAt: ptr(at(0))}, at(time.Minute), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.o.ActiveAt(tt.t); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEveryChangeIsAudited(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	d, err := s.AddDeploy(ctx, Deploy{Service: "checkout", Env: "production", StartedAt: at(0), CreatedAt: at(time.Minute)}, by("ci"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.AddOverride(ctx, Override{Service: "checkout", Reason: "INC-42", By: "ada", CreatedAt: at(2 * time.Minute), ExpiresAt: at(time.Hour)},
		AuditEntry{Actor: "oncall-token", Remote: "198.51.100.1:443", Detail: json.RawMessage(`{"note":"by hand"}`)})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := s.EndOverride(ctx, o.ID, "grace", at(3*time.Minute), AuditEntry{Actor: "oncall-token", Action: "override.delete", At: at(4 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	js := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	ms := func(d time.Duration) time.Time { return at(d).Truncate(time.Millisecond) }
	want := []AuditEntry{
		{At: ms(4 * time.Minute), Actor: "oncall-token", Action: "override.delete", Service: "checkout", Target: fmt.Sprintf("override/%d", o.ID), Detail: js(ended)},
		{At: ms(2 * time.Minute), Actor: "oncall-token", Action: "override.create", Service: "checkout", Target: fmt.Sprintf("override/%d", o.ID),
			Detail: json.RawMessage(`{"note":"by hand"}`), Remote: "198.51.100.1:443"},
		{At: ms(time.Minute), Actor: "ci", Action: "deploy.create", Service: "checkout", Target: fmt.Sprintf("deploy/%d", d.ID), Detail: js(d), Remote: "192.0.2.7:5123"},
	}
	got := audit(t, s)
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		want[i].ID = got[i].ID
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("entry %d:\ngot  %+v\nwant %+v\n(detail %s, want %s)", i, got[i], want[i], got[i].Detail, want[i].Detail)
		}
	}
	t.Run("the audit log cannot be edited", func(t *testing.T) {
		if _, err := s.write.ExecContext(ctx, `UPDATE gate_audit SET actor = 'mallory'`); err == nil {
			t.Error("got no error updating the audit log")
		}
	})
}

func TestAuditIsAtomicWithItsChange(t *testing.T) {
	ctx := context.Background()
	type state struct{ deploys, overrides, ended, audit int }
	for _, tt := range []struct {
		name    string
		trigger string // a failure injected into one of the two writes
		op      func(s *Store, open Override) error
	}{
		{"a deploy that cannot be stored writes no audit entry", "BEFORE INSERT ON gate_deploys", func(s *Store, _ Override) error {
			_, err := s.AddDeploy(ctx, Deploy{Service: "a", StartedAt: t0, CreatedAt: t0}, by("ci"))
			return err
		}},
		{"a deploy whose audit entry cannot be written is not stored", "BEFORE INSERT ON gate_audit", func(s *Store, _ Override) error {
			_, err := s.AddDeploy(ctx, Deploy{Service: "a", StartedAt: t0, CreatedAt: t0}, by("ci"))
			return err
		}},
		{"an override that cannot be stored writes no audit entry", "BEFORE INSERT ON gate_overrides", func(s *Store, _ Override) error {
			_, err := s.AddOverride(ctx, Override{Service: "a", Reason: "r", By: "b", CreatedAt: t0, ExpiresAt: at(time.Hour)}, by("x"))
			return err
		}},
		{"an override whose audit entry cannot be written is not stored", "BEFORE INSERT ON gate_audit", func(s *Store, _ Override) error {
			_, err := s.AddOverride(ctx, Override{Service: "a", Reason: "r", By: "b", CreatedAt: t0, ExpiresAt: at(time.Hour)}, by("x"))
			return err
		}},
		{"an override that cannot be ended writes no audit entry", "BEFORE UPDATE ON gate_overrides", func(s *Store, o Override) error {
			_, err := s.EndOverride(ctx, o.ID, "b", at(time.Minute), by("x"))
			return err
		}},
		{"an override whose audit entry cannot be written is not ended", "BEFORE INSERT ON gate_audit", func(s *Store, o Override) error {
			_, err := s.EndOverride(ctx, o.ID, "b", at(time.Minute), by("x"))
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			open := mustAddOverride(t, s, Override{Service: "z", Reason: "r", By: "b", CreatedAt: t0, ExpiresAt: at(time.Hour)})
			count := func() state {
				t.Helper()
				var st state
				err := s.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM gate_deploys), (SELECT count(*) FROM gate_overrides),
					(SELECT count(*) FROM gate_overrides WHERE ended_at IS NOT NULL), (SELECT count(*) FROM gate_audit)`).
					Scan(&st.deploys, &st.overrides, &st.ended, &st.audit)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			before := count()
			if _, err := s.write.ExecContext(ctx, `CREATE TRIGGER fail `+tt.trigger+` BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
				t.Fatal(err)
			}
			if err := tt.op(s, open); err == nil {
				t.Fatal("got no error despite the injected failure")
			}
			if after := count(); after != before {
				t.Errorf("after the failed change: got %+v, want it unchanged from %+v", after, before)
			}
			if _, err := s.write.ExecContext(ctx, `DROP TRIGGER fail`); err != nil {
				t.Fatal(err)
			}
			if err := tt.op(s, open); err != nil {
				t.Fatalf("without the failure: %v", err)
			}
			if after := count(); after.audit != before.audit+1 {
				t.Errorf("after the change succeeded: got %d audit entries, want %d", after.audit, before.audit+1)
			}
		})
	}
}

func TestAuditFilter(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	add := func(service string, d time.Duration) int64 {
		dep := mustAddDeploy(t, s, Deploy{Service: service, StartedAt: at(d), CreatedAt: at(d)})
		return dep.ID
	}
	// Deploy ids and audit ids go together here: one entry per deploy.
	c1, s1, c2, c3 := add("checkout", 0), add("search", time.Minute), add("checkout", 2*time.Minute), add("checkout", 2*time.Minute)
	for _, tt := range []struct {
		name string
		f    AuditFilter
		want []int64
	}{
		{"no filter lists every entry, newest first", AuditFilter{}, []int64{c3, c2, s1, c1}},
		{"a service keeps its entries", AuditFilter{Service: "checkout"}, []int64{c3, c2, c1}},
		{"since keeps the entries made at or after it", AuditFilter{Since: at(time.Minute)}, []int64{c3, c2, s1}},
		{"a limit keeps the newest", AuditFilter{Limit: 1}, []int64{c3}},
		{"an unknown service has no entries", AuditFilter{Service: "nope"}, []int64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Audit(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids := ids(got, func(a AuditEntry) int64 { return a.ID }); !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("got %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestDecisionHistory(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	t.Run("an empty store has no last decisions", func(t *testing.T) {
		got, err := s.LastDecisions(ctx)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("got %v, %v; want an empty map", got, err)
		}
	})
	changes := []DecisionChange{
		{Service: "checkout", At: at(0), From: "unknown", To: "ship"},
		{Service: "checkout", At: at(time.Hour), From: "ship", To: "slow_down", Reasons: []string{"availability has spent 104% of its 28d budget", "freeze"}},
		{Service: "search", At: at(time.Hour), From: "unknown", To: "slow_down", Reasons: []string{"latency burns 15x"}},
		{Service: "checkout", At: at(2 * time.Hour), From: "slow_down", To: "ship"},
		{Service: "search", At: at(time.Hour), From: "slow_down", To: "ship"}, // same time: the later recorded is the latest
	}
	for _, c := range changes {
		if err := s.AddDecisionChange(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	strip := func(h []DecisionChange) []DecisionChange {
		for i := range h {
			h[i].ID = 0
		}
		return h
	}
	trunc := func(c DecisionChange) DecisionChange {
		c.At = c.At.Truncate(time.Millisecond)
		if c.Reasons == nil {
			c.Reasons = []string{}
		}
		return c
	}
	for _, tt := range []struct {
		name    string
		service string
		limit   int
		want    []DecisionChange
	}{
		{"a service's changes come back newest first, with their reasons", "checkout", 0,
			[]DecisionChange{trunc(changes[3]), trunc(changes[1]), trunc(changes[0])}},
		{"changes at the same time come back the later recorded first", "search", 0,
			[]DecisionChange{trunc(changes[4]), trunc(changes[2])}},
		{"a limit keeps the newest", "checkout", 1, []DecisionChange{trunc(changes[3])}},
		{"an unknown service has no history", "nope", 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DecisionHistory(ctx, tt.service, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got = strip(got); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	t.Run("the last decisions are each service's latest", func(t *testing.T) {
		got, err := s.LastDecisions(ctx)
		if want := map[string]string{"checkout": "ship", "search": "ship"}; err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, %v; want %v", got, err, want)
		}
	})
	t.Run("changes missing a service, decision or time are refused", func(t *testing.T) {
		for _, c := range []DecisionChange{{At: t0, To: "ship"}, {Service: "a", At: t0}, {Service: "a", To: "ship"}} {
			if err := s.AddDecisionChange(ctx, c); !errors.Is(err, ErrInvalid) {
				t.Errorf("add %+v: got %v, want ErrInvalid", c, err)
			}
		}
	})
}

// snapshot is everything a store holds, as its listings return it.
type snapshot struct {
	Deploys   []Deploy
	Overrides []Override
	Active    []Override
	History   []DecisionChange
	Last      map[string]string
	Audit     []AuditEntry
	Suspect   Deploy
}

func snap(t testing.TB, s *Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var (
		sn   snapshot
		errs [7]error
	)
	sn.Deploys, errs[0] = s.Deploys(ctx, DeployFilter{Limit: MaxLimit})
	sn.Overrides, errs[1] = s.Overrides(ctx, "", MaxLimit)
	sn.Active, errs[2] = s.ActiveOverrides(ctx, at(time.Minute))
	sn.History, errs[3] = s.DecisionHistory(ctx, "checkout", MaxLimit)
	sn.Last, errs[4] = s.LastDecisions(ctx)
	sn.Audit, errs[5] = s.Audit(ctx, AuditFilter{Limit: MaxLimit})
	sn.Suspect, errs[6] = s.LatestDegraded(ctx, "checkout")
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	return sn
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	d := mustAddDeploy(t, s, Deploy{Service: "checkout", Env: "production", Version: "v2", StartedAt: at(0), FinishedAt: ptr(at(time.Minute))})
	if err := s.SetImpact(ctx, d.ID, ClassDegraded, json.RawMessage(`{"class":"degraded"}`), at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustAddDeploy(t, s, Deploy{Service: "search", StartedAt: at(time.Minute)})
	o := mustAddOverride(t, s, Override{Service: "checkout", Reason: "r", By: "b", CreatedAt: at(0), ExpiresAt: at(time.Hour)})
	mustAddOverride(t, s, Override{Service: "search", Env: "staging", Reason: "r", By: "b", CreatedAt: at(0), ExpiresAt: at(time.Hour)})
	if _, err := s.EndOverride(ctx, o.ID, "c", at(30*time.Second), by("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDecisionChange(ctx, DecisionChange{Service: "checkout", At: at(0), From: "unknown", To: "slow_down", Reasons: []string{"r"}}); err != nil {
		t.Fatal(err)
	}
	want := snap(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	got := snap(t, open(t, path))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after reopening got\n%+v\nwant\n%+v", got, want)
	}
	if len(got.Deploys) != 2 || len(got.Overrides) != 2 || len(got.Active) != 1 || len(got.History) != 1 || len(got.Audit) != 5 {
		t.Errorf("got %d deploys, %d overrides (%d active), %d changes, %d audit entries; want 2, 2 (1), 1, 5",
			len(got.Deploys), len(got.Overrides), len(got.Active), len(got.History), len(got.Audit))
	}
}

func TestOpenMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	names, err := migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		s := open(t, path)
		if i == 0 {
			mustAddDeploy(t, s, Deploy{Service: "a", StartedAt: t0})
		}
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM gate_schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(names) {
			t.Errorf("open %d: got %d applied migrations, want %d", i, n, len(names))
		}
		if ds, err := s.Deploys(ctx, DeployFilter{}); err != nil || len(ds) != 1 {
			t.Errorf("open %d: got %d deploys, %v; want the 1 added", i, len(ds), err)
		}
		var mode string
		if err := s.read.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal mode: got %q %v, want wal", mode, err)
		}
		s.Close()
	}
}

func TestOpenFailsOnABadPath(t *testing.T) {
	if s, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing", "dir", "slogate.db")); err == nil {
		s.Close()
		t.Error("got no error opening a database in a missing directory")
	}
}

func TestWriteWaitsForAnotherWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s := open(t, path)
	// Another connection, as the budget store's would be, holds the write
	// lock for a while.
	other, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE other_writer (x)`); err != nil {
		t.Fatal(err)
	}
	const hold = 300 * time.Millisecond
	start := time.Now()
	go func() {
		time.Sleep(hold)
		tx.Commit()
	}()
	if _, err := s.AddDeploy(ctx, Deploy{Service: "a", StartedAt: t0, CreatedAt: t0}, by("ci")); err != nil {
		t.Fatalf("got %v, want the write to wait for the lock", err)
	}
	if waited := time.Since(start); waited < hold {
		t.Errorf("wrote after %v, before the other writer let go at %v", waited, hold)
	}
}

func TestSharesItsFileWithTheBudgetStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")

	// Both stores create their schemas in a new file at the same time.
	var (
		gs   *Store
		bs   *budgetstore.Store
		wg   sync.WaitGroup
		errs = make(chan error, 64)
	)
	wg.Go(func() {
		var err error
		if gs, err = Open(ctx, path); err != nil {
			errs <- err
		}
	})
	wg.Go(func() {
		var err error
		if bs, err = budgetstore.Open(ctx, path); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("open both: %v", err)
	default:
	}
	defer gs.Close()
	defer bs.Close()

	const n = 60
	start := budget.MinuteOf(t0)
	wg.Go(func() {
		h := budget.NewHistory()
		for i := range n {
			h.Add(start+budget.Minute(i*61), budget.Counts{Good: 9, Total: 10})
			var rs []budgetstore.BlockRecord
			for _, b := range h.Dirty() {
				rs = append(rs, budgetstore.BlockRecord{SLO: "checkout/availability", Block: b})
			}
			if err := bs.Save(ctx, rs, []budgetstore.State{{Key: "src", Data: fmt.Appendf(nil, "%d", i)}}); err != nil {
				errs <- fmt.Errorf("budget save %d: %w", i, err)
				return
			}
			h.MarkClean(h.Dirty())
		}
	})
	wg.Go(func() {
		for i := range n {
			if _, err := gs.AddDeploy(ctx, Deploy{Service: "checkout", StartedAt: at(time.Duration(i) * time.Minute), CreatedAt: t0}, by("ci")); err != nil {
				errs <- fmt.Errorf("add deploy %d: %w", i, err)
				return
			}
		}
	})
	wg.Go(func() {
		for i := range n {
			c := DecisionChange{Service: "checkout", At: at(time.Duration(i) * time.Minute), From: "ship", To: "slow_down"}
			if err := gs.AddDecisionChange(ctx, c); err != nil {
				errs <- fmt.Errorf("add decision change %d: %w", i, err)
				return
			}
		}
	})
	wg.Go(func() {
		for range n {
			if _, err := gs.Deploys(ctx, DeployFilter{}); err != nil {
				errs <- fmt.Errorf("list deploys: %w", err)
				return
			}
			if err := bs.LoadBlocks(ctx, 0, func(budgetstore.BlockRecord) error { return nil }); err != nil {
				errs <- fmt.Errorf("load blocks: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	t.Run("each store keeps its own records and migrations", func(t *testing.T) {
		ds, err := gs.Deploys(ctx, DeployFilter{Limit: MaxLimit})
		if err != nil || len(ds) != n {
			t.Errorf("got %d deploys, %v; want %d", len(ds), err, n)
		}
		if h, err := gs.DecisionHistory(ctx, "checkout", MaxLimit); err != nil || len(h) != n {
			t.Errorf("got %d decision changes, %v; want %d", len(h), err, n)
		}
		blocks := 0
		if err := bs.LoadBlocks(ctx, 0, func(budgetstore.BlockRecord) error { blocks++; return nil }); err != nil || blocks != n {
			t.Errorf("got %d blocks, %v; want %d", blocks, err, n)
		}
		if d, ok, err := bs.State(ctx, "src"); err != nil || !ok || string(d) != fmt.Sprint(n-1) {
			t.Errorf("got budget state %q %v %v, want %d", d, ok, err, n-1)
		}
		var gate, other int
		if err := gs.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM gate_schema_migrations),
			(SELECT count(*) FROM schema_migrations)`).Scan(&gate, &other); err != nil {
			t.Fatal(err)
		}
		names, _ := migrations.ReadDir("migrations")
		if gate != len(names) || other == 0 {
			t.Errorf("got %d gate and %d budget migrations, want %d and some", gate, other, len(names))
		}
	})
	t.Run("both reopen on the file", func(t *testing.T) {
		gs.Close()
		bs.Close()
		g2 := open(t, path)
		b2, err := budgetstore.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen budget store: %v", err)
		}
		defer b2.Close()
		if ds, err := g2.Deploys(ctx, DeployFilter{Limit: MaxLimit}); err != nil || len(ds) != n {
			t.Errorf("got %d deploys, %v; want %d", len(ds), err, n)
		}
	})
}
