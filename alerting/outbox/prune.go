package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/slogate/slogate/budget/store"
)

// Records is the outbox's stored notifications opened for upkeep only: it
// delivers nothing and needs no receivers, so that notifications stored
// under an earlier configuration can be pruned while the current one has
// no receivers, and so no Outbox. It is safe for concurrent use, with
// itself and with an Outbox on the same file.
type Records struct {
	db *store.DB
}

// OpenRecords opens (creating and migrating if needed) the outbox's tables
// in the SQLite file at path, which slogate's other stores share.
func OpenRecords(ctx context.Context, path string) (*Records, error) {
	db, err := store.OpenDB(ctx, path, migrations, "migrations", MigrationsTable)
	if err != nil {
		return nil, fmt.Errorf("open outbox records %s: %w", path, err)
	}
	return &Records{db: db}, nil
}

// Close closes the database.
func (r *Records) Close() error { return r.db.Close() }

// keptNotifications is the CTE naming the notifications Prune keeps, with
// the cutoff bound to its one parameter: the pending ones, those updated
// at or after the cutoff, and every notification one of those was a
// fallback of, transitively, so that no kept row's fallback_of points to
// a deleted one (foreign keys are enforced: budget/store.OpenDB turns
// them on).
const keptNotifications = `WITH RECURSIVE kept(id) AS (
	SELECT id FROM alerting_notifications WHERE status = '` + string(StatusPending) + `' OR updated_at >= ?
	UNION
	SELECT n.fallback_of FROM alerting_notifications n JOIN kept ON n.id = kept.id WHERE n.fallback_of IS NOT NULL
) `

// Prune deletes the notifications that are no longer pending (sent,
// failed or handed to the fallback) and were last updated before before,
// with their delivery attempts, in one transaction, and returns how many
// rows it deleted, attempts included. A pending notification is never
// deleted, however old, and neither is one that a kept notification is
// the fallback copy of: the original goes with its copy. A notification
// deleted while an Outbox is running is not one it still delivers.
func (r *Records) Prune(ctx context.Context, before time.Time) (int64, error) {
	cut := before.UnixMilli()
	// Attempts first: they refer to their notification.
	n, err := store.ExecAll(ctx, r.db.Write,
		store.Stmt{Query: keptNotifications + `DELETE FROM alerting_attempts WHERE notification_id NOT IN kept`, Args: []any{cut}},
		store.Stmt{Query: keptNotifications + `DELETE FROM alerting_notifications WHERE id NOT IN kept`, Args: []any{cut}})
	if err != nil {
		return 0, fmt.Errorf("prune notifications before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}
