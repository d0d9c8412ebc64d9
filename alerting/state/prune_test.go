package state

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestPruneDeletesEndedSilencesAndOldAcks(t *testing.T) {
	// Prune runs at now and keeps 30 days.
	now := t0.Add(100 * 24 * time.Hour)
	cut := now.Add(-30 * 24 * time.Hour)
	const key = "checkout/page/1764000000"

	// silenceAt adds a silence set at set, in force from then until
	// ends, and expires it at expired unless that is zero.
	silenceAt := func(set, ends, expired time.Time) func(*testing.T, *Store) func() bool {
		return func(t *testing.T, s *Store) func() bool {
			sil := silence()
			sil.StartsAt, sil.EndsAt = time.Time{}, ends
			sil = add(t, s, sil, set)
			if !expired.IsZero() {
				if _, err := s.ExpireSilence(context.Background(), sil.ID, "bob", expired); err != nil {
					t.Fatal(err)
				}
			}
			return func() bool {
				_, err := s.Silence(context.Background(), sil.ID)
				if err != nil && !errors.Is(err, ErrNotFound) {
					t.Fatal(err)
				}
				return err == nil
			}
		}
	}
	ackAt := func(at time.Time) func(*testing.T, *Store) func() bool {
		return func(t *testing.T, s *Store) func() bool {
			if _, err := s.Acknowledge(context.Background(), key, "alice", "on it", at); err != nil {
				t.Fatal(err)
			}
			return func() bool {
				a, err := s.Acked(context.Background(), key)
				if err != nil {
					t.Fatal(err)
				}
				return a != nil
			}
		}
	}
	tests := []struct {
		name string
		// add stores a record and returns whether it is still there.
		add      func(*testing.T, *Store) func() bool
		wantKept bool
	}{
		{"a silence that ended before the cutoff is deleted",
			silenceAt(t0, cut.Add(-time.Millisecond), time.Time{}), false},
		{"a silence that ended at the cutoff is kept",
			silenceAt(t0, cut, time.Time{}), true},
		{"a silence that ended after the cutoff is kept",
			silenceAt(t0, cut.Add(time.Hour), time.Time{}), true},
		{"a silence still in force is kept however long ago it was set",
			silenceAt(t0, now.Add(time.Hour), time.Time{}), true},
		{"a silence yet to start is kept",
			silenceAt(now, now.Add(48*time.Hour), time.Time{}), true},
		{"a silence expired before the cutoff is deleted though it was meant to last until now",
			silenceAt(t0, now.Add(time.Hour), t0.Add(time.Hour)), false},
		{"a silence expired after the cutoff is kept though it was set long before",
			silenceAt(t0, now.Add(time.Hour), cut.Add(time.Hour)), true},
		{"an acknowledgement made before the cutoff is deleted",
			ackAt(cut.Add(-time.Minute)), false},
		{"an acknowledgement made after the cutoff is kept",
			ackAt(cut.Add(time.Minute)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
			there := tt.add(t, s)
			want := int64(1)
			if tt.wantKept {
				want = 0
			}
			for i := range 2 {
				n, err := s.Prune(ctx, cut)
				if err != nil {
					t.Fatalf("prune %d: %v", i+1, err)
				}
				if n != want {
					t.Errorf("prune %d deleted %d rows, want %d", i+1, n, want)
				}
				want = 0
			}
			if got := there(); got != tt.wantKept {
				t.Errorf("still there after pruning: %t, want %t", got, tt.wantKept)
			}
		})
	}
}
