package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// DecisionChange is a change of a service's gate decision.
type DecisionChange struct {
	// ID is assigned by the store.
	ID int64 `json:"id"`
	// Service is the service whose decision changed; it is required.
	Service string `json:"service"`
	// At is when the decision changed; it is required.
	At time.Time `json:"at"`
	// From is the decision before, To the decision after; To is required.
	From string `json:"from"`
	To   string `json:"to"`
	// Reasons say why the decision is To, one sentence each. A nil slice
	// comes back empty.
	Reasons []string `json:"reasons"`
}

// AddDecisionChange records c. It is durable when AddDecisionChange
// returns. It is not audited: the gate, not a user, makes the change.
func (s *Store) AddDecisionChange(ctx context.Context, c DecisionChange) error {
	switch {
	case c.Service == "":
		return fmt.Errorf("add decision change: %w", invalidf("decision change has no service"))
	case c.To == "":
		return fmt.Errorf("add decision change of %s: %w", c.Service, invalidf("decision change has no new decision"))
	case c.At.IsZero():
		return fmt.Errorf("add decision change of %s: %w", c.Service, invalidf("decision change has no time"))
	}
	if c.Reasons == nil {
		c.Reasons = []string{}
	}
	reasons, err := json.Marshal(c.Reasons)
	if err != nil {
		return fmt.Errorf("add decision change of %s: %w", c.Service, err)
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO gate_decisions (service, at, from_decision, to_decision, reasons)
		VALUES (?, ?, ?, ?, ?)`, c.Service, ms(c.At), c.From, c.To, string(reasons)); err != nil {
		return fmt.Errorf("add decision change of %s: %w", c.Service, err)
	}
	return nil
}

// DecisionHistory returns the decision changes of a service, the latest
// first: at most n of them (DefaultLimit if n is 0, at most MaxLimit).
func (s *Store) DecisionHistory(ctx context.Context, service string, n int) ([]DecisionChange, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, service, at, from_decision, to_decision, reasons
		FROM gate_decisions WHERE service = ? ORDER BY at DESC, id DESC LIMIT ?`, service, limit(n))
	if err != nil {
		return nil, fmt.Errorf("decision history of %s: %w", service, err)
	}
	defer rows.Close()
	var out []DecisionChange
	for rows.Next() {
		var (
			c       DecisionChange
			at      int64
			reasons []byte
		)
		if err := rows.Scan(&c.ID, &c.Service, &at, &c.From, &c.To, &reasons); err != nil {
			return nil, fmt.Errorf("decision history of %s: %w", service, err)
		}
		if err := json.Unmarshal(reasons, &c.Reasons); err != nil {
			return nil, fmt.Errorf("decision history of %s: reasons of change %d: %w", service, c.ID, err)
		}
		c.At = fromMs(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("decision history of %s: %w", service, err)
	}
	return out, nil
}

// LastDecisions returns each service's latest decision, the To of its
// latest change, so that the gate can resume after a restart without
// recording a change that did not happen. "Latest" is as DecisionHistory
// orders changes.
func (s *Store) LastDecisions(ctx context.Context) (map[string]string, error) {
	// One index lookup per service, rather than a sort of every change.
	rows, err := s.read.QueryContext(ctx, `SELECT s.service, (SELECT to_decision FROM gate_decisions
			WHERE service = s.service ORDER BY at DESC, id DESC LIMIT 1)
		FROM (SELECT DISTINCT service FROM gate_decisions) s`)
	if err != nil {
		return nil, fmt.Errorf("last decisions: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var service, to string
		if err := rows.Scan(&service, &to); err != nil {
			return nil, fmt.Errorf("last decisions: %w", err)
		}
		out[service] = to
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("last decisions: %w", err)
	}
	return out, nil
}
