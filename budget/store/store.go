// Package store keeps slogate's minute buckets, as budget.Block values, and
// the checkpoints of its sources in one SQLite database in WAL mode. A Save
// is one transaction that is durable when it returns, so what a source
// acknowledged survives a crash; LoadBlocks restores the buckets at start.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	_ "github.com/mattn/go-sqlite3" // registers the sqlite3 driver

	"github.com/slogate/slogate/budget"
)

// Store is a SQLite database of blocks and source states. It is safe for
// concurrent use: writes go through one connection, one at a time, while
// reads use a pool of their own and, thanks to WAL, never wait for writes.
type Store struct {
	write *sql.DB // a single connection: SQLite has one writer anyway
	read  *sql.DB

	mu  sync.Mutex       // guards ids
	ids map[string]int64 // SLO key to slos.id, for committed rows only
}

// BlockRecord is one block of one SLO's history.
type BlockRecord struct {
	// SLO is the SLO's key, "service/slo".
	SLO string
	// Block is one hour of the SLO's counts.
	Block budget.Block
}

// State is a source's checkpoint: small opaque bytes saved with the blocks
// that it accounts for.
type State struct {
	// Key names the checkpoint, e.g. a source and target.
	Key string
	// Data is the checkpoint, opaque to the store.
	Data []byte
}

// Open opens the database at path, creating it if needed, and migrates its
// schema (see OpenDB: WAL, synchronous=FULL, a commit is durable when Save
// returns).
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := OpenDB(ctx, path, migrations, "migrations", "schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{write: db.Write, read: db.Read, ids: map[string]int64{}}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Save upserts blocks and states in one transaction: either all are saved
// or none. It returns once they are durable.
func (s *Store) Save(ctx context.Context, blocks []BlockRecord, states []State) error {
	if len(blocks) == 0 && len(states) == 0 {
		return nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save: begin: %w", err)
	}
	defer tx.Rollback()
	created, err := s.saveBlocks(ctx, tx, blocks)
	if err != nil {
		return fmt.Errorf("save blocks: %w", err)
	}
	if err := saveStates(ctx, tx, states); err != nil {
		return fmt.Errorf("save states: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save: commit: %w", err)
	}
	if len(created) > 0 {
		s.mu.Lock()
		for k, id := range created {
			s.ids[k] = id
		}
		s.mu.Unlock()
	}
	return nil
}

// saveBlocks upserts blocks in tx and returns the ids of SLOs it had to
// look up or create, to be cached once tx commits.
func (s *Store) saveBlocks(ctx context.Context, tx *sql.Tx, blocks []BlockRecord) (map[string]int64, error) {
	if len(blocks) == 0 {
		return nil, nil
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO blocks (slo_id, start, data) VALUES (?, ?, ?)
		ON CONFLICT (slo_id, start) DO UPDATE SET data = excluded.data`)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	var created map[string]int64
	for _, b := range blocks {
		s.mu.Lock()
		id, ok := s.ids[b.SLO]
		s.mu.Unlock()
		if !ok {
			if id, ok = created[b.SLO]; !ok {
				if b.SLO == "" {
					return nil, errors.New("cannot save a block without an SLO key")
				}
				err := tx.QueryRowContext(ctx, `INSERT INTO slos (key) VALUES (?)
					ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING id`, b.SLO).Scan(&id)
				if err != nil {
					return nil, fmt.Errorf("slo %s: %w", b.SLO, err)
				}
				if created == nil {
					created = map[string]int64{}
				}
				created[b.SLO] = id
			}
		}
		if _, err := ins.ExecContext(ctx, id, int64(b.Block.Start), b.Block.Data); err != nil {
			return nil, fmt.Errorf("%s at minute %d: %w", b.SLO, b.Block.Start, err)
		}
	}
	return created, nil
}

func saveStates(ctx context.Context, tx *sql.Tx, states []State) error {
	for _, st := range states {
		if _, err := tx.ExecContext(ctx, `INSERT INTO states (key, data) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET data = excluded.data`, st.Key, nonNil(st.Data)); err != nil {
			return fmt.Errorf("%s: %w", st.Key, err)
		}
	}
	return nil
}

// nonNil keeps an empty state from being stored as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// LoadBlocks calls fn with every block starting at or after since, SLO by
// SLO and oldest first within an SLO, streaming them from the database.
// Archived histories (see SetSLIs) are left out. It stops at the first
// error fn returns and returns it.
func (s *Store) LoadBlocks(ctx context.Context, since budget.Minute, fn func(BlockRecord) error) error {
	// One query, so that blocks and their SLOs' keys come from the same
	// snapshot even while Saves create SLOs.
	rows, err := s.read.QueryContext(ctx, `SELECT s.key, b.start, b.data FROM blocks b
		JOIN slos s ON s.id = b.slo_id WHERE b.start >= ? AND s.archived = 0 ORDER BY b.slo_id, b.start`, int64(since))
	if err != nil {
		return fmt.Errorf("load blocks: %w", err)
	}
	return scanBlocks(rows, fn)
}

// scanBlocks calls fn with each block of rows, which are key, start and
// data, and closes rows.
func scanBlocks(rows *sql.Rows, fn func(BlockRecord) error) error {
	defer rows.Close()
	keys := map[string]string{} // one string per SLO, not per block
	for rows.Next() {
		var (
			raw   sql.RawBytes
			start int64
			data  []byte
		)
		if err := rows.Scan(&raw, &start, &data); err != nil {
			return fmt.Errorf("load blocks: %w", err)
		}
		key, ok := keys[string(raw)]
		if !ok {
			key = string(raw)
			keys[key] = key
		}
		if err := fn(BlockRecord{SLO: key, Block: budget.Block{Start: budget.Minute(start), Data: data}}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load blocks: %w", err)
	}
	return nil
}

// LoadBlocksOf is LoadBlocks for the SLOs keys names only.
func (s *Store) LoadBlocksOf(ctx context.Context, since budget.Minute, keys []string, fn func(BlockRecord) error) error {
	// A few hundred keys a query, well below SQLite's limit on variables.
	for chunk := range slices.Chunk(keys, 500) {
		args := []any{int64(since)}
		for _, k := range chunk {
			args = append(args, k)
		}
		rows, err := s.read.QueryContext(ctx, `SELECT s.key, b.start, b.data FROM blocks b
			JOIN slos s ON s.id = b.slo_id WHERE b.start >= ? AND s.archived = 0
			AND s.key IN (?`+strings.Repeat(", ?", len(chunk)-1)+`) ORDER BY b.slo_id, b.start`, args...)
		if err != nil {
			return fmt.Errorf("load blocks: %w", err)
		}
		if err := scanBlocks(rows, fn); err != nil {
			return err
		}
	}
	return nil
}

// State returns the state saved under key, and false if there is none.
func (s *Store) State(ctx context.Context, key string) ([]byte, bool, error) {
	var data []byte
	err := s.read.QueryRowContext(ctx, `SELECT data FROM states WHERE key = ?`, key).Scan(&data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("load state %s: %w", key, err)
	}
	return data, true, nil
}

// DeleteBefore deletes the blocks that end at or before minute m, as
// budget.History.Trim does in memory, and returns how many it deleted. An
// archived history goes with its last block.
func (s *Store) DeleteBefore(ctx context.Context, m budget.Minute) (int64, error) {
	cut := int64(m) - mod(int64(m), 60)
	// Per SLO, so that each delete is a range of the primary key rather
	// than a scan of every block.
	res, err := s.write.ExecContext(ctx,
		`DELETE FROM blocks WHERE slo_id IN (SELECT id FROM slos) AND start < ?`, cut)
	if err != nil {
		return 0, fmt.Errorf("delete blocks before minute %d: %w", m, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete blocks before minute %d: %w", m, err)
	}
	if _, err := s.write.ExecContext(ctx, `DELETE FROM slos WHERE archived = 1
		AND NOT EXISTS (SELECT 1 FROM blocks WHERE slo_id = slos.id)`); err != nil {
		return n, fmt.Errorf("delete emptied archived histories: %w", err)
	}
	return n, nil
}

func mod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

// Stats describes what a Store holds.
type Stats struct {
	// SLOs, Blocks and States count rows.
	SLOs, Blocks, States int64
	// Bytes is the size of the database's pages, not counting the WAL.
	Bytes int64
}

// Stats counts what the store holds.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM slos), (SELECT count(*) FROM blocks), (SELECT count(*) FROM states),
		(SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())`).
		Scan(&st.SLOs, &st.Blocks, &st.States, &st.Bytes)
	if err != nil {
		return Stats{}, fmt.Errorf("store stats: %w", err)
	}
	return st, nil
}
