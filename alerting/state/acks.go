package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits on what an acknowledgement may hold, in bytes.
const (
	// MaxKey is the longest dedup key accepted.
	MaxKey = 512
	// MaxComment is the longest comment accepted.
	MaxComment = 4096
)

// Ack records that someone took charge of an alert, known by its dedup
// key, so that others need not.
type Ack struct {
	// Key is the dedup key of the alert acknowledged.
	Key string `json:"key"`
	// By is who acknowledged it.
	By string `json:"by"`
	// Comment is what they said about it; may be empty.
	Comment string `json:"comment"`
	// At is when they acknowledged it.
	At time.Time `json:"at"`
}

// Acknowledge records that by acknowledged the alert with dedup key key at
// now, and returns the acknowledgement. An alert is acknowledged once: if
// it was already, Acknowledge changes nothing and returns the first
// acknowledgement, without error. Key and by are required. The
// acknowledgement is on disk when Acknowledge returns.
func (s *Store) Acknowledge(ctx context.Context, key, by, comment string, now time.Time) (Ack, error) {
	a := Ack{Key: strings.TrimSpace(key), By: strings.TrimSpace(by), Comment: strings.TrimSpace(comment), At: trunc(now)}
	var bad error
	switch {
	case a.Key == "":
		bad = invalid("key", "required: the dedup key of the alert")
	case len(a.Key) > MaxKey:
		bad = invalid("key", "at most %d bytes, got %d", MaxKey, len(a.Key))
	case a.By == "":
		bad = invalid("by", "required")
	case len(a.By) > MaxName:
		bad = invalid("by", "at most %d bytes, got %d", MaxName, len(a.By))
	case len(a.Comment) > MaxComment:
		bad = invalid("comment", "at most %d bytes, got %d", MaxComment, len(a.Comment))
	}
	if bad != nil {
		return Ack{}, fmt.Errorf("acknowledge %q: %w", a.Key, bad)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alerting_acks (dedup_key, by_name, comment, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (dedup_key) DO NOTHING`, a.Key, a.By, a.Comment, ms(a.At)); err != nil {
			return err
		}
		var err error
		a, err = scanAck(tx.QueryRowContext(ctx, `SELECT `+ackColumns+` FROM alerting_acks WHERE dedup_key = ?`, a.Key))
		return err
	})
	if err != nil {
		return Ack{}, fmt.Errorf("acknowledge %s: %w", key, err)
	}
	return a, nil
}

const ackColumns = `dedup_key, by_name, comment, at`

func scanAck(sc scanner) (Ack, error) {
	var a Ack
	var at int64
	if err := sc.Scan(&a.Key, &a.By, &a.Comment, &at); err != nil {
		return Ack{}, err
	}
	a.At = fromMs(at)
	return a, nil
}

// Acked returns the acknowledgement of the alert with dedup key key, or
// nil if nobody acknowledged it.
func (s *Store) Acked(ctx context.Context, key string) (*Ack, error) {
	a, err := scanAck(s.db.Read.QueryRowContext(ctx, `SELECT `+ackColumns+` FROM alerting_acks WHERE dedup_key = ?`, key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("acknowledgement of %s: %w", key, err)
	}
	return &a, nil
}

// acksPerQuery bounds the keys looked up by one query, well below
// SQLite's limit on bound parameters.
const acksPerQuery = 500

// Acks returns the acknowledgements of the alerts with the given dedup
// keys, by key; the keys nobody acknowledged are absent.
func (s *Store) Acks(ctx context.Context, keys []string) (map[string]Ack, error) {
	out := make(map[string]Ack)
	total := len(keys)
	for len(keys) > 0 {
		n := min(len(keys), acksPerQuery)
		if err := s.acks(ctx, keys[:n], out); err != nil {
			return nil, fmt.Errorf("acknowledgements of %d alerts: %w", total, err)
		}
		keys = keys[n:]
	}
	return out, nil
}

func (s *Store) acks(ctx context.Context, keys []string, into map[string]Ack) error {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	marks := strings.Repeat(", ?", len(keys))[2:]
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+ackColumns+` FROM alerting_acks WHERE dedup_key IN (`+marks+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAck(rows)
		if err != nil {
			return err
		}
		into[a.Key] = a
	}
	return rows.Err()
}
