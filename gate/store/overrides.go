package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Override lets changes ship while a service's gate says slow down. It is
// active from its creation until it expires or is ended, whichever comes
// first.
type Override struct {
	// ID is assigned by the store.
	ID int64 `json:"id"`
	// Service is the service whose gate is overridden; it is required.
	Service string `json:"service"`
	// Env is the environment overridden, or empty for all of them.
	Env string `json:"env,omitempty"`
	// Reason says why; it is required, and kept.
	Reason string `json:"reason"`
	// By is who asked for the override; it is required.
	By string `json:"by"`
	// Token is the name of the API token that created it.
	Token string `json:"token,omitempty"`
	// CreatedAt is when it was created; it is required.
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when it ends unless ended before; it must be after
	// CreatedAt.
	ExpiresAt time.Time `json:"expires_at"`
	// EndedAt is when it was ended early, if it was.
	EndedAt *time.Time `json:"ended_at,omitempty"`
	// EndedBy is who ended it early.
	EndedBy string `json:"ended_by,omitempty"`
}

// ActiveAt reports whether o is in force at t: not ended and not expired.
func (o Override) ActiveAt(t time.Time) bool {
	return o.EndedAt == nil && t.Before(o.ExpiresAt)
}

const overrideColumns = `id, service, env, reason, by_name, token, created_at, expires_at, ended_at, ended_by`

func scanOverride(sc scanner) (Override, error) {
	var (
		o                Override
		created, expires int64
		ended            sql.NullInt64
	)
	if err := sc.Scan(&o.ID, &o.Service, &o.Env, &o.Reason, &o.By, &o.Token, &created, &expires, &ended, &o.EndedBy); err != nil {
		return Override{}, err
	}
	o.CreatedAt, o.ExpiresAt, o.EndedAt = fromMs(created), fromMs(expires), fromNullMs(ended)
	return o, nil
}

// AddOverride records o and its audit entry a in one transaction, and
// returns o as stored: with its ID, and its times in UTC truncated to the
// millisecond. EndedAt and EndedBy are ignored: EndOverride sets them. How
// long an override may last is the caller's policy; the store only needs
// it to expire after it was created. The override is durable when
// AddOverride returns.
func (s *Store) AddOverride(ctx context.Context, o Override, a AuditEntry) (Override, error) {
	var bad error
	switch {
	case o.Service == "":
		bad = invalidf("override has no service")
	case strings.TrimSpace(o.Reason) == "":
		bad = invalidf("override has no reason")
	case o.By == "":
		bad = invalidf("override has no author")
	case o.CreatedAt.IsZero():
		bad = invalidf("override has no creation time")
	case ms(o.ExpiresAt) <= ms(o.CreatedAt):
		bad = invalidf("override expires at %s, not after its creation at %s",
			o.ExpiresAt.Format(time.RFC3339Nano), o.CreatedAt.Format(time.RFC3339Nano))
	default:
		bad = checkAudit(a)
	}
	if bad != nil {
		return Override{}, fmt.Errorf("add override of %q: %w", o.Service, bad)
	}
	o.CreatedAt, o.ExpiresAt, o.EndedAt, o.EndedBy = trunc(o.CreatedAt), trunc(o.ExpiresAt), nil, ""
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO gate_overrides
			(service, env, reason, by_name, token, created_at, expires_at, ended_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, '') RETURNING id`,
			o.Service, o.Env, o.Reason, o.By, o.Token, ms(o.CreatedAt), ms(o.ExpiresAt)).Scan(&o.ID)
		if err != nil {
			return err
		}
		return writeAudit(ctx, tx, a, "override.create", o.Service, overrideTarget(o.ID), o.CreatedAt, o)
	})
	if err != nil {
		return Override{}, fmt.Errorf("add override of %s: %w", o.Service, err)
	}
	return o, nil
}

// EndOverride ends override id early, at at, on behalf of by, and writes
// the audit entry a in the same transaction. It returns the override as
// ended, ErrNotFound if there is none with that id, or the override
// unchanged and ErrNotActive if it had ended or expired by at already.
func (s *Store) EndOverride(ctx context.Context, id int64, by string, at time.Time, a AuditEntry) (Override, error) {
	switch {
	case by == "":
		return Override{}, fmt.Errorf("end override %d: %w", id, invalidf("no one ends it"))
	case at.IsZero():
		return Override{}, fmt.Errorf("end override %d: %w", id, invalidf("no end time"))
	}
	if err := checkAudit(a); err != nil {
		return Override{}, fmt.Errorf("end override %d: %w", id, err)
	}
	at = trunc(at)
	var o Override
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		o, err = scanOverride(tx.QueryRowContext(ctx, `SELECT `+overrideColumns+` FROM gate_overrides WHERE id = ?`, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case !o.ActiveAt(at):
			return ErrNotActive
		}
		if _, err := tx.ExecContext(ctx, `UPDATE gate_overrides SET ended_at = ?, ended_by = ? WHERE id = ?`,
			ms(at), by, id); err != nil {
			return err
		}
		o.EndedAt, o.EndedBy = &at, by
		return writeAudit(ctx, tx, a, "override.end", o.Service, overrideTarget(id), at, o)
	})
	switch {
	case errors.Is(err, ErrNotActive):
		return o, fmt.Errorf("end override %d: %w", id, err)
	case err != nil:
		return Override{}, fmt.Errorf("end override %d: %w", id, err)
	}
	return o, nil
}

// Override returns override id, active or not, or ErrNotFound.
func (s *Store) Override(ctx context.Context, id int64) (Override, error) {
	o, err := scanOverride(s.read.QueryRowContext(ctx, `SELECT `+overrideColumns+` FROM gate_overrides WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Override{}, fmt.Errorf("override %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Override{}, fmt.Errorf("override %d: %w", id, err)
	}
	return o, nil
}

func overrideTarget(id int64) string { return "override/" + strconv.FormatInt(id, 10) }

// ActiveOverrides returns the overrides active at now, of every service,
// ordered by service and environment and, within them, the latest
// expiring first.
func (s *Store) ActiveOverrides(ctx context.Context, now time.Time) ([]Override, error) {
	list, err := s.overrides(ctx, `SELECT `+overrideColumns+` FROM gate_overrides
		WHERE ended_at IS NULL AND expires_at > ?
		ORDER BY service, env, expires_at DESC, id DESC`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("list active overrides: %w", err)
	}
	return list, nil
}

// Overrides returns the overrides of a service, or of every service if it
// is empty, active or not, the latest created first: at most n of them
// (DefaultLimit if n is 0, at most MaxLimit).
func (s *Store) Overrides(ctx context.Context, service string, n int) ([]Override, error) {
	var (
		where []string
		args  []any
	)
	if service != "" {
		where, args = append(where, "service = ?"), append(args, service)
	}
	list, err := s.overrides(ctx, `SELECT `+overrideColumns+` FROM gate_overrides`+and(where)+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit(n))...)
	if err != nil {
		return nil, fmt.Errorf("list overrides: %w", err)
	}
	return list, nil
}

func (s *Store) overrides(ctx context.Context, q string, args ...any) ([]Override, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Override
	for rows.Next() {
		o, err := scanOverride(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
