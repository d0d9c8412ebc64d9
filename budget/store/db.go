package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BusyTimeout is how long a write waits for another connection's write
// (the budget store and the gate store share one file) before failing
// with "database is locked".
const BusyTimeout = 10 * time.Second

// DB is slogate's SQLite file opened the way every store uses it: one
// writer connection whose transactions take the write lock at once
// (BEGIN IMMEDIATE, waiting up to BusyTimeout), and a pool of read-only
// connections that never wait for it.
type DB struct {
	Write, Read *sql.DB
}

// OpenDB opens the SQLite file at p, creating it if needed, in WAL mode with
// synchronous=FULL, so a commit is on disk when it returns and survives a
// power loss as well as a kill, at the cost of an fsync per commit. It
// checks that WAL mode really took and applies the migrations in fsys
// (files named <version>_<name>.sql under dir, in version order, each once)
// recorded in table.
func OpenDB(ctx context.Context, p string, fsys fs.FS, dir, table string) (*DB, error) {
	dsn := "file:" + (&url.URL{Path: p}).EscapedPath() +
		fmt.Sprintf("?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=%d&_foreign_keys=on", BusyTimeout.Milliseconds())
	write, err := sql.Open("sqlite3", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	var mode string
	if err := write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		write.Close()
		return nil, fmt.Errorf("read journal mode: %w", err)
	}
	if mode != "wal" {
		write.Close()
		return nil, fmt.Errorf("cannot use journal mode %q: want wal", mode)
	}
	if err := Migrate(ctx, write, fsys, dir, table); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite3", dsn+"&_query_only=on")
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	return &DB{Write: write, Read: read}, nil
}

// Close closes both pools.
func (d *DB) Close() error {
	err := d.Read.Close()
	if werr := d.Write.Close(); err == nil {
		err = werr
	}
	return err
}

// Migrate applies the migrations in fsys under dir that table does not
// record yet, each in a transaction that also records it. Two files with
// the same version are an error.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir, table string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	seen := map[int]string{}
	for _, name := range names {
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migrate: cannot read version of %s: %w", base, err)
		}
		if other, ok := seen[version]; ok {
			return fmt.Errorf("migrate: %s and %s share version %d", other, base, version)
		}
		seen[version] = base
		if err := apply(ctx, db, fsys, table, version, name); err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, fsys fs.FS, table string, version int, name string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (version, name, applied_at) VALUES (?, ?, ?)`,
		version, path.Base(name), time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

// Stmt is one SQL statement and its arguments.
type Stmt struct {
	Query string
	Args  []any
}

// InTx runs fn in a transaction on db, a DB's Write, and commits it if fn
// succeeds; otherwise nothing fn did stays.
func InTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ExecAll runs stmts in order in one transaction on db, a DB's Write, and
// returns how many rows they affected in all: the upkeep deletes of the
// stores that share the file.
func ExecAll(ctx context.Context, db *sql.DB, stmts ...Stmt) (n int64, err error) {
	err = InTx(ctx, db, func(tx *sql.Tx) error {
		for _, st := range stmts {
			res, err := tx.ExecContext(ctx, st.Query, st.Args...)
			if err != nil {
				return err
			}
			d, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += d
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
