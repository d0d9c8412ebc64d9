package source

import (
	"math"
	"testing"
)

func TestCountersObserve(t *testing.T) {
	type sample struct {
		v       float64
		ts      int64
		wantInc float64
		wantOK  bool
	}
	tests := []struct {
		name    string
		samples []sample
	}{
		{"the first sample is a baseline and later ones count their difference", []sample{
			{10, 1000, 0, false}, {15, 2000, 5, true}, {15, 3000, 0, true}, {20.5, 4000, 5.5, true},
		}},
		{"a counter reset counts the new value", []sample{
			{100, 1000, 0, false}, {3, 2000, 3, true}, {7, 3000, 4, true},
		}},
		{"a reset to zero counts nothing and is followed normally", []sample{
			{100, 1000, 0, false}, {0, 2000, 0, true}, {2, 3000, 2, true},
		}},
		{"NaN and infinities count nothing and keep the state", []sample{
			{10, 1000, 0, false}, {math.NaN(), 2000, 0, false}, {math.Inf(1), 3000, 0, false}, {12, 4000, 2, true},
		}},
		{"a sample older than the last counts nothing", []sample{
			{10, 2000, 0, false}, {5, 1000, 0, false}, {12, 3000, 2, true},
		}},
		{"a repeated sample counts zero", []sample{
			{10, 1000, 0, false}, {10, 1000, 0, true}, {11, 2000, 1, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := newCounters()
			for i, s := range tt.samples {
				inc, ok := cs.observe(1, s.v, s.ts, 0)
				if inc != s.wantInc || ok != s.wantOK {
					t.Errorf("sample %d (%v at %d): got (%v, %v), want (%v, %v)", i, s.v, s.ts, inc, ok, s.wantInc, s.wantOK)
				}
			}
		})
	}
}

func TestCountersRollbackRestoresTheLastCommit(t *testing.T) {
	cs := newCounters()
	cs.observe(1, 10, 1000, 1)
	cs.commit()
	cs.observe(1, 20, 2000, 2)
	cs.observe(2, 5, 2000, 2)
	cs.rollback()
	if len(cs.m) != 1 {
		t.Fatalf("got %d series after rollback, want 1", len(cs.m))
	}
	if got := *cs.m[1]; got != (counter{v: 10, ts: 1000, seen: 1}) {
		t.Errorf("got %+v after rollback, want the committed sample", got)
	}
	if inc, _ := cs.observe(1, 20, 2000, 2); inc != 10 {
		t.Errorf("got increase %v after rollback, want the rolled back events counted again (10)", inc)
	}
}

func TestCountersEncodingRoundTrips(t *testing.T) {
	cs := newCounters()
	cs.observe(1, 10, 1000, 0)
	cs.observe(math.MaxUint64, 1e300, -5, 0)
	cs.observe(42, 0, 1<<50, 0)
	b := cs.appendTo([]byte{7})
	got, rest, err := decodeCounters(b[1:], 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 {
		t.Errorf("got %d trailing bytes, want 0", len(rest))
	}
	for k, c := range cs.m {
		g, ok := got.m[k]
		if !ok || g.v != c.v || g.ts != c.ts || g.seen != 3 {
			t.Errorf("series %x: got %+v, want %+v seen in round 3", k, g, c)
		}
	}
	for n := range b[1:] {
		if _, _, err := decodeCounters(b[1:1+n], 0); err == nil {
			t.Errorf("decoding the first %d bytes: got no error, want one", n)
		}
	}
}

func TestTallyIncrease(t *testing.T) {
	tests := []struct {
		name   string
		t      tally
		hasBad bool
		want   Increase
		wantOK bool
	}{
		{"good and total are taken as they are", tally{good: 9, total: 10}, false, Increase{Good: 9, Total: 10}, true},
		{"with a bad selector good is total minus bad", tally{bad: 1, total: 10}, true, Increase{Good: 9, Total: 10}, true},
		{"good above total is clamped to total", tally{good: 12, total: 10}, false, Increase{Good: 10, Total: 10}, true},
		{"bad above total clamps good to zero", tally{bad: 12, total: 10}, true, Increase{Good: 0, Total: 10}, true},
		{"nothing counted records nothing", tally{}, false, Increase{}, false},
		{"good without total records nothing", tally{good: 3}, false, Increase{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.t.increase("", "", tt.hasBad, minuteOf(0))
			if ok != tt.wantOK || ok && (got.Good != tt.want.Good || got.Total != tt.want.Total) {
				t.Errorf("got (%+v, %v), want (%+v, %v)", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
