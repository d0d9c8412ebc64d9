package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// SaveIncidents replaces the open incidents of service with state, the
// evaluator's own JSON, which the store keeps without reading. A nil or
// empty state means the service has none open, and deletes its row.
func (s *Store) SaveIncidents(ctx context.Context, service string, state []byte, now time.Time) error {
	switch {
	case service == "":
		return fmt.Errorf("save incidents: %w", invalid("service", "required"))
	case len(state) == 0:
		if _, err := s.db.Write.ExecContext(ctx, `DELETE FROM alerting_incidents WHERE service = ?`, service); err != nil {
			return fmt.Errorf("clear incidents of %s: %w", service, err)
		}
		return nil
	case !json.Valid(state):
		return fmt.Errorf("save incidents of %s: %w", service, invalid("state", "not JSON: %.40q", state))
	}
	if _, err := s.db.Write.ExecContext(ctx, `INSERT INTO alerting_incidents (service, state, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (service) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		service, string(state), ms(now)); err != nil {
		return fmt.Errorf("save incidents of %s: %w", service, err)
	}
	return nil
}

// LoadIncidents returns the state saved for every service that has open
// incidents, by service name.
func (s *Store) LoadIncidents(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT service, state FROM alerting_incidents`)
	if err != nil {
		return nil, fmt.Errorf("load incidents: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var service, state string
		if err := rows.Scan(&service, &state); err != nil {
			return nil, fmt.Errorf("load incidents: %w", err)
		}
		out[service] = []byte(state)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load incidents: %w", err)
	}
	return out, nil
}
