package store

import "embed"

// migrations are the gate's schema changes, applied by budget/store.OpenDB
// in the order of their version numbers and recorded in
// gate_schema_migrations.
//
//go:embed migrations/*.sql
var migrations embed.FS
