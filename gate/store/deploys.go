package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ClassDegraded is the impact class of a deploy that made its service's
// SLIs worse; the latest such deploy is the service's suspect deploy.
const ClassDegraded = "degraded"

// Deploy is a deploy that a pipeline recorded, with its impact once known.
type Deploy struct {
	// ID is assigned by the store.
	ID int64 `json:"id"`
	// Service is the service deployed; it is required.
	Service string `json:"service"`
	// Env is the environment deployed to.
	Env string `json:"env,omitempty"`
	// Version, Commit, Author, Message, Status and URL describe the
	// deploy as the pipeline saw it; the store keeps them as given.
	Version string `json:"version,omitempty"`
	Commit  string `json:"commit,omitempty"`
	Author  string `json:"author,omitempty"`
	Message string `json:"message,omitempty"`
	Status  string `json:"status,omitempty"`
	URL     string `json:"url,omitempty"`
	// StartedAt is when the deploy started; it is required.
	StartedAt time.Time `json:"started_at"`
	// FinishedAt is when it finished, if it did.
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// CreatedAt is when it was recorded; it is required.
	CreatedAt time.Time `json:"created_at"`
	// ImpactClass is the class of Impact, such as "improved", "neutral"
	// or ClassDegraded, or empty while the impact is unknown.
	ImpactClass string `json:"impact_class,omitempty"`
	// Impact is the impact job's judgement, as JSON, once it is known.
	Impact json.RawMessage `json:"impact,omitempty"`
	// ImpactAt is when the impact was judged.
	ImpactAt *time.Time `json:"impact_at,omitempty"`
}

const deployColumns = `id, service, env, version, commit_sha, author, message, status, url,
	started_at, finished_at, created_at, impact_class, impact, impact_at`

func scanDeploy(sc scanner) (Deploy, error) {
	var (
		d                  Deploy
		started, created   int64
		finished, impactAt sql.NullInt64
		class              sql.NullString
	)
	err := sc.Scan(&d.ID, &d.Service, &d.Env, &d.Version, &d.Commit, &d.Author, &d.Message, &d.Status, &d.URL,
		&started, &finished, &created, &class, (*[]byte)(&d.Impact), &impactAt)
	if err != nil {
		return Deploy{}, err
	}
	d.StartedAt, d.FinishedAt, d.CreatedAt = fromMs(started), fromNullMs(finished), fromMs(created)
	d.ImpactClass, d.ImpactAt = class.String, fromNullMs(impactAt)
	return d, nil
}

// AddDeploy records d and its audit entry a in one transaction, and
// returns d as stored: with its ID, and its times in UTC truncated to the
// millisecond. The caller sets CreatedAt, normally to now. Impact fields
// are ignored: SetImpact sets them. The deploy is durable when AddDeploy
// returns.
func (s *Store) AddDeploy(ctx context.Context, d Deploy, a AuditEntry) (Deploy, error) {
	switch {
	case d.Service == "":
		return Deploy{}, fmt.Errorf("add deploy: %w", invalidf("deploy has no service"))
	case d.StartedAt.IsZero():
		return Deploy{}, fmt.Errorf("add deploy: %w", invalidf("deploy has no start time"))
	case d.CreatedAt.IsZero():
		return Deploy{}, fmt.Errorf("add deploy: %w", invalidf("deploy has no creation time"))
	}
	if err := checkAudit(a); err != nil {
		return Deploy{}, fmt.Errorf("add deploy: %w", err)
	}
	d.StartedAt, d.FinishedAt, d.CreatedAt = trunc(d.StartedAt), truncPtr(d.FinishedAt), trunc(d.CreatedAt)
	d.ImpactClass, d.Impact, d.ImpactAt = "", nil, nil
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO gate_deploys
			(service, env, version, commit_sha, author, message, status, url, started_at, finished_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			d.Service, d.Env, d.Version, d.Commit, d.Author, d.Message, d.Status, d.URL,
			ms(d.StartedAt), nullMs(d.FinishedAt), ms(d.CreatedAt)).Scan(&d.ID)
		if err != nil {
			return err
		}
		return writeAudit(ctx, tx, a, "deploy.create", d.Service, "deploy/"+strconv.FormatInt(d.ID, 10), d.CreatedAt, d)
	})
	if err != nil {
		return Deploy{}, fmt.Errorf("add deploy of %s: %w", d.Service, err)
	}
	return d, nil
}

// Deploy returns the deploy with the given id, or ErrNotFound.
func (s *Store) Deploy(ctx context.Context, id int64) (Deploy, error) {
	d, err := scanDeploy(s.read.QueryRowContext(ctx, `SELECT `+deployColumns+` FROM gate_deploys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Deploy{}, fmt.Errorf("deploy %d: %w", id, err)
	}
	return d, nil
}

// DeployFilter selects deploys. Zero fields select everything.
type DeployFilter struct {
	// Service keeps the deploys of one service.
	Service string
	// Env keeps the deploys to one environment.
	Env string
	// Author keeps the deploys whose author contains it, ignoring case.
	// Case is folded as SQLite's LIKE folds it: for ASCII letters only, so
	// "élodie" does not find "Élodie".
	Author string
	// Since keeps the deploys started at or after it.
	Since time.Time
	// Limit is the most deploys returned: DefaultLimit if 0, at most
	// MaxLimit.
	Limit int
}

// Deploys returns the deploys f selects, the latest started first.
func (s *Store) Deploys(ctx context.Context, f DeployFilter) ([]Deploy, error) {
	var (
		where []string
		args  []any
	)
	if f.Service != "" {
		where, args = append(where, "service = ?"), append(args, f.Service)
	}
	if f.Env != "" {
		where, args = append(where, "env = ?"), append(args, f.Env)
	}
	if f.Author != "" {
		where, args = append(where, `author LIKE ? ESCAPE '\'`), append(args, "%"+likeEscaper.Replace(f.Author)+"%")
	}
	if !f.Since.IsZero() {
		where, args = append(where, "started_at >= ?"), append(args, ms(f.Since))
	}
	q := `SELECT ` + deployColumns + ` FROM gate_deploys` + and(where) + ` ORDER BY started_at DESC, id DESC LIMIT ?`
	ds, err := s.deploys(ctx, q, append(args, limit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list deploys: %w", err)
	}
	return ds, nil
}

// likeEscaper makes a string match itself in a LIKE pattern with ESCAPE
// '\': its %, _ and \ are literal.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// PendingImpact returns the deploys whose impact is not known yet and
// that finished (or, if they have no finish time, started) at or before
// finishedBefore: those whose window after the deploy has passed. The
// oldest come first, at most n of them (DefaultLimit if n is 0, at most
// MaxLimit).
func (s *Store) PendingImpact(ctx context.Context, finishedBefore time.Time, n int) ([]Deploy, error) {
	// The expressions match those of the partial index gate_deploys_pending.
	ds, err := s.deploys(ctx, `SELECT `+deployColumns+` FROM gate_deploys
		WHERE impact IS NULL AND coalesce(finished_at, started_at) <= ?
		ORDER BY coalesce(finished_at, started_at), id LIMIT ?`, ms(finishedBefore), limit(n))
	if err != nil {
		return nil, fmt.Errorf("list deploys pending impact: %w", err)
	}
	return ds, nil
}

// SetImpact records the impact of deploy id, judged at at: impact is JSON
// and class its classification (e.g. ClassDegraded). Setting it again
// replaces it. It returns ErrNotFound if there is no such deploy.
func (s *Store) SetImpact(ctx context.Context, id int64, class string, impact json.RawMessage, at time.Time) error {
	switch {
	case class == "":
		return fmt.Errorf("set impact of deploy %d: %w", id, invalidf("impact has no class"))
	case !json.Valid(impact):
		return fmt.Errorf("set impact of deploy %d: %w", id, invalidf("impact is not JSON: %.40q", impact))
	case at.IsZero():
		return fmt.Errorf("set impact of deploy %d: %w", id, invalidf("impact has no time"))
	}
	res, err := s.write.ExecContext(ctx, `UPDATE gate_deploys SET impact_class = ?, impact = ?, impact_at = ? WHERE id = ?`,
		class, string(impact), ms(at), id)
	if err != nil {
		return fmt.Errorf("set impact of deploy %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("set impact of deploy %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("set impact of deploy %d: %w", id, ErrNotFound)
	}
	return nil
}

// LatestDegraded returns the service's suspect deploy: the latest started
// of its deploys whose impact class is ClassDegraded. It returns
// ErrNotFound if there is none.
func (s *Store) LatestDegraded(ctx context.Context, service string) (Deploy, error) {
	// The class is a literal, not a parameter, so that SQLite can use the
	// partial index gate_deploys_degraded.
	d, err := scanDeploy(s.read.QueryRowContext(ctx, `SELECT `+deployColumns+` FROM gate_deploys
		WHERE service = ? AND impact_class = '`+ClassDegraded+`'
		ORDER BY started_at DESC, id DESC LIMIT 1`, service))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Deploy{}, fmt.Errorf("latest degraded deploy of %s: %w", service, err)
	}
	return d, nil
}

func (s *Store) deploys(ctx context.Context, q string, args ...any) ([]Deploy, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Deploy
	for rows.Next() {
		d, err := scanDeploy(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
