package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// NewHistory is an SLO whose SLI changed, so that its history starts
// anew.
type NewHistory struct {
	// SLO is the SLO's key, "service/slo".
	SLO string
	// From and To are the fingerprints of the old and the new SLI.
	From, To string
	// ArchivedAs is the key the old history is kept under until its blocks
	// are older than the retention.
	ArchivedAs string
}

// SetSLIs records the fingerprint of each SLO's SLI, by SLO key, in one
// transaction. An SLO whose history was counted with another fingerprint
// starts a new, empty history: its old blocks are archived under a key no
// SLO has (they age out with DeleteBefore), and the states that drop
// returns for it are deleted, so that its sources count it afresh (a
// PromQL source backfills it with the new SLI). An SLO stored before
// fingerprints were kept takes its fingerprint and keeps its history.
// SetSLIs returns the SLOs that started a new history, in no particular
// order. at names the archive.
func (s *Store) SetSLIs(ctx context.Context, slis map[string]string, drop func(slo string) []string, at time.Time) ([]NewHistory, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("set SLIs: begin: %w", err)
	}
	defer tx.Rollback()
	var changed []NewHistory
	for key, fp := range slis {
		var id int64
		var old string
		err := tx.QueryRowContext(ctx, `SELECT id, sli FROM slos WHERE key = ?`, key).Scan(&id, &old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO slos (key, sli) VALUES (?, ?)`, key, fp)
		case err != nil:
		case old == "":
			_, err = tx.ExecContext(ctx, `UPDATE slos SET sli = ? WHERE id = ?`, fp, id)
		case old != fp:
			nh := NewHistory{SLO: key, From: old, To: fp,
				ArchivedAs: key + "@sli-" + old + "@" + strconv.FormatInt(at.UnixMilli(), 10)}
			err = archive(ctx, tx, id, nh, drop)
			changed = append(changed, nh)
		}
		if err != nil {
			return nil, fmt.Errorf("set SLI of %s: %w", key, err)
		}
	}
	// Held from the commit until the cache forgets the archived rows' ids:
	// a Save waiting for the connection then looks the new ones up.
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("set SLIs: commit: %w", err)
	}
	for _, nh := range changed {
		delete(s.ids, nh.SLO) // the key's row is a new one
	}
	return changed, nil
}

// archive renames the SLO's row to nh.ArchivedAs, starts a new row for its
// key and deletes its sources' states.
func archive(ctx context.Context, tx *sql.Tx, id int64, nh NewHistory, drop func(string) []string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE slos SET key = ?, archived = 1 WHERE id = ?`, nh.ArchivedAs, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO slos (key, sli) VALUES (?, ?)`, nh.SLO, nh.To); err != nil {
		return err
	}
	if drop == nil {
		return nil
	}
	for _, k := range drop(nh.SLO) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM states WHERE key = ?`, k); err != nil {
			return err
		}
	}
	return nil
}
