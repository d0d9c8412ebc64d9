package store

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"
)

func TestSetSLIsStartsANewHistoryOnlyWhenTheSLIChanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s := open(t, path)
	at := time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC)
	// a/b and c/d were stored before fingerprints were kept.
	if err := s.Save(ctx, append(records("a/b", history(1, start, 3)), records("c/d", history(2, start, 2))...),
		[]State{{Key: "prom/p/a/b", Data: []byte("x")}, {Key: "prom/p/c/d", Data: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	drop := func(slo string) []string { return []string{"prom/p/" + slo} }
	blocks := func() map[string]int {
		n := map[string]int{}
		for _, r := range loadAll(t, s, 0) {
			n[r.SLO]++
		}
		return n
	}
	for _, step := range []struct {
		name    string
		slis    map[string]string
		changed []string
		blocks  map[string]int
		states  map[string]bool // whether each state is still there
	}{
		{"stored SLOs adopt their first fingerprint", map[string]string{"a/b": "f1", "c/d": "g1"}, nil,
			map[string]int{"a/b": 3, "c/d": 2}, map[string]bool{"prom/p/a/b": true, "prom/p/c/d": true}},
		{"the same fingerprints change nothing", map[string]string{"a/b": "f1", "c/d": "g1"}, nil,
			map[string]int{"a/b": 3, "c/d": 2}, map[string]bool{"prom/p/a/b": true, "prom/p/c/d": true}},
		{"a new SLO gets a row", map[string]string{"a/b": "f1", "c/d": "g1", "e/f": "h1"}, nil,
			map[string]int{"a/b": 3, "c/d": 2}, map[string]bool{"prom/p/a/b": true}},
		{"a changed SLI starts a new history and drops its state", map[string]string{"a/b": "f2", "c/d": "g1"},
			[]string{"a/b"}, map[string]int{"c/d": 2}, map[string]bool{"prom/p/a/b": false, "prom/p/c/d": true}},
	} {
		t.Run(step.name, func(t *testing.T) {
			got, err := s.SetSLIs(ctx, step.slis, drop, at)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(step.changed) {
				t.Fatalf("got new histories %+v, want %v", got, step.changed)
			}
			for i, nh := range got {
				if nh.SLO != step.changed[i] || nh.From == nh.To || nh.ArchivedAs == "" {
					t.Errorf("new history %+v, want one for %s from one fingerprint to another", nh, step.changed[i])
				}
			}
			if b := blocks(); !maps.Equal(b, step.blocks) {
				t.Errorf("got blocks per SLO %v, want %v", b, step.blocks)
			}
			for key, want := range step.states {
				if _, ok, err := s.State(ctx, key); err != nil || ok != want {
					t.Errorf("state %s: there = %v (%v), want %v", key, ok, err, want)
				}
			}
		})
	}

	// New counts go to the new history, also after a reopen.
	if err := s.Save(ctx, records("a/b", history(3, start+600, 1)), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	if b := blocks(); !maps.Equal(b, map[string]int{"a/b": 1, "c/d": 2}) {
		t.Errorf("after reopen: got blocks per SLO %v, want a/b's new block and c/d's two", b)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Blocks != 6 {
		t.Fatalf("stats %+v %v: want the 3 archived blocks kept beside the 3 live ones", st, err)
	}
	// The archive ages out with its blocks.
	if _, err := s.DeleteBefore(ctx, start+600); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stats(ctx); err != nil || st.Blocks != 1 || st.SLOs != 3 {
		t.Fatalf("after DeleteBefore: stats %+v %v, want a/b's new block and 3 SLO rows (a/b, c/d, e/f), the archive gone", st, err)
	}
}

// BenchmarkSetSLIs1000Unchanged is what every reload and start adds for
// 1,000 SLOs whose SLIs did not change.
func BenchmarkSetSLIs1000Unchanged(b *testing.B) {
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "slogate.db"))
	slis := map[string]string{}
	for i := range 1000 {
		slis[fmt.Sprintf("svc-%d/availability", i)] = fmt.Sprintf("fp-%d", i)
	}
	at := time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC)
	if _, err := s.SetSLIs(ctx, slis, nil, at); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.SetSLIs(ctx, slis, nil, at); err != nil {
			b.Fatal(err)
		}
	}
}
