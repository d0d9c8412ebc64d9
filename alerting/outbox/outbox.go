// Package outbox stores every notification in SQLite before it is sent
// and delivers it through a notifier, retrying with exponential backoff
// and jitter until a deadline, then handing it to a fallback receiver.
// A notification pending when the process dies is delivered after restart.
//
// Delivery is at least once: a process killed after a receiver accepted a
// notification but before the outbox recorded it sends it again after
// restart, which receivers absorb through the message's dedup key.
package outbox

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/budget/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationsTable records which of the outbox's migrations were applied.
const MigrationsTable = "alerting_schema_migrations"

// Status is where a notification is in its delivery.
type Status string

// The statuses of a notification.
const (
	// StatusPending waits for its next attempt.
	StatusPending Status = "pending"
	// StatusSent was accepted by its receiver.
	StatusSent Status = "sent"
	// StatusFailed was given up on and nobody else was told: its
	// receiver refused it or the deadline passed, and there is no
	// fallback receiver or it was itself for the fallback.
	StatusFailed Status = "failed"
	// StatusFallback was given up on like StatusFailed, and a copy was
	// enqueued for the fallback receiver (the row whose FallbackOf is
	// this one's ID).
	StatusFallback Status = "fallback"
)

// Config configures an Outbox. Zero fields take the defaults documented.
type Config struct {
	// Path is the SQLite file, shared with slogate's other stores.
	Path string
	// Notifiers delivers by receiver name. Required.
	Notifiers map[string]notify.Notifier
	// Fallback names the receiver, among Notifiers, that gets what its
	// own receiver refused or could not take before Deadline. Empty for
	// none.
	Fallback string
	// Deadline is how long after Enqueue delivery is retried; 15m.
	Deadline time.Duration
	// MinBackoff is the wait after the first failure, doubled after each
	// later one up to MaxBackoff; 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one delivery attempt; 30s.
	AttemptTimeout time.Duration
	// PollInterval is how often Run looks for due notifications when
	// nothing wakes it sooner; 1s.
	PollInterval time.Duration
	// Rand draws the jitter; seeded from the clock when nil.
	Rand *rand.Rand
	// Metrics receives slogate_notifications_{sent,failed}_total{receiver}
	// and slogate_notifications_pending; nil for none. One Outbox per Set:
	// the pending gauge reads the Outbox that registered it first.
	Metrics *metrics.Set
	// Logger logs attempts; discarded when nil.
	Logger *slog.Logger
	// Now is Run's clock; time.Now when nil. Tick and Enqueue take the
	// time as a parameter instead.
	Now func() time.Time
}

func (c *Config) defaults() error {
	if c.Path == "" {
		return errors.New("outbox: missing path")
	}
	if len(c.Notifiers) == 0 {
		return errors.New("outbox: no notifiers, want at least one receiver")
	}
	if c.Fallback != "" && c.Notifiers[c.Fallback] == nil {
		return fmt.Errorf("outbox: cannot use fallback receiver %q: no such receiver", c.Fallback)
	}
	for _, d := range []*time.Duration{&c.Deadline, &c.MinBackoff, &c.MaxBackoff, &c.AttemptTimeout, &c.PollInterval} {
		if *d < 0 {
			return fmt.Errorf("outbox: cannot use negative duration %s", *d)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Deadline, 15*time.Minute)
	def(&c.MinBackoff, time.Second)
	def(&c.MaxBackoff, 5*time.Minute)
	def(&c.AttemptTimeout, 30*time.Second)
	def(&c.PollInterval, time.Second)
	if c.MaxBackoff < c.MinBackoff {
		return fmt.Errorf("outbox: max backoff %s is below min backoff %s", c.MaxBackoff, c.MinBackoff)
	}
	if c.Rand == nil {
		seed := uint64(time.Now().UnixNano())
		c.Rand = rand.New(rand.NewPCG(seed, seed>>1|1))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Outbox is the durable queue of notifications. Its methods are safe for
// concurrent use, but only one Run or Tick should deliver at a time.
type Outbox struct {
	cfg     Config
	db      *store.DB
	wake    chan struct{}
	randMu  sync.Mutex
	pending atomic.Int64
}

// Open opens (creating if needed) the outbox in cfg.Path and counts what
// is still pending from an earlier run.
func Open(ctx context.Context, cfg Config) (*Outbox, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	db, err := store.OpenDB(ctx, cfg.Path, migrations, "migrations", MigrationsTable)
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", cfg.Path, err)
	}
	o := &Outbox{cfg: cfg, db: db, wake: make(chan struct{}, 1)}
	var n int64
	if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM alerting_notifications WHERE status = ?`, StatusPending).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: count pending: %w", cfg.Path, err)
	}
	o.pending.Store(n)
	if s := cfg.Metrics; s != nil {
		s.GetOrCreateGauge("slogate_notifications_pending", func() float64 { return float64(o.pending.Load()) })
	}
	return o, nil
}

// Close closes the database.
func (o *Outbox) Close() error { return o.db.Close() }

// Enqueue stores m for receiver, due at once, and returns its ID. The
// notification is on disk when Enqueue returns.
func (o *Outbox) Enqueue(ctx context.Context, receiver string, m *notify.Message, now time.Time) (int64, error) {
	if o.cfg.Notifiers[receiver] == nil {
		return 0, fmt.Errorf("enqueue for %q: no such receiver", receiver)
	}
	if err := m.Validate(); err != nil {
		return 0, fmt.Errorf("enqueue for %q: %w", receiver, err)
	}
	id, err := o.insert(ctx, o.db.Write, receiver, m, 0, now)
	if err != nil {
		return 0, fmt.Errorf("enqueue for %q: %w", receiver, err)
	}
	o.pending.Add(1)
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return id, nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (o *Outbox) insert(ctx context.Context, db execer, receiver string, m *notify.Message, fallbackOf int64, now time.Time) (int64, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("encode message: %w", err)
	}
	var of any
	if fallbackOf != 0 {
		of = fallbackOf
	}
	ms := now.UnixMilli()
	res, err := db.ExecContext(ctx, `INSERT INTO alerting_notifications
		(receiver, dedup_key, kind, message, status, created_at, updated_at, next_attempt_at, deadline_at, fallback_of)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		receiver, m.DedupKey, m.Kind, body, StatusPending, ms, ms, ms, now.Add(o.cfg.Deadline).UnixMilli(), of)
	if err != nil {
		return 0, fmt.Errorf("insert: %w", err)
	}
	return res.LastInsertId()
}

// Run delivers due notifications until ctx ends, looking again every
// PollInterval or as soon as Enqueue adds one. It returns ctx's error.
func (o *Outbox) Run(ctx context.Context) error {
	for {
		next, err := o.Tick(ctx, o.cfg.Now())
		if err != nil && ctx.Err() == nil {
			o.cfg.Logger.Error("deliver notifications", "err", err)
		}
		wait := o.cfg.PollInterval
		if !next.IsZero() {
			wait = min(wait, max(0, next.Sub(o.cfg.Now())))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-o.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Tick makes one attempt at every notification due at now, oldest first,
// and records each outcome. It returns when the next pending notification
// is due, zero if none is.
func (o *Outbox) Tick(ctx context.Context, now time.Time) (next time.Time, err error) {
	due, err := o.due(ctx, now)
	if err != nil {
		return time.Time{}, err
	}
	for _, n := range due {
		if err := o.attempt(ctx, n, now); err != nil {
			return time.Time{}, err
		}
	}
	var ms sql.NullInt64
	if err := o.db.Read.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM alerting_notifications WHERE status = ?`,
		StatusPending).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("find next due notification: %w", err)
	}
	if !ms.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(ms.Int64), nil
}

func (o *Outbox) due(ctx context.Context, now time.Time) ([]Notification, error) {
	return o.query(ctx, `WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id`, StatusPending, now.UnixMilli())
}

// attempt delivers n once and records the outcome.
func (o *Outbox) attempt(ctx context.Context, n Notification, now time.Time) error {
	log := o.cfg.Logger.With("id", n.ID, "receiver", n.Receiver, "dedup_key", n.DedupKey, "attempt", n.Attempts+1)
	retry, err := o.deliver(ctx, n)
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: not the receiver's fault, try again after restart
	}
	n.Attempts++
	n.UpdatedAt = now
	// A receiver that asks to be left alone past the deadline is not
	// tried again at the deadline against its will when there is a
	// fallback: the notification goes there now rather than then. Without
	// one, a last attempt at the deadline is all there is.
	retryAfter := time.Duration(0)
	if err != nil {
		retryAfter = notify.RetryAfterOf(err)
	}
	canFallBack := o.cfg.Fallback != "" && n.FallbackOf == 0 && n.Receiver != o.cfg.Fallback
	waitsPast := retry && canFallBack && now.Add(retryAfter).After(n.Deadline)
	switch {
	case err == nil:
		n.Status, n.LastError = StatusSent, ""
		log.Info("notification sent")
	case retry && now.Before(n.Deadline) && !waitsPast:
		n.LastError = err.Error()
		n.NextAttemptAt = o.backoff(n, now, retryAfter)
		log.Warn("notification not delivered, will retry", "err", err, "next_attempt_at", n.NextAttemptAt)
	default:
		n.LastError = err.Error()
		switch {
		case !retry:
			n.LastError = "refused: " + n.LastError
		case now.Before(n.Deadline):
			n.LastError = fmt.Sprintf("asked to retry after %s, past the deadline: %s", retryAfter, n.LastError)
		default:
			n.LastError = "deadline passed: " + n.LastError
		}
		n.Status = StatusFailed
		if canFallBack {
			n.Status = StatusFallback
		}
		log.Error("notification given up", "err", err, "status", n.Status)
	}
	if err := o.record(ctx, n, now); err != nil {
		return err
	}
	switch n.Status {
	case StatusSent:
		o.pending.Add(-1)
		o.count("slogate_notifications_sent_total", n.Receiver)
	case StatusFailed, StatusFallback:
		o.pending.Add(-1)
		o.count("slogate_notifications_failed_total", n.Receiver)
	}
	return nil
}

func (o *Outbox) deliver(ctx context.Context, n Notification) (retry bool, err error) {
	notifier := o.cfg.Notifiers[n.Receiver]
	if notifier == nil {
		return false, fmt.Errorf("no receiver %q configured", n.Receiver)
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.AttemptTimeout)
	defer cancel()
	return notifier.Notify(ctx, n.Message)
}

// backoff returns when to try n again after its n.Attempts-th failure:
// MinBackoff doubled per earlier failure, capped at MaxBackoff, the upper
// half drawn at random so that receivers coming back are not hit by every
// sender at once; never sooner than the receiver's Retry-After (which the
// caller knows ends before the deadline), and never after the deadline, so
// that one last attempt is made there.
func (o *Outbox) backoff(n Notification, now time.Time, retryAfter time.Duration) time.Time {
	d := o.cfg.MaxBackoff
	if shift := n.Attempts - 1; shift < 32 {
		d = min(d, o.cfg.MinBackoff<<shift)
	}
	o.randMu.Lock()
	d = d/2 + time.Duration(o.cfg.Rand.Int64N(int64(d/2)+1))
	o.randMu.Unlock()
	d = max(d, retryAfter)
	next := now.Add(d)
	if next.After(n.Deadline) {
		next = n.Deadline
	}
	return next
}

// record stores n's new state, its attempt and, if it falls back, the
// fallback's copy, in one transaction.
func (o *Outbox) record(ctx context.Context, n Notification, now time.Time) error {
	err := store.InTx(ctx, o.db.Write, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE alerting_notifications
			SET status = ?, attempts = ?, last_error = ?, updated_at = ?, next_attempt_at = ? WHERE id = ?`,
			n.Status, n.Attempts, n.LastError, now.UnixMilli(), n.NextAttemptAt.UnixMilli(), n.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alerting_attempts (notification_id, attempt, at, error) VALUES (?, ?, ?, ?)`,
			n.ID, n.Attempts, now.UnixMilli(), n.LastError); err != nil {
			return err
		}
		if n.Status == StatusFallback {
			if _, err := o.insert(ctx, tx, o.cfg.Fallback, n.Message, n.ID, now); err != nil {
				return fmt.Errorf("hand over to fallback %q: %w", o.cfg.Fallback, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record attempt %d of notification %d: %w", n.Attempts, n.ID, err)
	}
	if n.Status == StatusFallback {
		o.pending.Add(1)
	}
	return nil
}

func (o *Outbox) count(name, receiver string) {
	if o.cfg.Metrics != nil {
		o.cfg.Metrics.GetOrCreateCounter(fmt.Sprintf("%s{receiver=%q}", name, receiver)).Inc()
	}
}

// Notification is one stored notification to one receiver, as listed by
// GET /api/v1/notifications.
type Notification struct {
	ID            int64           `json:"id"`
	Receiver      string          `json:"receiver"`
	DedupKey      string          `json:"dedup_key"`
	Kind          notify.Kind     `json:"kind"`
	Status        Status          `json:"status"`
	Attempts      int             `json:"attempts"`
	LastError     string          `json:"last_error,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
	NextAttemptAt time.Time       `json:"next_attempt_at"`
	Deadline      time.Time       `json:"deadline"`
	FallbackOf    int64           `json:"fallback_of,omitempty"`
	Message       *notify.Message `json:"message"`
}

// Filter selects notifications for List. Zero fields select everything.
type Filter struct {
	Receiver string
	DedupKey string
	Status   Status
	// BeforeID pages backwards: only IDs below it.
	BeforeID int64
	// Limit caps the result; 100 when zero.
	Limit int
}

// List returns the notifications f selects, newest first.
func (o *Outbox) List(ctx context.Context, f Filter) ([]Notification, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Receiver != "" {
		add("receiver = ?", f.Receiver)
	}
	if f.DedupKey != "" {
		add("dedup_key = ?", f.DedupKey)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	ns, err := o.query(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return ns, nil
}

// Attempt is one delivery attempt of a notification.
type Attempt struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	// Error is empty for the attempt that delivered it.
	Error string `json:"error,omitempty"`
}

// Attempts returns every attempt made at notification id, first first.
func (o *Outbox) Attempts(ctx context.Context, id int64) ([]Attempt, error) {
	rows, err := o.db.Read.QueryContext(ctx, `SELECT attempt, at, error FROM alerting_attempts
		WHERE notification_id = ? ORDER BY attempt`, id)
	if err != nil {
		return nil, fmt.Errorf("list attempts of notification %d: %w", id, err)
	}
	defer rows.Close()
	var as []Attempt
	for rows.Next() {
		var a Attempt
		var at int64
		if err := rows.Scan(&a.Attempt, &at, &a.Error); err != nil {
			return nil, fmt.Errorf("list attempts of notification %d: %w", id, err)
		}
		a.At = time.UnixMilli(at).UTC()
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attempts of notification %d: %w", id, err)
	}
	return as, nil
}

func (o *Outbox) query(ctx context.Context, rest string, args ...any) ([]Notification, error) {
	rows, err := o.db.Read.QueryContext(ctx, `SELECT id, receiver, dedup_key, kind, status, attempts, last_error,
		created_at, updated_at, next_attempt_at, deadline_at, coalesce(fallback_of, 0), message
		FROM alerting_notifications `+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ns []Notification
	for rows.Next() {
		var n Notification
		var created, updated, next, deadline int64
		var body []byte
		if err := rows.Scan(&n.ID, &n.Receiver, &n.DedupKey, &n.Kind, &n.Status, &n.Attempts, &n.LastError,
			&created, &updated, &next, &deadline, &n.FallbackOf, &body); err != nil {
			return nil, err
		}
		n.CreatedAt, n.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		n.NextAttemptAt, n.Deadline = time.UnixMilli(next).UTC(), time.UnixMilli(deadline).UTC()
		n.Message = new(notify.Message)
		if err := json.Unmarshal(body, n.Message); err != nil {
			return nil, fmt.Errorf("decode notification %d: %w", n.ID, err)
		}
		ns = append(ns, n)
	}
	return ns, rows.Err()
}
