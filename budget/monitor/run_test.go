package monitor

import (
	"context"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slogate/slogate/budget"
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
