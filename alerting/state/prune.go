package state

import (
	"context"
	"fmt"
	"time"

	"github.com/slogate/slogate/budget/store"
)

// Prune deletes, in one transaction, the silences that ended before
// before (at their end, or when they were expired early) and the
// acknowledgements made before before, and returns how many rows it
// deleted. Silences in force or yet to start are never deleted; open
// incidents are not read here (the store keeps them without reading
// them). An alert still open, and so still acknowledged, when its
// acknowledgement is pruned would be paged again at the next repeat, but
// an alert open for the whole retention is pathological: it is someone's
// to fix, not to keep silent. Dedup keys name one incident each (they
// hold its start), so an acknowledgement never outlives its use otherwise.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	cut := ms(before)
	n, err := store.ExecAll(ctx, s.db.Write,
		// A silence ended at the earlier of ends_at and expired_at, which
		// is NULL unless it was expired early.
		store.Stmt{Query: `DELETE FROM alerting_silences WHERE ends_at < ? OR expired_at < ?`, Args: []any{cut, cut}},
		store.Stmt{Query: `DELETE FROM alerting_acks WHERE at < ?`, Args: []any{cut}})
	if err != nil {
		return 0, fmt.Errorf("prune silences and acknowledgements before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}
