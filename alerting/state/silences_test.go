package state

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// silence is a valid silence of checkout's every SLO for the hour after t0.
func silence() Silence {
	return Silence{Service: "checkout", EndsAt: t0.Add(time.Hour), Reason: "planned failover", Author: "alice"}
}

func add(t *testing.T, s *Store, sil Silence, now time.Time) Silence {
	t.Helper()
	got, err := s.AddSilence(context.Background(), sil, now)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAddSilenceStoresItDurably(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s := open(t, path)
	now := t0.Add(123456789 * time.Nanosecond) // not a whole millisecond
	in := Silence{Service: "checkout", SLO: "latency", StartsAt: now.Add(10 * time.Minute), EndsAt: now.Add(2 * time.Hour),
		Reason: "  load test  ", Author: "alice", ID: 99, CreatedAt: t0.Add(-time.Hour), ExpiredAt: now, ExpiredBy: "mallory"}
	got := add(t, s, in, now)

	want := Silence{ID: got.ID, Service: "checkout", SLO: "latency",
		StartsAt: now.Add(10 * time.Minute).Truncate(time.Millisecond), EndsAt: now.Add(2 * time.Hour).Truncate(time.Millisecond),
		Reason: "load test", Author: "alice", CreatedAt: now.Truncate(time.Millisecond)}
	if got.ID == 0 || got != want {
		t.Errorf("AddSilence =\n%+v\nwant\n%+v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	back, err := s.Silence(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back != got {
		t.Errorf("Silence(%d) after reopening =\n%+v\nwant what AddSilence returned\n%+v", got.ID, back, got)
	}
}

func TestAddSilenceValidates(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*Silence)
		wantField string // "" for success
		wantStart time.Time
	}{
		{name: "a zero start means now", edit: func(s *Silence) {}, wantStart: t0},
		{name: "a start in the past means now", edit: func(s *Silence) { s.StartsAt = t0.Add(-time.Hour) }, wantStart: t0},
		{name: "a start in the future is kept", edit: func(s *Silence) { s.StartsAt = t0.Add(time.Minute) }, wantStart: t0.Add(time.Minute)},
		{name: "service is required", edit: func(s *Silence) { s.Service = " " }, wantField: "service"},
		{name: "reason is required", edit: func(s *Silence) { s.Reason = "" }, wantField: "reason"},
		{name: "a long reason is refused", edit: func(s *Silence) { s.Reason = strings.Repeat("x", MaxReason+1) }, wantField: "reason"},
		{name: "author is required", edit: func(s *Silence) { s.Author = "" }, wantField: "author"},
		{name: "end is required", edit: func(s *Silence) { s.EndsAt = time.Time{} }, wantField: "endsAt"},
		{name: "end must be after start", edit: func(s *Silence) {
			s.StartsAt, s.EndsAt = t0.Add(2*time.Hour), t0.Add(time.Hour)
		}, wantField: "endsAt"},
		{name: "end may not equal start", edit: func(s *Silence) {
			s.StartsAt, s.EndsAt = t0.Add(time.Hour), t0.Add(time.Hour)
		}, wantField: "endsAt"},
		{name: "end must be in the future", edit: func(s *Silence) {
			s.StartsAt, s.EndsAt = t0.Add(-2*time.Hour), t0.Add(-time.Hour)
		}, wantField: "endsAt"},
		{name: "end within the millisecond of now is not in the future", edit: func(s *Silence) {
			s.EndsAt = t0.Add(time.Microsecond)
		}, wantField: "endsAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
			in := silence()
			tt.edit(&in)
			got, err := s.AddSilence(context.Background(), in, t0)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("AddSilence = %v, want success", err)
				}
				if !got.StartsAt.Equal(tt.wantStart) {
					t.Errorf("StartsAt = %s, want %s", got.StartsAt, tt.wantStart)
				}
				return
			}
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.wantField || !errors.Is(err, ErrInvalid) {
				t.Fatalf("AddSilence = %v, want an *InvalidError on field %s", err, tt.wantField)
			}
			if ss, _ := s.ListSilences(context.Background(), SilenceFilter{}); len(ss) != 0 {
				t.Errorf("a refused silence was stored: %+v", ss)
			}
		})
	}
}

func TestSilenceState(t *testing.T) {
	sil := Silence{StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	early := sil
	early.ExpiredAt = t0.Add(10 * time.Minute)
	neverStarted := sil
	neverStarted.ExpiredAt = t0.Add(-time.Minute)
	tests := []struct {
		name string
		sil  Silence
		at   time.Time
		want string
	}{
		{"is pending before its start", sil, t0.Add(-time.Nanosecond), StatePending},
		{"is active from its start", sil, t0, StateActive},
		{"is active just before its end", sil, t0.Add(time.Hour - time.Nanosecond), StateActive},
		{"is expired from its end", sil, t0.Add(time.Hour), StateExpired},
		{"expired early is active before it was expired", early, t0.Add(5 * time.Minute), StateActive},
		{"expired early is expired from then", early, t0.Add(10 * time.Minute), StateExpired},
		{"expired before its start is pending until expired", neverStarted, t0.Add(-2 * time.Minute), StatePending},
		{"expired before its start is expired from then", neverStarted, t0.Add(-time.Minute), StateExpired},
		{"expired before its start never becomes active", neverStarted, t0.Add(time.Minute), StateExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sil.State(tt.at); got != tt.want {
				t.Errorf("State(%s) = %s, want %s", tt.at, got, tt.want)
			}
		})
	}
}

func TestSilenceMatches(t *testing.T) {
	all := Silence{Service: "checkout", StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	one := all
	one.SLO = "latency"
	expired := all
	expired.ExpiredAt = t0.Add(time.Minute)
	tests := []struct {
		name    string
		sil     Silence
		service string
		slo     string
		at      time.Time
		want    bool
	}{
		{"a silence of every SLO matches any SLO of its service", all, "checkout", "availability", t0, true},
		{"a silence of every SLO matches an alert of no SLO", all, "checkout", "", t0, true},
		{"a silence of one SLO matches that SLO", one, "checkout", "latency", t0, true},
		{"a silence of one SLO does not match another", one, "checkout", "availability", t0, false},
		{"a silence of one SLO does not match an alert of no SLO", one, "checkout", "", t0, false},
		{"a silence does not match another service", all, "search", "availability", t0, false},
		{"a silence does not match a service whose name it prefixes", all, "checkout-v2", "availability", t0, false},
		{"a pending silence does not match", all, "checkout", "availability", t0.Add(-time.Second), false},
		{"an ended silence does not match", all, "checkout", "availability", t0.Add(time.Hour), false},
		{"a silence expired early does not match after", expired, "checkout", "availability", t0.Add(2 * time.Minute), false},
		{"a silence expired early matches before", expired, "checkout", "availability", t0.Add(time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sil.Matches(tt.service, tt.slo, tt.at); got != tt.want {
				t.Errorf("Matches(%q, %q, %s) = %t, want %t", tt.service, tt.slo, tt.at, got, tt.want)
			}
		})
	}
}

func TestSilenced(t *testing.T) {
	mk := func(id int64, service, slo string) Silence {
		return Silence{ID: id, Service: service, SLO: slo, StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	}
	ended := mk(9, "checkout", "")
	ended.ExpiredAt = t0
	tests := []struct {
		name     string
		silences []Silence
		slos     []string
		want     int64 // 0 for not silenced
	}{
		{"nothing silences without silences", nil, []string{"availability"}, 0},
		{"a silence of the SLO silences a one-SLO alert", []Silence{mk(1, "checkout", "availability")}, []string{"availability"}, 1},
		{"a silence of every SLO silences a multi-SLO alert",
			[]Silence{mk(1, "checkout", "")}, []string{"availability", "latency"}, 1},
		{"a silence of one SLO does not silence an alert over two",
			[]Silence{mk(1, "checkout", "availability")}, []string{"availability", "latency"}, 0},
		{"silences of each SLO together silence an alert over both, the first SLO's named",
			[]Silence{mk(1, "checkout", "latency"), mk(2, "checkout", "availability")}, []string{"availability", "latency"}, 2},
		{"a silence covering all SLOs is preferred to several covering one each",
			[]Silence{mk(1, "checkout", "availability"), mk(2, "checkout", "latency"), mk(3, "checkout", "")},
			[]string{"availability", "latency"}, 3},
		{"the first silence covering the alert alone is named",
			[]Silence{mk(1, "checkout", "availability"), mk(2, "checkout", "")}, []string{"availability"}, 1},
		{"silences of another service do not count",
			[]Silence{mk(1, "search", ""), mk(2, "checkout", "availability")}, []string{"availability", "latency"}, 0},
		{"an expired silence does not count",
			[]Silence{ended, mk(2, "checkout", "availability")}, []string{"availability", "latency"}, 0},
		{"an alert of no SLO is silenced by a silence of every SLO",
			[]Silence{mk(1, "checkout", "availability"), mk(2, "checkout", "")}, nil, 2},
		{"an alert of no SLO is not silenced by a silence of one SLO",
			[]Silence{mk(1, "checkout", "availability")}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Silenced(tt.silences, "checkout", tt.slos, t0.Add(time.Minute))
			var id int64
			if got != nil {
				id = got.ID
			}
			if id != tt.want {
				t.Errorf("Silenced(checkout, %q) = silence %d, want %d (0 = none)", tt.slos, id, tt.want)
			}
		})
	}
}

func TestExpireSilence(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "slogate.db")
	s := open(t, path)
	active := add(t, s, silence(), t0)
	pending := silence()
	pending.StartsAt = t0.Add(30 * time.Minute)
	pending = add(t, s, pending, t0)
	short := silence()
	short.EndsAt = t0.Add(time.Minute)
	short = add(t, s, short, t0)
	now := t0.Add(5*time.Minute + 500*time.Microsecond)
	top := t // reopened stores must outlive the subtest that reopens them

	t.Run("expiring an active silence records when and by whom", func(t *testing.T) {
		got, err := s.ExpireSilence(ctx, active.ID, "bob", now)
		if err != nil {
			t.Fatal(err)
		}
		want := active
		want.ExpiredAt, want.ExpiredBy = now.Truncate(time.Millisecond), "bob"
		if got != want {
			t.Errorf("ExpireSilence =\n%+v\nwant\n%+v", got, want)
		}
		if st := got.State(now); st != StateExpired {
			t.Errorf("state after expiring = %s, want expired", st)
		}
	})
	t.Run("expiring it twice is refused and keeps the first", func(t *testing.T) {
		got, err := s.ExpireSilence(ctx, active.ID, "carol", now.Add(time.Minute))
		if !errors.Is(err, ErrExpired) {
			t.Fatalf("second ExpireSilence = %v, want ErrExpired", err)
		}
		if got.ExpiredBy != "bob" || !got.ExpiredAt.Equal(now.Truncate(time.Millisecond)) {
			t.Errorf("second ExpireSilence returned expired at %s by %q, want the first: %s by bob", got.ExpiredAt, got.ExpiredBy, now)
		}
	})
	t.Run("expiring a silence that ended on its own is refused", func(t *testing.T) {
		if _, err := s.ExpireSilence(ctx, short.ID, "bob", now); !errors.Is(err, ErrExpired) {
			t.Errorf("ExpireSilence = %v, want ErrExpired", err)
		}
	})
	t.Run("expiring a pending silence means it never starts", func(t *testing.T) {
		got, err := s.ExpireSilence(ctx, pending.ID, "bob", now)
		if err != nil {
			t.Fatal(err)
		}
		if st := got.State(pending.StartsAt.Add(time.Minute)); st != StateExpired {
			t.Errorf("state after its start = %s, want expired", st)
		}
	})
	t.Run("expiring an unknown silence is not found", func(t *testing.T) {
		if _, err := s.ExpireSilence(ctx, 12345, "bob", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("ExpireSilence = %v, want ErrNotFound", err)
		}
	})
	t.Run("expiring needs someone to expire it", func(t *testing.T) {
		var ie *InvalidError
		if _, err := s.ExpireSilence(ctx, short.ID, " ", now); !errors.As(err, &ie) || ie.Field != "expiredBy" {
			t.Errorf("ExpireSilence = %v, want an *InvalidError on expiredBy", err)
		}
	})
	t.Run("the expiry survives reopening", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(top, path)
		got, err := s.Silence(ctx, active.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ExpiredBy != "bob" || got.State(now) != StateExpired {
			t.Errorf("after reopening: expired by %q, state %s; want bob, expired", got.ExpiredBy, got.State(now))
		}
	})
	t.Run("an unknown silence is not found", func(t *testing.T) {
		if _, err := s.Silence(ctx, 12345); !errors.Is(err, ErrNotFound) {
			t.Errorf("Silence = %v, want ErrNotFound", err)
		}
	})
}

// TestListSilencesAgreesWithState proves that the SQL selecting silences by
// state agrees with Silence.State, at every edge of every silence and
// between.
func TestListSilencesAgreesWithState(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	var all []Silence
	for i, sp := range []struct{ start, end, expire time.Duration }{
		{0, time.Hour, 0},
		{10 * time.Minute, 20 * time.Minute, 0},
		{0, time.Hour, 15 * time.Minute},
		{30 * time.Minute, time.Hour, 5 * time.Minute}, // expired while pending
		{time.Millisecond, 2 * time.Millisecond, 0},
	} {
		sil := silence()
		sil.Service = []string{"checkout", "search"}[i%2]
		sil.StartsAt, sil.EndsAt = t0.Add(sp.start), t0.Add(sp.end)
		sil = add(t, s, sil, t0)
		if sp.expire != 0 {
			var err error
			if sil, err = s.ExpireSilence(ctx, sil.ID, "bob", t0.Add(sp.expire)); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, sil)
	}
	var times []time.Time
	for _, sil := range all {
		for _, e := range []time.Time{sil.StartsAt, sil.EndsAt, sil.ExpiredAt} {
			if !e.IsZero() {
				times = append(times, e.Add(-time.Millisecond), e.Add(-time.Microsecond), e, e.Add(time.Microsecond))
			}
		}
	}
	ids := func(ss []Silence) []int64 {
		out := []int64{}
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	for _, at := range times {
		for _, service := range []string{"", "checkout"} {
			for _, state := range []string{StateActive, StatePending, StateExpired} {
				f := SilenceFilter{Service: service}
				switch state {
				case StateActive:
					f.ActiveAt = at
				case StatePending:
					f.PendingAt = at
				case StateExpired:
					f.ExpiredAt = at
				}
				got, err := s.ListSilences(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				want := []int64{}
				for _, sil := range slices.Backward(all) {
					if sil.State(at) == state && (service == "" || sil.Service == service) {
						want = append(want, sil.ID)
					}
				}
				if !slices.Equal(ids(got), want) {
					t.Errorf("ListSilences(service %q, %s at %s) = %v, want %v", service, state, at.Format(time.RFC3339Nano), ids(got), want)
				}
				if state == StateActive && service == "" {
					act, err := s.ActiveSilences(ctx, at)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(ids(act), want) {
						t.Errorf("ActiveSilences(%s) = %v, want %v", at.Format(time.RFC3339Nano), ids(act), want)
					}
				}
			}
		}
	}
}

func TestListSilences(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	var want []int64
	for i := range 5 {
		sil := silence()
		sil.Reason = fmt.Sprint("reason ", i)
		want = append([]int64{add(t, s, sil, t0).ID}, want...)
	}
	tests := []struct {
		name string
		f    SilenceFilter
		want []int64
	}{
		{"lists every silence newest first", SilenceFilter{}, want},
		{"stops at the limit", SilenceFilter{Limit: 2}, want[:2]},
		{"lists nothing for another service", SilenceFilter{Service: "search"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListSilences(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, sil := range got {
				ids = append(ids, sil.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("ListSilences(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
}

// TestActiveSilencesReadsOnlyWhatHasNotEnded guards the promise that the
// dispatcher's query stays cheap: SQLite must find active silences through
// the index on ends_at rather than by reading every silence ever made.
func TestActiveSilencesReadsOnlyWhatHasNotEnded(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "slogate.db"))
	rows, err := s.db.Read.QueryContext(context.Background(),
		`EXPLAIN QUERY PLAN SELECT `+silenceColumns+` FROM alerting_silences `+activeQuery, 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(plan, func(d string) bool { return strings.Contains(d, "USING INDEX alerting_silences_ends_at") }) {
		t.Errorf("query plan of ActiveSilences = %q, want a search using index alerting_silences_ends_at", plan)
	}
}
