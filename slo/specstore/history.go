package specstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slogate/slogate/budget/store"
)

// Actions a Change can record.
const (
	Created = "created"
	Changed = "changed"
	Removed = "removed"
)

// Version is one service's spec as slogate runs it, and where it came
// from.
type Version struct {
	// Service is the service's name.
	Service string `json:"service"`
	// Spec is the spec as slogate runs it, in YAML.
	Spec string `json:"spec"`
	// Source is "file" or "api".
	Source string `json:"source"`
	// File is the spec file, or the API's pseudo file such as
	// "api:checkout".
	File string `json:"file"`
	// Notes say what the change does beyond its diff, such as an SLO
	// starting a new history because its SLI changed.
	Notes []string `json:"notes,omitempty"`
}

// Origin says who applied a set of changes, when and how.
type Origin struct {
	At time.Time `json:"at"`
	// By is who asked: a token's name, or what noticed a file change.
	By string `json:"by"`
	// Via is how the change came: start, watch, signal, http or api.
	Via string `json:"via"`
	// Remote is the client's address, for changes made over HTTP.
	Remote string `json:"remote,omitempty"`
}

// Change is one applied change of one service's spec.
type Change struct {
	ID int64 `json:"id"`
	// Action is Created, Changed or Removed.
	Action string `json:"action"`
	Version
	Origin
	// Diff is the unified diff from the previous version.
	Diff string `json:"diff"`
}

// Record compares versions, the services as slogate now runs them, with
// the last recorded version of each and records what changed, in one
// transaction: a service that is new or whose spec differs, and a
// recorded service that is gone. A version whose spec is the same is
// recorded only when it has notes. Record returns the changes recorded,
// by service name.
func (s *Store) Record(ctx context.Context, versions []Version, o Origin) (changes []Change, err error) {
	err = store.InTx(ctx, s.db.Write, func(tx *sql.Tx) error {
		last, err := latest(ctx, tx)
		if err != nil {
			return err
		}
		changes = changesSince(last, versions, o)
		for i, c := range changes {
			res, err := tx.ExecContext(ctx, `INSERT INTO slo_spec_history
				(service, at, action, by, via, source, file, remote, spec, diff, notes)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.Service, c.At.UnixMilli(), c.Action, c.By, c.Via, c.Source, c.File, c.Remote, c.Spec, c.Diff,
				strings.Join(c.Notes, "\n"))
			if err == nil {
				changes[i].ID, err = res.LastInsertId()
			}
			if err != nil {
				return fmt.Errorf("%s: %w", c.Service, err)
			}
			changes[i].At = time.UnixMilli(c.At.UnixMilli()).UTC()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record spec history: %w", err)
	}
	return changes, nil
}

// changesSince returns what versions change from last, each service's
// last recorded change, by service name.
func changesSince(last map[string]Change, versions []Version, o Origin) []Change {
	var changes []Change
	running := map[string]bool{}
	for _, v := range versions {
		running[v.Service] = true
		prev, known := last[v.Service]
		c := Change{Action: Changed, Version: v, Origin: o}
		switch {
		case !known || prev.Action == Removed:
			c.Action = Created
		case prev.Spec == v.Spec && len(v.Notes) == 0:
			continue
		}
		c.Diff = Diff(prevName(prev, known), v.Service+" ("+v.File+")", prev.Spec, v.Spec)
		changes = append(changes, c)
	}
	for name, prev := range last {
		if !running[name] && prev.Action != Removed {
			changes = append(changes, Change{Action: Removed, Version: Version{Service: name, Source: prev.Source, File: prev.File},
				Origin: o, Diff: Diff(prevName(prev, true), "/dev/null", prev.Spec, "")})
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Service, b.Service) })
	return changes
}

func prevName(prev Change, known bool) string {
	if !known || prev.Action == Removed {
		return "/dev/null"
	}
	return prev.Service + " (" + prev.File + ")"
}

// latest returns each service's last recorded change.
func latest(ctx context.Context, tx *sql.Tx) (map[string]Change, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+changeColumns+` FROM slo_spec_history
		WHERE id IN (SELECT max(id) FROM slo_spec_history GROUP BY service)`)
	if err != nil {
		return nil, err
	}
	list, err := scanChanges(rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Change, len(list))
	for _, c := range list {
		out[c.Service] = c
	}
	return out, nil
}

// History returns the service's recorded changes, newest first, at most
// limit of them (all when limit is 0), and only those older than the
// change before (all when before is 0).
func (s *Store) History(ctx context.Context, service string, limit int, before int64) ([]Change, error) {
	q := `SELECT ` + changeColumns + ` FROM slo_spec_history WHERE service = ?`
	args := []any{service}
	if before > 0 {
		q += ` AND id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY id DESC`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("spec history of %s: %w", service, err)
	}
	list, err := scanChanges(rows)
	if err != nil {
		return nil, fmt.Errorf("spec history of %s: %w", service, err)
	}
	return list, nil
}

const changeColumns = `id, service, at, action, by, via, source, file, remote, spec, diff, notes`

func scanChanges(rows *sql.Rows) ([]Change, error) {
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var at int64
		var notes string
		if err := rows.Scan(&c.ID, &c.Service, &at, &c.Action, &c.By, &c.Via, &c.Source, &c.File, &c.Remote,
			&c.Spec, &c.Diff, &notes); err != nil {
			return nil, err
		}
		c.At = time.UnixMilli(at).UTC()
		if notes != "" {
			c.Notes = strings.Split(notes, "\n")
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
