package integration

import (
	"bytes"
	"fmt"
	"time"
)

// history is seven days of a service's requests, minute by minute, as its
// http_requests_total{code="200"|"500"} counters exposed them: less
// traffic at weekends, an error now and then, a four-hour outage failing
// a quarter of the requests on a weekday afternoon (15:00 to 19:00 in
// Berlin, half of it inside 09:00 to 17:00) and a restart that resets the
// counters. It knows what every minute held, so the test can say what the
// budgets over it must be without asking slogate's code.
type history struct {
	// first is the minute of the first sample, the counters' baseline: it
	// counts nothing, since what came before is unknown.
	first time.Time
	// minutes are the minutes after first, in order, up to the last sample.
	minutes []historyMinute
	// outage is [from, to) of the outage, reset the minute of the restart.
	outage [2]time.Time
	reset  time.Time
}

type historyMinute struct {
	at        time.Time // minute start, UTC
	good, bad int64
}

// sampleOffset is where in its minute each sample lies: away from the
// edges, so that no reader can put it in another minute.
const sampleOffset = 15 * time.Second

// makeHistory generates the seven days before now in loc's calendar.
// The last sample is three minutes old, well within what slogate's
// Prometheus source reads (it stays 30s behind now), and the first lies a
// quarter of an hour inside a 7d window ending now, so the whole history
// stays inside the window for the test's duration.
func makeHistory(now time.Time, loc *time.Location) *history {
	last := now.UTC().Truncate(time.Minute).Add(-3 * time.Minute)
	h := &history{first: last.Add(-7*24*time.Hour + 15*time.Minute)}

	// The outage: 15:00 to 19:00 local on the latest weekday it fits in.
	for day := last.In(loc); ; day = day.AddDate(0, 0, -1) {
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		from := time.Date(day.Year(), day.Month(), day.Day(), 15, 0, 0, 0, loc).UTC()
		to := time.Date(day.Year(), day.Month(), day.Day(), 19, 0, 0, 0, loc).UTC()
		if !from.Before(h.first.Add(time.Hour)) && !to.After(last.Add(-time.Hour)) {
			h.outage = [2]time.Time{from, to}
			break
		}
	}
	// The restart: some odd minute of a day, half a day away from the
	// outage. Seven days leave room for it on both sides.
	for d := 1; h.reset.IsZero(); d++ {
		r := h.first.Add(time.Duration(d)*24*time.Hour + 5*time.Hour + 7*time.Minute)
		if r.Before(h.outage[0].Add(-12*time.Hour)) || r.After(h.outage[1].Add(12*time.Hour)) {
			h.reset = r
		}
	}

	i := 0
	for at := h.first.Add(time.Minute); !at.After(last); at = at.Add(time.Minute) {
		i++
		var total, bad int64
		switch wd := at.In(loc).Weekday(); wd {
		case time.Saturday, time.Sunday:
			total = 25 + int64(i%7)
		default:
			total = 100 + int64(i%23)
		}
		switch {
		case !at.Before(h.outage[0]) && at.Before(h.outage[1]):
			bad = total / 4
		case at.Equal(h.reset):
			// The restarted process has served no errors yet, so the bad
			// counter too is below its value before the restart.
		case i%37 == 0:
			bad = 1
		}
		h.minutes = append(h.minutes, historyMinute{at: at, good: total - bad, bad: bad})
	}
	return h
}

// openMetrics renders the counters' samples as an OpenMetrics text file
// for `promtool tsdb create-blocks-from openmetrics`, labelled job="shop".
func (h *history) openMetrics() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# HELP http_requests Requests served.\n# TYPE http_requests counter\n")
	for _, code := range []string{"200", "500"} {
		var v int64
		write := func(at time.Time) {
			fmt.Fprintf(&b, "http_requests_total{job=\"shop\",code=%q} %d %d\n", code, v, at.Add(sampleOffset).Unix())
		}
		write(h.first)
		for _, m := range h.minutes {
			n := m.good
			if code == "500" {
				n = m.bad
			}
			if m.at.Equal(h.reset) {
				if n >= v {
					return nil, fmt.Errorf("the restart at %s leaves counter %s at %d from %d: a reader could not tell", m.at, code, n, v)
				}
				v = 0
			}
			v += n
			write(m.at)
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes(), nil
}

// events returns the good and total requests of the minutes for which
// counted says yes.
func (h *history) events(counted func(time.Time) bool) (good, total int64) {
	for _, m := range h.minutes {
		if counted(m.at) {
			good += m.good
			total += m.good + m.bad
		}
	}
	return good, total
}

// businessHours says whether the minute starting at t is on a weekday
// between 09:00 and 17:00 in loc: plain time arithmetic, as a person
// would work it out.
func businessHours(loc *time.Location) func(time.Time) bool {
	return func(t time.Time) bool {
		l := t.In(loc)
		return l.Weekday() != time.Saturday && l.Weekday() != time.Sunday && l.Hour() >= 9 && l.Hour() < 17
	}
}
