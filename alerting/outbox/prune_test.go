package outbox

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
)

func TestPruneKeepsPendingAndWhatKeptNotificationsReferTo(t *testing.T) {
	// Notifications touched at t0 are old, those touched at late are
	// not: Prune cuts at t0 plus a day.
	cut := t0.Add(24 * time.Hour)
	late := t0.Add(48 * time.Hour)
	ok := result{}
	retry := result{retry: true, err: errors.New("503 Service Unavailable")}
	refuse := result{err: errors.New("400 Bad Request")}

	// Each case enqueues one notification for pd, with fb as the
	// fallback receiver, then ticks at the times given.
	tests := []struct {
		name    string
		pd, fb  []result
		enqueue time.Time
		ticks   []time.Time
		// wantStatus are the statuses of the notifications before
		// pruning, the first one first, to show what the case is.
		wantStatus []Status
		// wantKept are the notifications left, by their place in
		// wantStatus; every one keeps its attempts.
		wantKept []int
		// wantDeleted is Prune's count: notifications and attempts.
		wantDeleted int64
	}{
		{
			name: "a notification sent before the cutoff goes with its attempt",
			pd:   []result{ok}, enqueue: t0, ticks: []time.Time{t0},
			wantStatus: []Status{StatusSent}, wantKept: nil, wantDeleted: 2,
		},
		{
			name: "a notification sent after the cutoff is kept",
			pd:   []result{ok}, enqueue: late, ticks: []time.Time{late},
			wantStatus: []Status{StatusSent}, wantKept: []int{0},
		},
		{
			name: "a pending notification is kept however long ago it was last tried",
			pd:   []result{retry}, enqueue: t0, ticks: []time.Time{t0},
			wantStatus: []Status{StatusPending}, wantKept: []int{0},
		},
		{
			name: "a notification handed to the fallback is kept while its copy is pending",
			pd:   []result{refuse}, fb: []result{retry}, enqueue: t0, ticks: []time.Time{t0, t0},
			wantStatus: []Status{StatusFallback, StatusPending}, wantKept: []int{0, 1},
		},
		{
			name: "a notification handed to the fallback is kept while its copy was sent after the cutoff",
			pd:   []result{refuse}, fb: []result{ok}, enqueue: t0, ticks: []time.Time{t0, late},
			wantStatus: []Status{StatusFallback, StatusSent}, wantKept: []int{0, 1},
		},
		{
			name: "a notification and its fallback copy sent before the cutoff go together",
			pd:   []result{refuse}, fb: []result{ok}, enqueue: t0, ticks: []time.Time{t0, t0},
			wantStatus: []Status{StatusFallback, StatusSent}, wantKept: nil, wantDeleted: 4,
		},
		{
			name: "a notification whose fallback copy failed before the cutoff goes with it",
			pd:   []result{refuse}, fb: []result{refuse}, enqueue: t0, ticks: []time.Time{t0, t0},
			wantStatus: []Status{StatusFallback, StatusFailed}, wantKept: nil, wantDeleted: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "slogate.db")
			pd, fb := &recorder{results: tt.pd}, &recorder{results: tt.fb}
			o := open(t, path, Config{Notifiers: map[string]notify.Notifier{"pd": pd.notifier(), "fb": fb.notifier()},
				Fallback: "fb", MinBackoff: time.Minute, MaxBackoff: time.Minute})
			if _, err := o.Enqueue(ctx, "pd", notifytest.Message(), tt.enqueue); err != nil {
				t.Fatal(err)
			}
			for _, at := range tt.ticks {
				if _, err := o.Tick(ctx, at); err != nil {
					t.Fatal(err)
				}
			}
			before := list(t, o)
			var statuses []Status
			for _, n := range before {
				statuses = append(statuses, n.Status)
			}
			if !slices.Equal(statuses, tt.wantStatus) {
				t.Fatalf("before pruning, got statuses %v, want %v", statuses, tt.wantStatus)
			}
			var wantIDs []int64
			wantAttempts := map[int64]int{}
			for _, i := range tt.wantKept {
				wantIDs = append(wantIDs, before[i].ID)
				wantAttempts[before[i].ID] = before[i].Attempts
			}

			r, err := OpenRecords(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for i, want := range []int64{tt.wantDeleted, 0} {
				n, err := r.Prune(ctx, cut)
				if err != nil {
					t.Fatalf("prune %d: %v", i+1, err)
				}
				if n != want {
					t.Errorf("prune %d deleted %d rows, want %d", i+1, n, want)
				}
			}

			var ids []int64
			for _, n := range list(t, o) {
				ids = append(ids, n.ID)
				as, err := o.Attempts(ctx, n.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(as) != wantAttempts[n.ID] {
					t.Errorf("notification %d has %d attempts left, want %d", n.ID, len(as), wantAttempts[n.ID])
				}
			}
			if !slices.Equal(ids, wantIDs) {
				t.Errorf("got notifications %v left, want %v", ids, wantIDs)
			}
			var orphans int
			if err := r.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM alerting_attempts
				WHERE notification_id NOT IN (SELECT id FROM alerting_notifications)`).Scan(&orphans); err != nil {
				t.Fatal(err)
			}
			if orphans != 0 {
				t.Errorf("got %d attempts of deleted notifications, want none", orphans)
			}
		})
	}
}

// list returns every notification, the first enqueued first.
func list(t *testing.T, o *Outbox) []Notification {
	t.Helper()
	ns, err := o.List(context.Background(), Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ns)
	return ns
}
