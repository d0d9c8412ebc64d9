// Package state keeps what alerting must remember across restarts: each
// service's open incidents, the silences people set, and which alerts
// someone acknowledged. It lives in slogate's shared SQLite file, next to
// the budget, gate and outbox tables, in tables named alerting_… whose
// migrations it records in alerting_state_schema_migrations.
//
// Every change is on disk when the call that made it returns. Times are
// stored as milliseconds since the Unix epoch, so they come back in UTC,
// truncated to the millisecond; the records the Add and Expire methods
// return are already truncated, so they equal what a later read returns.
package state

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the sqlite3 driver

	"github.com/slogate/slogate/budget/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable records which of the package's migrations were applied.
const MigrationsTable = "alerting_state_schema_migrations"

// Errors returned by the Store; test for them with errors.Is.
var (
	// ErrNotFound means that no silence has the id asked for.
	ErrNotFound = errors.New("not found")
	// ErrExpired means that a silence had expired, on its own or by hand,
	// before it was asked to expire.
	ErrExpired = errors.New("silence already expired")
	// ErrInvalid means that a record was refused; the error is also an
	// *InvalidError naming the field.
	ErrInvalid = errors.New("invalid")
)

// InvalidError says which field of a record the Store refused and why.
// Field is named as in the record's JSON (startsAt, endsAt, …), so that
// the API can show the message to the user as is. It matches ErrInvalid.
type InvalidError struct {
	// Field is the JSON name of the field that is wrong.
	Field string
	// Problem says what is wrong with it and what was expected.
	Problem string
}

// Error returns "field: problem".
func (e *InvalidError) Error() string { return e.Field + ": " + e.Problem }

// Is reports whether target is ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// Store is alerting's state in SQLite. It is safe for concurrent use:
// writes go through one connection, reads through a pool that, thanks to
// WAL, never waits for them.
type Store struct {
	db *store.DB
}

// Open opens the database at path, creating it if needed, and migrates
// alerting's state tables. See budget/store.OpenDB for how the file is
// opened and shared.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := store.OpenDB(ctx, path, migrations, "migrations", MigrationsTable)
	if err != nil {
		return nil, fmt.Errorf("open alerting state %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// inTx runs fn in a write transaction and commits it if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return store.InTx(ctx, s.db.Write, fn)
}

// ms is how times are stored.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMs is a stored time as it comes back.
func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

// trunc is t as it comes back after being stored.
func trunc(t time.Time) time.Time { return fromMs(ms(t)) }
