package state

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
	"github.com/slogate/slogate/alerting/outbox"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenSharesTheFileWithTheOutbox(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	o, err := outbox.Open(ctx, outbox.Config{Path: path, Notifiers: map[string]notify.Notifier{"x": &notifytest.Fake{}}})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	s := open(t, path)
	if _, err := s.AddSilence(ctx, Silence{Service: "checkout", EndsAt: t0.Add(time.Hour), Reason: "r", Author: "a"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Enqueue(ctx, "x", notifytest.Message(), t0); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM `+MigrationsTable).Scan(&n); err != nil || n != 1 {
		t.Errorf("%s holds %d rows (err %v), want 1: the state's migrations only", MigrationsTable, n, err)
	}
}

func TestOpenRejectsWhatIsNotADatabase(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "slogate.db"))
	if err == nil {
		t.Fatal("Open in a missing directory succeeded, want an error")
	}
}

func TestInvalidErrorMatchesErrInvalid(t *testing.T) {
	var err error = &InvalidError{Field: "reason", Problem: "required"}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false, want true", err)
	}
	if got, want := err.Error(), "reason: required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
