// Package specstore keeps the service specs managed through the API, so
// that they survive restarts, and the history of every service's spec,
// whether from a file or the API: who changed it, when, how and the diff.
// It lives in slogate's shared SQLite file in the tables slo_api_specs and
// slo_spec_history, whose migrations it records in
// slo_specstore_schema_migrations. It stores a spec's text without reading
// it: package slo validates it.
//
// Times are stored as milliseconds since the Unix epoch, so they come back
// in UTC, truncated to the millisecond.
package specstore

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
const MigrationsTable = "slo_specstore_schema_migrations"

// ErrNotFound means that no spec is stored for the service asked for.
var ErrNotFound = errors.New("not found")

// Spec is one service's spec as stored.
type Spec struct {
	// Service is the service's name.
	Service string
	// Text is the spec as its author sent it, YAML or JSON.
	Text string
	// UpdatedAt is when it was last stored.
	UpdatedAt time.Time
	// UpdatedBy is the name of the token that stored it.
	UpdatedBy string
}

// Store is the API-managed specs in SQLite. It is safe for concurrent use.
type Store struct {
	db *store.DB
}

// Open opens the database at path, creating it if needed, and migrates the
// spec table. See budget/store.OpenDB for how the file is opened and
// shared.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := store.OpenDB(ctx, path, migrations, "migrations", MigrationsTable)
	if err != nil {
		return nil, fmt.Errorf("open spec store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// List returns every stored spec, by service name.
func (s *Store) List(ctx context.Context) ([]Spec, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT service, spec, updated_at, updated_by FROM slo_api_specs ORDER BY service`)
	if err != nil {
		return nil, fmt.Errorf("list specs: %w", err)
	}
	defer rows.Close()
	var out []Spec
	for rows.Next() {
		var sp Spec
		var at int64
		if err := rows.Scan(&sp.Service, &sp.Text, &at, &sp.UpdatedBy); err != nil {
			return nil, fmt.Errorf("list specs: %w", err)
		}
		sp.UpdatedAt = time.UnixMilli(at).UTC()
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list specs: %w", err)
	}
	return out, nil
}

// Get returns the spec stored for service, or ErrNotFound.
func (s *Store) Get(ctx context.Context, service string) (Spec, error) {
	sp := Spec{Service: service}
	var at int64
	err := s.db.Read.QueryRowContext(ctx,
		`SELECT spec, updated_at, updated_by FROM slo_api_specs WHERE service = ?`, service).
		Scan(&sp.Text, &at, &sp.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Spec{}, fmt.Errorf("spec %q: %w", service, ErrNotFound)
	}
	if err != nil {
		return Spec{}, fmt.Errorf("get spec %q: %w", service, err)
	}
	sp.UpdatedAt = time.UnixMilli(at).UTC()
	return sp, nil
}

// Put stores sp, replacing the service's spec if there is one, and reports
// whether there was none. It returns sp as a later Get returns it.
func (s *Store) Put(ctx context.Context, sp Spec) (stored Spec, created bool, err error) {
	err = store.InTx(ctx, s.db.Write, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM slo_api_specs WHERE service = ?`, sp.Service).Scan(&n); err != nil {
			return err
		}
		created = n == 0
		_, err := tx.ExecContext(ctx, `INSERT INTO slo_api_specs (service, spec, updated_at, updated_by)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (service) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at,
				updated_by = excluded.updated_by`,
			sp.Service, sp.Text, sp.UpdatedAt.UnixMilli(), sp.UpdatedBy)
		return err
	})
	if err != nil {
		return Spec{}, false, fmt.Errorf("put spec %q: %w", sp.Service, err)
	}
	sp.UpdatedAt = time.UnixMilli(sp.UpdatedAt.UnixMilli()).UTC()
	return sp, created, nil
}

// Delete removes the service's spec, or returns ErrNotFound.
func (s *Store) Delete(ctx context.Context, service string) error {
	res, err := s.db.Write.ExecContext(ctx, `DELETE FROM slo_api_specs WHERE service = ?`, service)
	if err != nil {
		return fmt.Errorf("delete spec %q: %w", service, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("spec %q: %w", service, ErrNotFound)
	}
	return nil
}
