// Package source owns where SLI events come from: the built-in scraper that
// reads Prometheus and OpenMetrics text from targets, the Prometheus source
// that reads raw counter samples from any PromQL HTTP API, and the push intake
// that accepts counts posted over HTTP. Every source turns what it reads into
// Increases (good and total events of one SLO in one UTC minute) and hands
// them to a Sink together with its resume state, so a restart neither loses
// nor double counts events. The package knows nothing about budgets.
package source

import (
	"context"
	"log/slog"
	"time"
)

// Increase is the number of events counted for one SLO in one UTC minute.
// A source may emit several Increases for the same SLO and minute (one per
// scrape or per query round); a Sink adds them up.
type Increase struct {
	// Service and SLO name the objective the events count for.
	Service, SLO string
	// Minute is the UTC minute the events happened in, minute-aligned.
	Minute time.Time
	// Good and Total are event counts; 0 <= Good <= Total.
	Good, Total float64
}

// Checkpoint is a source's resume state. A Sink stores it in the same
// transaction as the increases it accounts for.
type Checkpoint struct {
	// Key identifies the state, e.g. "scrape/<target>".
	Key string
	// Data is the opaque, source-specific encoding of the state.
	Data []byte
}

// Sink stores increases durably.
type Sink interface {
	// Record returns only after incs and cps are committed together, so a
	// crash never double counts nor loses events. Increases add to what is
	// already stored for the same SLO and minute.
	Record(ctx context.Context, incs []Increase, cps []Checkpoint) error
	// Checkpoint returns the data last recorded under key, and whether there
	// is any.
	Checkpoint(ctx context.Context, key string) ([]byte, bool, error)
}

// discardLogger returns l, or a logger that drops everything when l is nil.
func discardLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
