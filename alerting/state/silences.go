package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The states of a silence, as Silence.State returns them.
const (
	// StatePending is a silence that starts later.
	StatePending = "pending"
	// StateActive is a silence in force.
	StateActive = "active"
	// StateExpired is a silence that ended, or was expired early.
	StateExpired = "expired"
)

// Limits on what a silence may hold.
const (
	// MaxReason is the longest reason accepted, in bytes.
	MaxReason = 4096
	// MaxName is the longest service, SLO or author name accepted, in bytes.
	MaxName = 256
)

// Limits on the number of silences ListSilences returns.
const (
	// DefaultLimit is the number returned when a limit is 0 or negative.
	DefaultLimit = 100
	// MaxLimit is the most returned; larger limits are lowered to it.
	MaxLimit = 1000
)

// Silence keeps a service's alerts, or one SLO's, from being sent between
// StartsAt and EndsAt. A silence can be expired early, which records when
// and by whom but keeps EndsAt as asked.
type Silence struct {
	// ID is assigned by the store.
	ID int64 `json:"id"`
	// Service is the service silenced.
	Service string `json:"service"`
	// SLO is the one SLO silenced, or empty for every SLO of the service.
	SLO string `json:"slo"`
	// StartsAt is when the silence takes effect.
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when it ends unless expired before.
	EndsAt time.Time `json:"endsAt"`
	// Reason says why, for whoever wonders where the alerts went.
	Reason string `json:"reason"`
	// Author is who set it.
	Author string `json:"author"`
	// CreatedAt is when it was set.
	CreatedAt time.Time `json:"createdAt"`
	// ExpiredAt is when it was expired early; zero unless it was.
	ExpiredAt time.Time `json:"expiredAt,omitzero"`
	// ExpiredBy is who expired it early.
	ExpiredBy string `json:"expiredBy,omitempty"`
}

// State returns what s is at now: StatePending, StateActive or
// StateExpired.
func (s Silence) State(now time.Time) string {
	switch {
	case !now.Before(s.EndsAt), !s.ExpiredAt.IsZero() && !now.Before(s.ExpiredAt):
		return StateExpired
	case now.Before(s.StartsAt):
		return StatePending
	}
	return StateActive
}

// Matches reports whether s silences the alerts of service's SLO slo at
// at: it is active then, for that service, and for that SLO or every one.
func (s Silence) Matches(service, slo string, at time.Time) bool {
	return s.Service == service && (s.SLO == "" || s.SLO == slo) && s.State(at) == StateActive
}

// Silenced returns the silence that covers an alert of service over slos
// at at, or nil if the alert is not silenced. An alert over several SLOs
// is silenced only when every one of them is matched, by one silence or
// several; an alert over none only by a silence of every SLO. When several
// silences cover it, Silenced returns the first in silences that covers
// all its SLOs alone, or failing that the first that covers its first SLO.
func Silenced(silences []Silence, service string, slos []string, at time.Time) *Silence {
	if len(slos) == 0 {
		slos = []string{""}
	}
	covers := func(s *Silence) bool {
		for _, slo := range slos {
			if !s.Matches(service, slo, at) {
				return false
			}
		}
		return true
	}
	for i := range silences {
		if covers(&silences[i]) {
			return &silences[i]
		}
	}
	var first *Silence
	for _, slo := range slos {
		i := slices.IndexFunc(silences, func(s Silence) bool { return s.Matches(service, slo, at) })
		if i < 0 {
			return nil
		}
		if first == nil {
			first = &silences[i]
		}
	}
	return first
}

// AddSilence stores sil and returns it as stored: with its ID, its
// CreatedAt set to now, and its times truncated to the millisecond. A zero
// StartsAt, or one before now, means now: a silence cannot hide what was
// already sent. Service, Reason and Author are required, and EndsAt must
// be after StartsAt and after now. ExpiredAt and ExpiredBy are ignored.
// Whether the service and SLO exist is for the caller to check. The
// silence is on disk when AddSilence returns.
func (s *Store) AddSilence(ctx context.Context, sil Silence, now time.Time) (Silence, error) {
	sil.Service, sil.SLO = strings.TrimSpace(sil.Service), strings.TrimSpace(sil.SLO)
	sil.Reason, sil.Author = strings.TrimSpace(sil.Reason), strings.TrimSpace(sil.Author)
	now = trunc(now)
	if sil.StartsAt.IsZero() || sil.StartsAt.Before(now) {
		sil.StartsAt = now
	}
	sil.StartsAt, sil.EndsAt, sil.CreatedAt = trunc(sil.StartsAt), trunc(sil.EndsAt), now
	sil.ID, sil.ExpiredAt, sil.ExpiredBy = 0, time.Time{}, ""
	if err := validSilence(sil, now); err != nil {
		return Silence{}, fmt.Errorf("add silence of %q: %w", sil.Service, err)
	}
	err := s.db.Write.QueryRowContext(ctx, `INSERT INTO alerting_silences
		(service, slo, starts_at, ends_at, reason, author, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		sil.Service, sil.SLO, ms(sil.StartsAt), ms(sil.EndsAt), sil.Reason, sil.Author, ms(sil.CreatedAt)).Scan(&sil.ID)
	if err != nil {
		return Silence{}, fmt.Errorf("add silence of %s: %w", sil.Service, err)
	}
	return sil, nil
}

func validSilence(s Silence, now time.Time) error {
	switch {
	case s.Service == "":
		return invalid("service", "required")
	case len(s.Service) > MaxName:
		return invalid("service", "at most %d bytes, got %d", MaxName, len(s.Service))
	case len(s.SLO) > MaxName:
		return invalid("slo", "at most %d bytes, got %d", MaxName, len(s.SLO))
	case s.Reason == "":
		return invalid("reason", "required: say why the alerts are silenced")
	case len(s.Reason) > MaxReason:
		return invalid("reason", "at most %d bytes, got %d", MaxReason, len(s.Reason))
	case s.Author == "":
		return invalid("author", "required")
	case len(s.Author) > MaxName:
		return invalid("author", "at most %d bytes, got %d", MaxName, len(s.Author))
	case s.EndsAt.IsZero():
		return invalid("endsAt", "required")
	case !s.EndsAt.After(now):
		return invalid("endsAt", "must be in the future, got %s", s.EndsAt.Format(time.RFC3339))
	case !s.EndsAt.After(s.StartsAt):
		return invalid("endsAt", "must be after startsAt %s, got %s",
			s.StartsAt.Format(time.RFC3339), s.EndsAt.Format(time.RFC3339))
	}
	return nil
}

const silenceColumns = `id, service, slo, starts_at, ends_at, reason, author, created_at, expired_at, expired_by`

type scanner interface{ Scan(dest ...any) error }

func scanSilence(sc scanner) (Silence, error) {
	var (
		s                      Silence
		starts, ends, creation int64
		expired                sql.NullInt64
	)
	if err := sc.Scan(&s.ID, &s.Service, &s.SLO, &starts, &ends, &s.Reason, &s.Author, &creation, &expired, &s.ExpiredBy); err != nil {
		return Silence{}, err
	}
	s.StartsAt, s.EndsAt, s.CreatedAt = fromMs(starts), fromMs(ends), fromMs(creation)
	if expired.Valid {
		s.ExpiredAt = fromMs(expired.Int64)
	}
	return s, nil
}

// ExpireSilence ends silence id at now, on behalf of by, and returns it as
// expired. It returns ErrNotFound if there is no such silence, and the
// silence unchanged with an error matching ErrExpired if it had expired by
// now already. A pending silence can be expired: it then never starts.
func (s *Store) ExpireSilence(ctx context.Context, id int64, by string, now time.Time) (Silence, error) {
	by = strings.TrimSpace(by)
	switch {
	case by == "":
		return Silence{}, fmt.Errorf("expire silence %d: %w", id, invalid("expiredBy", "required"))
	case len(by) > MaxName:
		return Silence{}, fmt.Errorf("expire silence %d: %w", id, invalid("expiredBy", "at most %d bytes, got %d", MaxName, len(by)))
	}
	now = trunc(now)
	var sil Silence
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		sil, err = scanSilence(tx.QueryRowContext(ctx, `SELECT `+silenceColumns+` FROM alerting_silences WHERE id = ?`, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case sil.State(now) == StateExpired:
			return ErrExpired
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerting_silences SET expired_at = ?, expired_by = ? WHERE id = ?`,
			ms(now), by, id); err != nil {
			return err
		}
		sil.ExpiredAt, sil.ExpiredBy = now, by
		return nil
	})
	switch {
	case errors.Is(err, ErrExpired):
		return sil, fmt.Errorf("expire silence %d: %w", id, err)
	case err != nil:
		return Silence{}, fmt.Errorf("expire silence %d: %w", id, err)
	}
	return sil, nil
}

// Silence returns silence id, whatever its state, or ErrNotFound.
func (s *Store) Silence(ctx context.Context, id int64) (Silence, error) {
	sil, err := scanSilence(s.db.Read.QueryRowContext(ctx, `SELECT `+silenceColumns+` FROM alerting_silences WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Silence{}, fmt.Errorf("silence %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Silence{}, fmt.Errorf("silence %d: %w", id, err)
	}
	return sil, nil
}

// SilenceFilter selects silences for ListSilences. Zero fields select
// everything; the non-zero ones must all hold.
type SilenceFilter struct {
	// Service selects the silences of one service.
	Service string
	// ActiveAt, PendingAt and ExpiredAt select the silences in that state
	// at that time.
	ActiveAt, PendingAt, ExpiredAt time.Time
	// Limit caps the result: DefaultLimit when 0 or negative, at most
	// MaxLimit.
	Limit int
}

// Conditions on the columns of alerting_silences that hold exactly when
// Silence.State returns the state at the time bound to each ?. Times are
// truncated to the millisecond before they are bound: stored times are
// whole milliseconds, so comparing with the truncated time gives the same
// answer as comparing with the time itself.
// pendingAt's ends_at > ?, implied by starts_at > ?, lets SQLite use the
// index on ends_at.
const (
	activeAt  = `(starts_at <= ? AND ends_at > ? AND (expired_at IS NULL OR expired_at > ?))`
	pendingAt = `(starts_at > ? AND ends_at > ? AND (expired_at IS NULL OR expired_at > ?))`
	expiredAt = `(ends_at <= ? OR expired_at <= ?)`
)

// newestFirst orders silences by id, newest first. Left to itself, SQLite
// would rather walk the whole table backwards by id than sort: fine when
// most rows match, slow for the few silences in force among all ever
// made. The unary + hides the id's order from the planner, so that it
// reads those through the index on ends_at and sorts them.
const (
	newestFirst         = ` ORDER BY id DESC`
	newestFirstByEndsAt = ` ORDER BY +id DESC`
)

// activeQuery selects the silences active at the time bound to its three
// parameters.
const activeQuery = `WHERE ` + activeAt + newestFirstByEndsAt

// ListSilences returns the silences f selects, newest first.
func (s *Store) ListSilences(ctx context.Context, f SilenceFilter) ([]Silence, error) {
	var where []string
	var args []any
	if f.Service != "" {
		where, args = append(where, "service = ?"), append(args, f.Service)
	}
	if !f.ActiveAt.IsZero() {
		t := ms(f.ActiveAt)
		where, args = append(where, activeAt), append(args, t, t, t)
	}
	if !f.PendingAt.IsZero() {
		t := ms(f.PendingAt)
		where, args = append(where, pendingAt), append(args, t, t, t)
	}
	if !f.ExpiredAt.IsZero() {
		t := ms(f.ExpiredAt)
		where, args = append(where, expiredAt), append(args, t, t)
	}
	if f.Limit <= 0 {
		f.Limit = DefaultLimit
	}
	q, order := "", newestFirst
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	if f.Service == "" && (!f.ActiveAt.IsZero() || !f.PendingAt.IsZero()) {
		order = newestFirstByEndsAt
	}
	ss, err := s.silences(ctx, q+order+" LIMIT ?", append(args, min(f.Limit, MaxLimit))...)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	return ss, nil
}

// ActiveSilences returns every silence active at now, of every service,
// newest first. It reads only the silences that end after now, so it stays
// cheap however many have ended.
func (s *Store) ActiveSilences(ctx context.Context, now time.Time) ([]Silence, error) {
	t := ms(now)
	ss, err := s.silences(ctx, activeQuery, t, t, t)
	if err != nil {
		return nil, fmt.Errorf("list active silences: %w", err)
	}
	return ss, nil
}

func (s *Store) silences(ctx context.Context, rest string, args ...any) ([]Silence, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+silenceColumns+` FROM alerting_silences `+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ss []Silence
	for rows.Next() {
		sil, err := scanSilence(rows)
		if err != nil {
			return nil, err
		}
		ss = append(ss, sil)
	}
	return ss, rows.Err()
}
