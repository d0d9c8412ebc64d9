package slo

import (
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want Window
		err  string
	}{
		{in: "28d", want: Window{Rolling: 28 * 24 * time.Hour}},
		{in: "12h", want: Window{Rolling: 12 * time.Hour}},
		{in: "90m", want: Window{Rolling: 90 * time.Minute}},
		{in: "400d", want: Window{Rolling: 400 * 24 * time.Hour}},
		{in: "month", want: Window{Period: Month}},
		{in: "week", want: Window{Period: Week}},
		{in: "quarter", want: Window{Period: Quarter}},
		{in: "59m", err: `must be between 1h and 400d, got "59m"`},
		{in: "401d", err: `must be between 1h and 400d, got "401d"`},
		{in: "4w", err: `must be a rolling window such as 28d, 7d or 12h, or week, month or quarter; got "4w"`},
		{in: "1.5d", err: `must be a rolling window such as 28d, 7d or 12h, or week, month or quarter; got "1.5d"`},
		{in: "-7d", err: `must be a rolling window such as 28d, 7d or 12h, or week, month or quarter; got "-7d"`},
		{in: "Month", err: `must be a rolling window such as 28d, 7d or 12h, or week, month or quarter; got "Month"`},
		{in: "99999999999d", err: `must be a rolling window such as 28d, 7d or 12h, or week, month or quarter; got "99999999999d"`},
	}
	for _, tt := range tests {
		name := tt.in + " parses"
		if tt.err != "" {
			name = tt.in + " is rejected"
		}
		t.Run(name, func(t *testing.T) {
			got, err := ParseWindow(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("got %v, %v; want error %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestCalendarWindowsInBerlinAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		period            string
		now               string
		wantStart, wantNx string
	}{
		{"the week containing the start of DST begins on Monday at CET midnight", Week,
			"2026-03-29T12:00:00Z", "2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"},
		{"a Sunday late evening in CEST belongs to that Monday's week", Week,
			"2026-03-29T21:59:00Z", "2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"},
		{"Monday just after CEST midnight starts a new week", Week,
			"2026-03-29T22:00:00Z", "2026-03-29T22:00:00Z", "2026-04-05T22:00:00Z"},
		{"the week containing the end of DST is 169 hours long", Week,
			"2026-10-25T12:00:00Z", "2026-10-18T22:00:00Z", "2026-10-25T23:00:00Z"},
		{"March starts in CET and ends in CEST", Month,
			"2026-03-15T12:00:00Z", "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z"},
		{"the first local minute of April belongs to April, not to March", Month,
			"2026-03-31T22:00:00Z", "2026-03-31T22:00:00Z", "2026-04-30T22:00:00Z"},
		{"October starts in CEST and ends in CET", Month,
			"2026-10-25T01:30:00Z", "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"},
		{"Q1 starts in CET and ends in CEST", Quarter,
			"2026-02-10T00:00:00Z", "2025-12-31T23:00:00Z", "2026-03-31T22:00:00Z"},
		{"Q4 starts in CEST and ends in CET at the new year", Quarter,
			"2026-12-31T22:59:00Z", "2026-09-30T22:00:00Z", "2026-12-31T23:00:00Z"},
		{"New Year's first local minute starts Q1 of the next year", Quarter,
			"2026-12-31T23:00:00Z", "2026-12-31T23:00:00Z", "2027-03-31T22:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Window{Period: tt.period}
			now := utc(tt.now)
			start, next := w.PeriodAt(now, berlin)
			if !start.Equal(utc(tt.wantStart)) || !next.Equal(utc(tt.wantNx)) {
				t.Errorf("PeriodAt(%s) = [%s, %s), want [%s, %s)", tt.now,
					start.Format(time.RFC3339), next.Format(time.RFC3339), tt.wantStart, tt.wantNx)
			}
			bs, be := w.Bounds(now.Add(30*time.Second), berlin)
			if !bs.Equal(start) || !be.Equal(now.Add(time.Minute)) {
				t.Errorf("Bounds(%s+30s) = [%s, %s), want [%s, %s)", tt.now,
					bs.Format(time.RFC3339), be.Format(time.RFC3339), start.Format(time.RFC3339), now.Add(time.Minute).Format(time.RFC3339))
			}
		})
	}
	t.Run("a rolling window ends after the minute in progress", func(t *testing.T) {
		w := Window{Rolling: 28 * 24 * time.Hour}
		start, end := w.Bounds(utc("2026-03-29T01:30:45Z"), berlin)
		if !end.Equal(utc("2026-03-29T01:31:00Z")) || end.Sub(start) != w.Rolling {
			t.Errorf("Bounds = [%s, %s), want 28d ending 01:31Z", start, end)
		}
	})
}
