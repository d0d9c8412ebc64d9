package monitor

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/store"
)

func TestRunEvaluatesEveryIntervalAndStopsWithItsContext(t *testing.T) {
	m, st := openMonitor(t, filepath.Join(t.TempDir(), "s.db"))
	defer st.Close()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now() // the bubble's fake clock
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			m.Run(ctx, 15*time.Second, time.Now)
			close(done)
		}()
		synctest.Wait()
		if got := m.Snapshot().At; !got.Equal(start.UTC()) {
			t.Fatalf("first evaluation at %v, want at start %v", got, start)
		}
		if !m.Ready() {
			t.Fatal("not ready after the first evaluation")
		}
		err := m.Record(ctx, []Add{{SLO: Key("shop", "availability"), Minute: budget.MinuteOf(start), Counts: budget.Counts{Good: 9, Total: 10}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(46 * time.Second)
		synctest.Wait()
		snap := m.Snapshot()
		if want := start.Add(45 * time.Second).UTC(); !snap.At.Equal(want) {
			t.Fatalf("latest evaluation at %v, want %v (every 15s)", snap.At, want)
		}
		if got := snap.SLO("shop", "availability").Budget.Total; got != 10 {
			t.Fatalf("the evaluation after a record counts %v events, want 10", got)
		}
		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("Run did not return after its context ended")
		}
	})
}

func TestRunTrimsAtEveryFullHourEvenIfStartedJustBefore(t *testing.T) {
	m, st := openMonitor(t, filepath.Join(t.TempDir(), "s.db"))
	defer st.Close()
	synctest.Test(t, func(t *testing.T) {
		// A run started at 00:59, as after a reload, trims at 01:00.
		now := func() time.Time { return time.Now().Add(59 * time.Minute) }
		old := budget.NewHistory()
		old.Add(budget.MinuteOf(now().Add(-m.cfg.Retention-3*time.Hour)), budget.Counts{Good: 1, Total: 1})
		var blocks []store.BlockRecord
		for _, b := range old.Dirty() {
			blocks = append(blocks, store.BlockRecord{SLO: Key("shop", "availability"), Block: b})
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := st.Save(ctx, blocks, nil); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			m.Run(ctx, 15*time.Second, now)
			close(done)
		}()
		count := func() int64 {
			s, err := st.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return s.Blocks
		}
		time.Sleep(50 * time.Second)
		synctest.Wait()
		if n := count(); n != 1 {
			t.Fatalf("at 00:59:50: %d blocks, want the old one still there", n)
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if n := count(); n != 0 {
			t.Fatalf("at 01:00:10: %d blocks, want the old one trimmed at 01:00", n)
		}
		cancel()
		<-done
	})
}
