package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// counter is the last sample seen of one counter series.
type counter struct {
	v  float64
	ts int64 // milliseconds since the Unix epoch
	// seen is the scrape round in which the series was last present; the
	// Prometheus source leaves it zero.
	seen uint64
}

// counters turns successive samples of counter series into increases. Both
// the scraper and the Prometheus source use it, so they count exactly alike:
//
//   - the first sample of a series is a baseline and counts nothing, since
//     what happened before it is unknown;
//   - a later sample counts v - prev, or v when v < prev (a counter reset);
//   - samples older than the last one, NaN and infinities count nothing.
//
// Changes are journalled until commit, so that when storing the increases
// fails, rollback restores the state and the same events are counted again
// on the next attempt. A counters is not safe for concurrent use.
type counters struct {
	m    map[uint64]*counter
	undo []undoEntry
}

type undoEntry struct {
	key     uint64
	c       *counter
	old     counter
	created bool
}

func newCounters() *counters { return &counters{m: make(map[uint64]*counter)} }

// observe records sample (v, ts) of the series with the given key and
// returns the increase since the previous sample, and whether there was one.
func (cs *counters) observe(key uint64, v float64, ts int64, round uint64) (float64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	c, ok := cs.m[key]
	if !ok {
		c = &counter{v: v, ts: ts, seen: round}
		cs.m[key] = c
		cs.undo = append(cs.undo, undoEntry{key: key, c: c, created: true})
		return 0, false
	}
	if ts < c.ts {
		return 0, false
	}
	cs.undo = append(cs.undo, undoEntry{key: key, c: c, old: *c})
	inc := v - c.v
	if v < c.v {
		inc = v
	}
	c.v, c.ts, c.seen = v, ts, round
	return inc, true
}

// changed reports whether anything was observed since the last commit.
func (cs *counters) changed() bool { return len(cs.undo) > 0 }

// commit makes the changes since the last commit permanent.
func (cs *counters) commit() {
	clear(cs.undo)
	cs.undo = cs.undo[:0]
}

// rollback undoes the changes since the last commit.
func (cs *counters) rollback() {
	for i := len(cs.undo) - 1; i >= 0; i-- {
		u := cs.undo[i]
		if u.created {
			delete(cs.m, u.key)
			continue
		}
		*u.c = u.old
	}
	cs.commit()
}

// forgetRounds drops series last present before round min.
func (cs *counters) forgetRounds(min uint64) {
	for k, c := range cs.m {
		if c.seen < min {
			delete(cs.m, k)
		}
	}
}

// forgetBefore drops series whose last sample is older than ts.
func (cs *counters) forgetBefore(ts int64) {
	for k, c := range cs.m {
		if c.ts < ts {
			delete(cs.m, k)
		}
	}
}

// appendTo appends the binary encoding of the counters to b.
func (cs *counters) appendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(cs.m)))
	for k, c := range cs.m {
		b = binary.LittleEndian.AppendUint64(b, k)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.v))
		b = binary.AppendVarint(b, c.ts)
	}
	return b
}

var errShortCheckpoint = errors.New("truncated data")

// decodeCounters reads counters encoded by appendTo from b, marking them
// seen in the given round, and returns the rest of b.
func decodeCounters(b []byte, round uint64) (*counters, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b))/17 {
		return nil, nil, errShortCheckpoint
	}
	b = b[k:]
	cs := &counters{m: make(map[uint64]*counter, n)}
	for range n {
		if len(b) < 17 {
			return nil, nil, errShortCheckpoint
		}
		key := binary.LittleEndian.Uint64(b)
		v := math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
		ts, k := binary.Varint(b[16:])
		if k <= 0 {
			return nil, nil, errShortCheckpoint
		}
		b = b[16+k:]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("series %x: invalid value %v", key, v)
		}
		cs.m[key] = &counter{v: v, ts: ts, seen: round}
	}
	return cs, b, nil
}

// tally sums the increases of one SLO's selectors.
type tally struct {
	good, bad, total float64
}

// increase returns the Increase of an SLO for minute from t, and whether
// there is anything to record. With a bad selector, good is total minus bad.
// Good is clamped into [0, total], since selectors scraped at slightly
// different moments can disagree by a few events.
func (t tally) increase(service, slo string, hasBad bool, minute time.Time) (Increase, bool) {
	good := t.good
	if hasBad {
		good = t.total - t.bad
	}
	good = max(0, min(good, t.total))
	if t.total <= 0 && good <= 0 {
		return Increase{}, false
	}
	return Increase{Service: service, SLO: slo, Minute: minute, Good: good, Total: t.total}, true
}

// millis converts t to milliseconds since the Unix epoch.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis converts milliseconds since the Unix epoch to a UTC time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// minuteOf returns the UTC minute containing the millisecond timestamp ms.
func minuteOf(ms int64) time.Time { return fromMillis(ms - ms%60000) }
