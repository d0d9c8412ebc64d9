package store

import "embed"

// migrations are the budget store's schema changes, applied by OpenDB in
// the order of their version numbers and recorded in schema_migrations.
//
//go:embed migrations/*.sql
var migrations embed.FS
