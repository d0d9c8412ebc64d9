package integration

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// liveCodes are the status codes liveTarget counts requests by; 5xx are
// the bad ones.
var liveCodes = [...]string{"200", "404", "500"}

// livePerTick returns how many requests of each code liveTarget serves
// at the i-th 100ms tick of traffic: 205 a second, 2.4% of them errors.
func livePerTick(i int) [len(liveCodes)]float64 {
	return [...]float64{19, 1, float64(i % 2)}
}

// liveTarget is a service under load that the test drives: while traffic
// runs, its http_requests_total{code} counters grow at livePerTick, and it
// remembers how many good and total requests it served in each minute.
//
// Requests are served only away from minute boundaries (from second 3 to
// second 55 of each minute). Readers scraping every second at different
// phases then all see each minute's requests within that minute, so their
// per-minute counts can be compared exactly; close to a boundary, one
// reader's scrape would land a request in the next minute and another's in
// this one. Its methods are safe for concurrent use.
type liveTarget struct {
	mu      sync.Mutex
	counts  [len(liveCodes)]float64
	minutes map[int64]*minuteEvents // by minute start, Unix seconds
}

type minuteEvents struct{ good, total float64 }

func newLiveTarget() *liveTarget { return &liveTarget{minutes: map[int64]*minuteEvents{}} }

func (l *liveTarget) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintln(w, "# TYPE http_requests_total counter")
	for i, c := range liveCodes {
		fmt.Fprintf(w, "http_requests_total{code=%q} %g\n", c, l.counts[i])
	}
}

// nearMinuteBoundary reports whether t is within a few seconds of the
// start of a minute, when liveTarget serves nothing.
func nearMinuteBoundary(t time.Time) bool {
	s := t.Second()
	return s >= 56 || s < 3
}

// serveUntil runs traffic until end, then stops it and returns when it
// stopped.
func (l *liveTarget) serveUntil(end time.Time) time.Time {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	i := 0
	for now := range tick.C {
		if now.After(end) {
			break
		}
		if nearMinuteBoundary(now) {
			continue
		}
		i++
		l.mu.Lock()
		var good, total float64
		for c, n := range livePerTick(i) {
			l.counts[c] += n
			total += n
			if liveCodes[c][0] != '5' {
				good += n
			}
		}
		m := now.Truncate(time.Minute).Unix()
		if l.minutes[m] == nil {
			l.minutes[m] = &minuteEvents{}
		}
		l.minutes[m].good += good
		l.minutes[m].total += total
		l.mu.Unlock()
	}
	return time.Now()
}

// served returns the good and total requests served in each minute, by
// minute start, and over all.
func (l *liveTarget) served() (map[int64]minuteEvents, minuteEvents) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64]minuteEvents{}
	var sum minuteEvents
	for m, e := range l.minutes {
		out[m] = *e
		sum.good += e.good
		sum.total += e.total
	}
	return out, sum
}
