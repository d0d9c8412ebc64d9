package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrations are applied in the order of their file names, which start
// with their version number; each is applied once, in a transaction that
// also records it in gate_schema_migrations. The budget store keeps its own
// schema_migrations in the same file, so the two never see each other's
// versions.
//
//go:embed migrations/*.sql
var migrations embed.FS

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS gate_schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	seen := map[int]string{}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migrate: cannot read version of %s: %w", base, err)
		}
		if other, ok := seen[version]; ok {
			return fmt.Errorf("migrate: cannot apply %s: version %d is also %s", base, version, other)
		}
		seen[version] = base
		if err := apply(ctx, db, version, name); err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
	}
	return nil
}

// apply runs one migration unless it was applied already. db begins its
// transactions with BEGIN IMMEDIATE, so two processes opening a new file
// at once take turns rather than both applying it.
func apply(ctx context.Context, db *sql.DB, version int, name string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM gate_schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gate_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		version, strings.TrimPrefix(name, "migrations/"), time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}
