package monitor

import (
	"context"
	"testing"
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/store"
)

func TestRestoreFromCopiesTheOldMonitorsHistories(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	a, st, _ := restoredMonitor(t, 3, now) // svc/slo-0, slo-1, slo-2 with 28 days each
	// Written behind a's back, replacing an hour's block, so only a read
	// of the store sees it.
	extra := budget.NewHistory()
	extra.Add(budget.MinuteOf(now.Add(-time.Hour)), budget.Counts{Good: 1e6, Total: 1e6})
	var recs []store.BlockRecord
	for _, b := range extra.Dirty() {
		for _, key := range []string{"svc/slo-1", "svc/slo-2", "svc/slo-3"} {
			recs = append(recs, store.BlockRecord{SLO: key, Block: b})
		}
	}
	if err := st.Save(ctx, recs, nil); err != nil {
		t.Fatal(err)
	}

	// The reloaded catalog: slo-0's objective changed, slo-2 starts anew
	// (fresh), slo-3 is new.
	cat := benchCatalog(4)
	cat.Services[0].SLOs[0].Objective = 99
	b, err := New(Config{Catalog: cat, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RestoreFrom(ctx, a, now, func(key string) bool { return key == "svc/slo-2" }); err != nil {
		t.Fatal(err)
	}
	fromStore, err := New(Config{Catalog: cat, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := fromStore.Restore(ctx, now); err != nil {
		t.Fatal(err)
	}
	from, to := now.Add(-28*24*time.Hour), now.Add(time.Minute)
	for _, tc := range []struct {
		slo  string
		from *Monitor // what b must hold
	}{
		{"slo-0", a}, {"slo-1", a}, {"slo-2", fromStore}, {"slo-3", fromStore},
	} {
		t.Run(tc.slo, func(t *testing.T) {
			got, err := b.Sum("svc", tc.slo, from, to)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tc.from.Sum("svc", tc.slo, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
	if x, y := must(a.Sum("svc", "slo-1", from, to)), must(fromStore.Sum("svc", "slo-1", from, to)); x == y {
		t.Fatalf("the test's extra block is not in the store: %+v both", x)
	}
	// The copies are b's own: recording into b leaves a as it was.
	before := must(a.Sum("svc", "slo-0", from, to))
	if err := b.Record(ctx, []Add{{SLO: "svc/slo-0", Minute: budget.MinuteOf(now), Counts: budget.Counts{Good: 5, Total: 5}}}, nil); err != nil {
		t.Fatal(err)
	}
	if after := must(a.Sum("svc", "slo-0", from, to)); after != before {
		t.Fatalf("a recording into the new monitor changed the old one: %+v, was %+v", after, before)
	}
}

func must(c budget.Counts, err error) budget.Counts {
	if err != nil {
		panic(err)
	}
	return c
}
