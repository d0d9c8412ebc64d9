package budget

import (
	"math/bits"
	"time"
)

// forecast returns when the budget of st, evaluated at now over the
// minutes [from, to), runs out at burn rate br; see Evaluate.
func (t *Tracker) forecast(now time.Time, st *Status, from, to Minute, br BurnRate) *Exhaustion {
	if st.NoData {
		return nil
	}
	x := &Exhaustion{At: now, BurnWindow: br.Window, BurnRate: br.Rate}
	if st.RemainingRatio <= 0 {
		return x
	}
	if br.NoData || br.Rate <= 0 {
		return nil
	}
	var span int64 // active minutes of the window
	horizon := to + Minute(t.slo.Win.Rolling/time.Minute)
	if t.slo.Win.IsCalendar() {
		start, next := t.slo.Win.PeriodAt(now, t.loc)
		horizon = MinuteOf(next)
		span = t.activeMinutes(MinuteOf(start), horizon)
	} else {
		span = t.activeMinutes(from, to)
	}
	if span == 0 {
		return nil
	}
	at, ok := t.walk(now, st.RemainingRatio*float64(span)/br.Rate, horizon)
	if !ok {
		return nil
	}
	x.At = at
	return x
}

// walk returns the time at which the active time since now reaches d
// minutes, and false when that is not before minute horizon.
func (t *Tracker) walk(now time.Time, d float64, horizon Minute) (time.Time, bool) {
	m := MinuteOf(now)
	// Active time cannot exceed wall time: this also keeps d's conversion
	// to a Duration from overflowing.
	if !(d <= float64(horizon-m)) {
		return time.Time{}, false
	}
	rem := time.Duration(d * float64(time.Minute))
	if t.always {
		if rem > horizon.Time().Sub(now) {
			return time.Time{}, false
		}
		return now.Add(rem), true
	}
	if m < horizon && t.active(m) {
		avail := (m + 1).Time().Sub(now)
		if rem <= avail {
			return now.Add(rem), true
		}
		rem -= avail
	}
	for m++; m < horizon; {
		b, off := blockOf(m)
		hi := blockMinutes
		if end := horizon - Minute(b*blockMinutes); end < blockMinutes {
			hi = int(end)
		}
		act := t.mask(b) & span(off, hi)
		if n := time.Duration(bits.OnesCount64(act)) * time.Minute; rem > n {
			rem -= n
			m = Minute((b + 1) * blockMinutes)
			continue
		}
		for ; act != 0; act &= act - 1 {
			if rem <= time.Minute {
				return Minute(b*blockMinutes + int64(bits.TrailingZeros64(act))).Time().Add(rem), true
			}
			rem -= time.Minute
		}
	}
	return time.Time{}, false
}
