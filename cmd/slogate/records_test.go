package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
	"github.com/slogate/slogate/alerting/outbox"
	"github.com/slogate/slogate/alerting/state"
	gatestore "github.com/slogate/slogate/gate/store"
)

// fakePruner is a recordPruner answering with PruneFunc.
type fakePruner struct {
	PruneFunc func(ctx context.Context, before time.Time) (int64, error)
}

var _ recordPruner = (*fakePruner)(nil)

func (f *fakePruner) Prune(ctx context.Context, before time.Time) (int64, error) {
	return f.PruneFunc(ctx, before)
}

// syncBuffer is a bytes.Buffer safe for a logger writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunPrunesAtOnceThenEveryIntervalAndGoesOnAfterAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		retention := 30 * 24 * time.Hour
		var mu sync.Mutex
		var calls []string // store@cutoff, in call order
		record := func(store string, before time.Time) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, store+"@"+before.Format(time.RFC3339))
		}
		failures := 1
		failing := &fakePruner{PruneFunc: func(_ context.Context, before time.Time) (int64, error) {
			record("outbox", before)
			if failures > 0 {
				failures--
				return 0, errors.New("disk I/O error")
			}
			return 0, nil
		}}
		deleting := &fakePruner{PruneFunc: func(_ context.Context, before time.Time) (int64, error) {
			record("gate", before)
			return 3, nil
		}}
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		start := time.Now()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			runPrunes(ctx, time.Hour, func() time.Time { return time.Now().Add(-retention) },
				[]namedPruner{{"outbox", failing}, {"gate", deleting}}, log)
		}()

		at := func(d time.Duration) string { return start.Add(d - retention).Format(time.RFC3339) }
		steps := []struct {
			name  string
			sleep time.Duration
			want  []string
		}{
			{"both stores are pruned at start, the gate though the outbox failed", 0,
				[]string{"outbox@" + at(0), "gate@" + at(0)}},
			{"nothing more is pruned before the hour", 59 * time.Minute,
				[]string{"outbox@" + at(0), "gate@" + at(0)}},
			{"both are pruned again an hour after start, with the cutoff moved on", time.Minute,
				[]string{"outbox@" + at(0), "gate@" + at(0), "outbox@" + at(time.Hour), "gate@" + at(time.Hour)}},
		}
		for _, s := range steps {
			time.Sleep(s.sleep)
			synctest.Wait()
			mu.Lock()
			got := slices.Clone(calls)
			mu.Unlock()
			if !slices.Equal(got, s.want) {
				t.Errorf("%s: got calls\n%q\nwant\n%q", s.name, got, s.want)
			}
		}
		for _, want := range []string{
			`level=ERROR msg="cannot prune old records" store=outbox`, `err="disk I/O error"`,
			`level=INFO msg="old records pruned" store=gate`, `deleted=3`,
		} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("got logs\n%s\nwant them to contain %s", logs.String(), want)
			}
		}
		if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
			t.Errorf("got %d errors logged, want 1: the outbox failed once\n%s", n, logs.String())
		}

		cancel()
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Error("runPrunes did not return when its context ended")
		}
	})
}

// TestServePrunesOldRecordsAtStart seeds a database with records from
// before and after a 30-day recordRetention through each store's own API,
// starts slogate on it, and checks that the old ones are gone but for
// those kept on purpose. The config has no receivers, so no outbox runs:
// its notifications are pruned all the same.
func TestServePrunesOldRecordsAtStart(t *testing.T) {
	ctx := context.Background()
	files := setupFiles("")
	files["slogate.yaml"] += "recordRetention: 30d\n"
	dir := writeFiles(t, files)
	config := filepath.Join(dir, "slogate.yaml")
	path := filepath.Join(dir, "data", "slogate.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	daysAgo := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }

	gst, err := gatestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	deploy := func(env string, started time.Time) int64 {
		d, err := gst.AddDeploy(ctx, gatestore.Deploy{Service: "export", Env: env, Version: started.Format(time.DateOnly),
			StartedAt: started, CreatedAt: started}, gatestore.AuditEntry{Actor: "ci"})
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	oldDeploy, latestProd, latestStaging := deploy("prod", daysAgo(60)), deploy("prod", daysAgo(40)), deploy("staging", daysAgo(50))
	for _, c := range []gatestore.DecisionChange{
		{Service: "export", At: daysAgo(60), From: "allow", To: "slow"},
		{Service: "export", At: daysAgo(1), From: "slow", To: "allow"},
	} {
		if err := gst.AddDecisionChange(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := gst.Close(); err != nil {
		t.Fatal(err)
	}

	mem, err := state.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	silence := func(ends time.Time) int64 {
		s, err := mem.AddSilence(ctx, state.Silence{Service: "export", EndsAt: ends, Reason: "migration", Author: "alice"}, daysAgo(60))
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	activeSilence := silence(now.Add(24 * time.Hour))
	silence(daysAgo(59))
	const oldAck, newAck = "export/page/1000000000", "export/page/2000000000"
	for key, at := range map[string]time.Time{oldAck: daysAgo(40), newAck: daysAgo(1)} {
		if _, err := mem.Acknowledge(ctx, key, "alice", "", at); err != nil {
			t.Fatal(err)
		}
	}
	if err := mem.Close(); err != nil {
		t.Fatal(err)
	}

	sent := &notifytest.Fake{NotifyFunc: func(context.Context, *notify.Message) (bool, error) { return false, nil }}
	ob, err := outbox.Open(ctx, outbox.Config{Path: path, Notifiers: map[string]notify.Notifier{"pd": sent}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Enqueue(ctx, "pd", notifytest.Message(), daysAgo(60)); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Tick(ctx, daysAgo(60)); err != nil { // sent long ago: pruned
		t.Fatal(err)
	}
	pending, err := ob.Enqueue(ctx, "pd", notifytest.Message(), daysAgo(60)) // never tried: kept
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	base, done := startServe(t, runCtx, config)
	deployIDs := func() []int64 {
		var body struct {
			Deploys []gatestore.Deploy `json:"deploys"`
		}
		if code := getJSON(t, base+"/api/v1/deploys?service=export", &body); code != http.StatusOK {
			t.Fatalf("GET /api/v1/deploys: status %d", code)
		}
		var ids []int64
		for _, d := range body.Deploys {
			ids = append(ids, d.ID)
		}
		slices.Sort(ids)
		return ids
	}
	// The gate's store is pruned last: once its old deploy is gone,
	// every store was pruned.
	waitFor(t, 10*time.Second, "the old deploy to be pruned", func() bool { return !slices.Contains(deployIDs(), oldDeploy) })

	t.Run("the latest deploy of each environment is kept, however old", func(t *testing.T) {
		want := []int64{latestProd, latestStaging}
		slices.Sort(want)
		if got := deployIDs(); !slices.Equal(got, want) {
			t.Errorf("got deploys %v, want %v", got, want)
		}
	})
	t.Run("the silence that ended is gone and the active one is kept", func(t *testing.T) {
		var body struct {
			Silences []state.Silence `json:"silences"`
		}
		if code := getJSON(t, base+"/api/v1/silences", &body); code != http.StatusOK {
			t.Fatalf("GET /api/v1/silences: status %d", code)
		}
		var ids []int64
		for _, s := range body.Silences {
			ids = append(ids, s.ID)
		}
		if want := []int64{activeSilence}; !slices.Equal(ids, want) {
			t.Errorf("got silences %v, want %v", ids, want)
		}
	})
	t.Run("the old acknowledgement is gone and the recent one is kept", func(t *testing.T) {
		for key, want := range map[string]int{oldAck: http.StatusNotFound, newAck: http.StatusOK} {
			if code := getJSON(t, base+"/api/v1/acks?key="+url.QueryEscape(key), nil); code != want {
				t.Errorf("GET /api/v1/acks?key=%s: status %d, want %d", key, code, want)
			}
		}
	})
	stopServe(t, cancel, done)

	t.Run("the old decision change is gone and the recent one is kept", func(t *testing.T) {
		gst, err := gatestore.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer gst.Close()
		cs, err := gst.DecisionHistory(ctx, "export", gatestore.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		var recent, old int
		for _, c := range cs {
			switch {
			case c.At.Before(daysAgo(30)):
				old++
			case c.At.Equal(daysAgo(1).Truncate(time.Millisecond)) && c.To == "allow":
				recent++
			}
		}
		if old != 0 || recent != 1 {
			t.Errorf("got %d old and %d recent changes in %+v, want 0 and 1", old, recent, cs)
		}
	})
	t.Run("the sent notification is gone and the pending one is kept", func(t *testing.T) {
		ob, err := outbox.Open(ctx, outbox.Config{Path: path, Notifiers: map[string]notify.Notifier{"pd": sent}})
		if err != nil {
			t.Fatal(err)
		}
		defer ob.Close()
		ns, err := ob.List(ctx, outbox.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, n := range ns {
			ids = append(ids, n.ID)
		}
		if want := []int64{pending}; !slices.Equal(ids, want) {
			t.Errorf("got notifications %v, want %v", ids, want)
		}
	})
}
