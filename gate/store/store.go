// Package store keeps the release gate's records in SQLite: deploys and
// their impact, overrides of a slow-down, the history of each service's
// gate decision, and the audit log of who changed what. It shares its
// database file with the budget store, next to which it keeps its own
// tables (all named gate_…) and its own gate_schema_migrations.
//
// Every change made on behalf of a user is written in one transaction with
// its audit entry, so that neither exists without the other, and is
// durable when the call returns.
//
// Times are stored as milliseconds since the Unix epoch: they come back in
// UTC, truncated to the millisecond, and the records returned by the Add
// methods are already truncated so that they equal what a later read
// returns. Times given to filters are truncated the same way, so a record
// matches a filter on the time it was given if and only if it matches on
// the time it comes back with.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the sqlite3 driver

	bstore "github.com/slogate/slogate/budget/store"
)

// Errors returned by the Store; test for them with errors.Is.
var (
	// ErrNotFound means that no record has the id or matches the query.
	ErrNotFound = errors.New("not found")
	// ErrNotActive means that an override has ended or expired already.
	ErrNotActive = errors.New("override not active")
	// ErrInvalid means that a record is missing a field the store needs.
	// The API should have rejected such a request before asking the store.
	ErrInvalid = errors.New("invalid record")
)

// Limits on the number of records a listing returns.
const (
	// DefaultLimit is the number returned when a limit is 0 or negative.
	DefaultLimit = 100
	// MaxLimit is the most returned; larger limits are lowered to it.
	MaxLimit = 1000
)

// Store is the gate's SQLite database. It is safe for concurrent use:
// writes go through one connection, one at a time, while reads use a pool
// of their own and, thanks to WAL, never wait for writes. Other processes
// and stores, such as the budget store, may write to the same file: a
// write waits up to 10 s for theirs to finish.
type Store struct {
	write *sql.DB // a single connection: SQLite has one writer anyway
	read  *sql.DB
}

// Open opens the database at path, creating it if needed, and migrates the
// gate's tables, recorded in gate_schema_migrations. It shares the file and
// its conventions with the budget store (see budget/store.OpenDB): a change
// is on disk when the call that made it returns.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := bstore.OpenDB(ctx, path, migrations, "migrations", "gate_schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("open gate store %s: %w", path, err)
	}
	return &Store{write: db.Write, read: db.Read}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// AuditEntry records one change: who made it, what it was and on what.
// The store writes it in the same transaction as the change.
type AuditEntry struct {
	// ID is assigned by the store.
	ID int64 `json:"id"`
	// At is when the change was made; if zero, the time of the change
	// (a deploy's CreatedAt, an override's CreatedAt or EndedAt).
	At time.Time `json:"at"`
	// Actor is who made the change: the name of the API token used.
	// It is required.
	Actor string `json:"actor"`
	// Action is what was done, e.g. "deploy.create", "override.create",
	// "override.end"; if empty, the store names the change it records.
	Action string `json:"action"`
	// Service is the service changed; if empty, the record's service.
	Service string `json:"service,omitempty"`
	// Target names the record changed, e.g. "deploy/42"; if empty, the
	// store names the record, whose id the caller cannot know beforehand.
	Target string `json:"target,omitempty"`
	// Detail is JSON describing the change; if nil, the record as it is
	// after the change.
	Detail json.RawMessage `json:"detail,omitempty"`
	// Remote is the address the request came from.
	Remote string `json:"remote,omitempty"`
}

// AuditFilter selects audit entries. Zero fields select everything.
type AuditFilter struct {
	// Service keeps the entries of one service.
	Service string
	// Since keeps the entries made at or after it.
	Since time.Time
	// Limit is the most entries returned: DefaultLimit if 0, at most
	// MaxLimit.
	Limit int
}

// Audit returns the audit entries f selects, newest first.
func (s *Store) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	if f.Service != "" {
		where, args = append(where, "service = ?"), append(args, f.Service)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, ms(f.Since))
	}
	q := `SELECT id, at, actor, action, service, target, detail, remote FROM gate_audit` +
		and(where) + ` ORDER BY at DESC, id DESC LIMIT ?`
	rows, err := s.read.QueryContext(ctx, q, append(args, limit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var (
			a  AuditEntry
			at int64
		)
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.Action, &a.Service, &a.Target, (*[]byte)(&a.Detail), &a.Remote); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		a.At = fromMs(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// checkAudit rejects an entry that cannot be written, before the
// transaction of its change begins.
func checkAudit(a AuditEntry) error {
	if a.Actor == "" {
		return invalidf("audit entry has no actor")
	}
	if a.Detail != nil && !json.Valid(a.Detail) {
		return invalidf("audit detail is not JSON: %.40q", a.Detail)
	}
	return nil
}

// writeAudit fills the fields of a that the caller left to the store from
// the change it records, and inserts it in tx.
func writeAudit(ctx context.Context, tx *sql.Tx, a AuditEntry, action, service, target string, at time.Time, record any) error {
	if a.Action == "" {
		a.Action = action
	}
	if a.Service == "" {
		a.Service = service
	}
	if a.Target == "" {
		a.Target = target
	}
	if a.At.IsZero() {
		a.At = at
	}
	if a.Detail == nil {
		d, err := json.Marshal(record)
		if err != nil {
			return fmt.Errorf("audit %s: %w", a.Action, err)
		}
		a.Detail = d
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO gate_audit (at, actor, action, service, target, detail, remote)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, ms(a.At), a.Actor, a.Action, a.Service, a.Target, string(a.Detail), a.Remote)
	if err != nil {
		return fmt.Errorf("audit %s: %w", a.Action, err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits it if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return bstore.InTx(ctx, s.write, fn)
}

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// ms is how times are stored.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMs is the time stored as v.
func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

// trunc is t as it will come back from the database.
func trunc(t time.Time) time.Time { return fromMs(ms(t)) }

// truncPtr is trunc for optional times.
func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := trunc(*t)
	return &v
}

// nullMs stores an optional time, nil as NULL.
func nullMs(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ms(*t), Valid: true}
}

// fromNullMs is the optional time stored as v.
func fromNullMs(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMs(v.Int64)
	return &t
}

// limit applies DefaultLimit and MaxLimit to n.
func limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// and joins conditions into a WHERE clause, or nothing.
func and(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}
