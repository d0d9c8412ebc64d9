// Package budget is slogate's budget engine: per-minute good and total
// counts of each SLO held compactly in memory, and the arithmetic over them
// that turns an SLO, its schedule and a time into budgets, burn rates and
// forecasts. It is pure: it reads no clock and does no I/O, so every number
// it returns is reproducible from its inputs. Persistence of the buckets
// lives in the store sub-package.
package budget

import (
	"math"
	"time"
)

// Minute is a UTC minute, counted in minutes since the Unix epoch.
type Minute int64

// MinuteOf returns the minute containing t (rounding down, also before
// 1970).
func MinuteOf(t time.Time) Minute {
	return Minute(floorDiv(t.Unix(), 60))
}

// Time returns the instant at which m starts, in UTC.
func (m Minute) Time() time.Time {
	return time.Unix(int64(m)*60, 0).UTC()
}

// Counts are the good and total events of one minute, or a sum over many.
// For timeslice SLOs, sums from a Tracker count minutes instead of events.
type Counts struct {
	// Good is the number of good events.
	Good float64 `json:"good"`
	// Total is the number of all events, good and bad.
	Total float64 `json:"total"`
}

// finite reports whether both counts are finite numbers.
func (c Counts) finite() bool {
	return !math.IsNaN(c.Good) && !math.IsInf(c.Good, 0) &&
		!math.IsNaN(c.Total) && !math.IsInf(c.Total, 0)
}

// present reports whether c holds any events, which is what makes a minute
// worth storing.
func (c Counts) present() bool { return c.Good != 0 || c.Total != 0 }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
