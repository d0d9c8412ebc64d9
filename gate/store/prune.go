package store

import (
	"context"
	"fmt"
	"time"

	bstore "github.com/slogate/slogate/budget/store"
)

// Prune deletes, in one transaction, the deploys that started before
// before and the decision changes made before before, and returns how
// many rows it deleted. It keeps the latest deploy of each service and
// environment, which the gate and the UI show however old it is, and the
// latest decision change of each service, from which the gate resumes
// (see LastDecisions); "latest" is as Deploys and DecisionHistory order
// them. A degraded deploy older than before stops being its service's
// suspect (see LatestDegraded) unless it is also the latest. The audit
// log and the overrides are kept for good: they are the audit trail.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	cut := ms(before)
	n, err := bstore.ExecAll(ctx, s.write,
		bstore.Stmt{Query: `DELETE FROM gate_deploys WHERE started_at < ? AND EXISTS (SELECT 1 FROM gate_deploys l
			WHERE l.service = gate_deploys.service AND l.env = gate_deploys.env
			AND (l.started_at > gate_deploys.started_at
				OR l.started_at = gate_deploys.started_at AND l.id > gate_deploys.id))`, Args: []any{cut}},
		bstore.Stmt{Query: `DELETE FROM gate_decisions WHERE at < ? AND EXISTS (SELECT 1 FROM gate_decisions l
			WHERE l.service = gate_decisions.service
			AND (l.at > gate_decisions.at OR l.at = gate_decisions.at AND l.id > gate_decisions.id))`, Args: []any{cut}})
	if err != nil {
		return 0, fmt.Errorf("prune deploys and decision changes before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}
