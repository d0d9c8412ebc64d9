package specstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecordKeepsEveryChangeWithWhoWhenWhereAndADiff(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	checkout := Version{Service: "checkout", Spec: "name: checkout\nslos:\n  - objective: 99\n", Source: "file", File: "specs/checkout.yaml"}
	export := Version{Service: "export", Spec: "name: export\n", Source: "api", File: "api:export"}
	changed := checkout
	changed.Spec = strings.Replace(checkout.Spec, "99", "99.5", 1)
	noted := changed
	noted.Notes = []string{"availability: the SLI changed; its history starts anew"}
	for i, step := range []struct {
		name     string
		versions []Version
		origin   Origin
		want     []string // service action, in order
	}{
		{"the first start records every service", []Version{checkout, export}, Origin{By: "startup", Via: "start"},
			[]string{"checkout created", "export created"}},
		{"a start with nothing changed records nothing", []Version{checkout, export}, Origin{By: "startup", Via: "start"}, nil},
		{"a changed file", []Version{changed, export}, Origin{By: "watcher", Via: "watch"}, []string{"checkout changed"}},
		{"a removed API spec", []Version{changed}, Origin{By: "team-data", Via: "api", Remote: "10.0.0.7"}, []string{"export removed"}},
		{"an unchanged spec with notes", []Version{noted}, Origin{By: "SIGHUP", Via: "signal"}, []string{"checkout changed"}},
		{"a service back after its removal", []Version{changed, export}, Origin{By: "team-data", Via: "api"}, []string{"export created"}},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.origin.At = at.Add(time.Duration(i) * time.Minute)
			got, err := s.Record(ctx, step.versions, step.origin)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, c := range got {
				actions = append(actions, c.Service+" "+c.Action)
				if c.By != step.origin.By || c.Via != step.origin.Via || !c.At.Equal(step.origin.At) || c.ID == 0 {
					t.Errorf("change %+v does not carry its origin %+v", c, step.origin)
				}
			}
			if strings.Join(actions, ", ") != strings.Join(step.want, ", ") {
				t.Fatalf("got %v, want %v", actions, step.want)
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hist, err := s.History(ctx, "checkout", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Action != Changed || hist[2].Action != Created {
		t.Fatalf("got %+v, want checkout's 3 changes newest first", hist)
	}
	wantDiff := "--- checkout (specs/checkout.yaml)\n+++ checkout (specs/checkout.yaml)\n@@ -1,3 +1,3 @@\n name: checkout\n slos:\n-  - objective: 99\n+  - objective: 99.5\n"
	if got := hist[1]; got.Diff != wantDiff || got.By != "watcher" || got.Source != "file" || got.File != "specs/checkout.yaml" {
		t.Fatalf("the file change: got %+v, want by the watcher from specs/checkout.yaml with diff\n%s", got, wantDiff)
	}
	if got := hist[0]; got.Diff != "" || len(got.Notes) != 1 {
		t.Fatalf("the noted change: got %+v, want no diff and its note", got)
	}
	exp, err := s.History(ctx, "export", 1, 0)
	if err != nil || len(exp) != 1 || exp[0].Action != Created {
		t.Fatalf("export's last change: got %+v %v, want its re-creation", exp, err)
	}
	older, err := s.History(ctx, "export", 0, exp[0].ID)
	if err != nil || len(older) != 2 || older[0].Action != Removed || older[0].Remote != "10.0.0.7" ||
		!strings.Contains(older[0].Diff, "+++ /dev/null") || older[0].Spec != "" {
		t.Fatalf("export before its re-creation: got %+v %v, want its removal from 10.0.0.7 and its creation", older, err)
	}
}

// BenchmarkRecord1000Unchanged is what every reload and start adds for
// 1,000 services whose specs did not change.
func BenchmarkRecord1000Unchanged(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "slogate.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	versions := make([]Version, 1000)
	for i := range versions {
		name := fmt.Sprintf("svc-%d", i)
		versions[i] = Version{Service: name, Source: "file", File: "specs/" + name + ".yaml",
			Spec: "name: " + name + "\nowner:\n    team: t\nslos:\n    - name: availability\n      objective: 99.9\n      window: 28d\n"}
	}
	o := Origin{At: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), By: "file watcher", Via: "watch"}
	if _, err := s.Record(ctx, versions, o); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Record(ctx, versions, o); err != nil {
			b.Fatal(err)
		}
	}
}
