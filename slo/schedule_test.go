package slo

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rickar/cal/v2/us"
)

func mustCompile(t testing.TB, spec ScheduleSpec) *Schedule {
	t.Helper()
	s, err := CompileSchedule(spec)
	if err != nil {
		t.Fatalf("compile %s: %v", spec.Name, err)
	}
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var (
	berlinBusinessHours = ScheduleSpec{
		Name:     "berlin-business-hours",
		TimeZone: "Europe/Berlin",
		Weekly:   []WeeklyRule{{Days: []string{"mon-fri"}, Hours: []string{"09:00-17:00"}}},
		Holidays: Holidays{Country: "de", Dates: []string{"2026-12-24", "2026-12-31"}},
		Maintenance: []Maintenance{{
			Start: utc("2026-09-15T08:00:00Z"), End: utc("2026-09-15T10:00:00Z"), Reason: "datacenter move",
		}},
	}
	nyBusinessHours = ScheduleSpec{
		Name:     "ny-business-hours",
		TimeZone: "America/New_York",
		Weekly:   []WeeklyRule{{Days: []string{"mon-fri"}, Hours: []string{"08:00-18:00"}}},
		Holidays: Holidays{Country: "us"},
	}
)

func TestScheduleActive(t *testing.T) {
	berlin := mustCompile(t, berlinBusinessHours)
	ny := mustCompile(t, nyBusinessHours)
	nyNights := mustCompile(t, ScheduleSpec{Name: "ny-nights", TimeZone: "America/New_York",
		Weekly: []WeeklyRule{{Days: []string{"mon-sun"}, Hours: []string{"01:00-03:00"}}}})
	berlinNights := mustCompile(t, ScheduleSpec{Name: "berlin-nights", TimeZone: "Europe/Berlin",
		Weekly: []WeeklyRule{{Days: []string{"mon-sun"}, Hours: []string{"02:00-03:00"}}}})
	berlinHolidaysOnly := mustCompile(t, ScheduleSpec{Name: "de", TimeZone: "Europe/Berlin", Holidays: Holidays{Country: "de"}})
	bavaria := mustCompile(t, ScheduleSpec{Name: "by", TimeZone: "Europe/Berlin", Holidays: Holidays{Country: "de-by"}})
	lateShift := mustCompile(t, ScheduleSpec{Name: "late", Weekly: []WeeklyRule{
		{Days: []string{"fri-mon"}, Hours: []string{"22:00-24:00"}},
	}})

	tests := []struct {
		name   string
		s      *Schedule
		at     string
		active bool
	}{
		// Business hours edges: start inclusive, end exclusive.
		{"the first minute of Berlin business hours is active", berlin, "2026-06-10T07:00:00Z", true},
		{"the minute before Berlin business hours is inactive", berlin, "2026-06-10T06:59:00Z", false},
		{"the last minute of Berlin business hours is active", berlin, "2026-06-10T14:59:00Z", true},
		{"the minute Berlin business hours end is inactive", berlin, "2026-06-10T15:00:00Z", false},
		{"a Saturday in Berlin is inactive", berlin, "2026-06-13T10:00:00Z", false},

		// Berlin DST: 2026-03-29 02:00 CET -> 03:00 CEST, 2026-10-25 03:00 CEST -> 02:00 CET.
		{"09:00 CET on the Friday before DST starts in Berlin is active", berlin, "2026-03-27T08:00:00Z", true},
		{"08:59 CET on the Friday before DST starts in Berlin is inactive", berlin, "2026-03-27T07:59:00Z", false},
		{"09:00 CEST on the Monday after DST starts in Berlin is active", berlin, "2026-03-30T07:00:00Z", true},
		{"08:59 CEST on the Monday after DST starts in Berlin is inactive", berlin, "2026-03-30T06:59:00Z", false},
		{"16:59 CEST on the Friday before DST ends in Berlin is active", berlin, "2026-10-23T14:59:00Z", true},
		{"09:00 CET on the Monday after DST ends in Berlin is active", berlin, "2026-10-26T08:00:00Z", true},
		{"08:59 CET on the Monday after DST ends in Berlin is inactive", berlin, "2026-10-26T07:59:00Z", false},
		{"17:00 CET on the Monday after DST ends in Berlin is inactive", berlin, "2026-10-26T16:00:00Z", false},
		{"01:59 CET just before the skipped hour in Berlin is inactive", berlinNights, "2026-03-29T00:59:00Z", false},
		{"03:00 CEST just after the skipped hour in Berlin is inactive", berlinNights, "2026-03-29T01:00:00Z", false},
		{"02:30 CEST on the first pass of the repeated hour in Berlin is active", berlinNights, "2026-10-25T00:30:00Z", true},
		{"02:30 CET on the second pass of the repeated hour in Berlin is active", berlinNights, "2026-10-25T01:30:00Z", true},
		{"03:00 CET after the repeated hour in Berlin is inactive", berlinNights, "2026-10-25T02:00:00Z", false},

		// New York DST: 2026-03-08 02:00 EST -> 03:00 EDT, 2026-11-01 02:00 EDT -> 01:00 EST.
		{"08:00 EST on the Friday before DST starts in New York is active", ny, "2026-03-06T13:00:00Z", true},
		{"07:59 EST on the Friday before DST starts in New York is inactive", ny, "2026-03-06T12:59:00Z", false},
		{"08:00 EDT on the Monday after DST starts in New York is active", ny, "2026-03-09T12:00:00Z", true},
		{"07:59 EDT on the Monday after DST starts in New York is inactive", ny, "2026-03-09T11:59:00Z", false},
		{"17:59 EDT on the Friday before DST ends in New York is active", ny, "2026-10-30T21:59:00Z", true},
		{"18:00 EDT on the Friday before DST ends in New York is inactive", ny, "2026-10-30T22:00:00Z", false},
		{"08:00 EST on the Monday after DST ends in New York is active", ny, "2026-11-02T13:00:00Z", true},
		{"07:59 EST on the Monday after DST ends in New York is inactive", ny, "2026-11-02T12:59:00Z", false},
		{"17:59 EST on the Monday after DST ends in New York is active", ny, "2026-11-02T22:59:00Z", true},
		{"18:00 EST on the Monday after DST ends in New York is inactive", ny, "2026-11-02T23:00:00Z", false},
		{"01:59 EST before the skipped hour in New York is active", nyNights, "2026-03-08T06:59:00Z", true},
		{"03:00 EDT after the skipped hour in New York is inactive", nyNights, "2026-03-08T07:00:00Z", false},
		{"01:30 EDT on the first pass of the repeated hour in New York is active", nyNights, "2026-11-01T05:30:00Z", true},
		{"01:30 EST on the second pass of the repeated hour in New York is active", nyNights, "2026-11-01T06:30:00Z", true},
		{"02:00 EST after the repeated hour in New York is active", nyNights, "2026-11-01T07:00:00Z", true},
		{"03:00 EST in New York is inactive", nyNights, "2026-11-01T08:00:00Z", false},

		// Holidays are whole local days.
		{"Christmas Day in Germany is inactive", berlin, "2026-12-25T09:00:00Z", false},
		{"Labour Day in Germany is inactive", berlin, "2026-05-01T08:00:00Z", false},
		{"Ascension Day in Germany is inactive", berlin, "2026-05-14T08:00:00Z", false},
		{"the Wednesday before Ascension Day is active", berlin, "2026-05-13T08:00:00Z", true},
		{"the company day off on 24 December is inactive", berlin, "2026-12-24T09:00:00Z", false},
		{"23 December is active", berlin, "2026-12-23T09:00:00Z", true},
		{"the last minute before Christmas Day in Berlin is active", berlinHolidaysOnly, "2026-12-24T22:59:00Z", true},
		{"Christmas Day starts at midnight in Berlin, 23:00 UTC", berlinHolidaysOnly, "2026-12-24T23:00:00Z", false},
		{"the last minute of Boxing Day in Berlin is inactive", berlinHolidaysOnly, "2026-12-26T22:59:00Z", false},
		{"the day after Boxing Day in Berlin is active", berlinHolidaysOnly, "2026-12-26T23:00:00Z", true},
		{"Epiphany is a holiday in Bavaria", bavaria, "2026-01-06T10:00:00Z", false},
		{"Epiphany is not a holiday in Germany as a whole", berlinHolidaysOnly, "2026-01-06T10:00:00Z", true},
		{"Christmas far beyond the precomputed years is still a holiday", berlinHolidaysOnly, "2300-12-25T10:00:00Z", false},
		{"Independence Day 2026 is observed on Friday 3 July in the US", ny, "2026-07-03T14:00:00Z", false},
		{"Thursday 2 July 2026 is active in the US", ny, "2026-07-02T14:00:00Z", true},
		{"New Year's Day 2028 is observed on Friday 31 December 2027 in the US", ny, "2027-12-31T14:00:00Z", false},

		// Maintenance windows are [start, end).
		{"the minute before maintenance is active", berlin, "2026-09-15T07:59:00Z", true},
		{"the first minute of maintenance is inactive", berlin, "2026-09-15T08:00:00Z", false},
		{"the last minute of maintenance is inactive", berlin, "2026-09-15T09:59:00Z", false},
		{"the minute maintenance ends is active", berlin, "2026-09-15T10:00:00Z", true},

		// Ranges ending at 24:00 and day ranges that wrap.
		{"23:59 is active in a range ending at 24:00", lateShift, "2026-06-12T23:59:00Z", true},
		{"22:00 on a Sunday is active in fri-mon", lateShift, "2026-06-14T22:00:00Z", true},
		{"22:00 on a Tuesday is inactive in fri-mon", lateShift, "2026-06-16T22:00:00Z", false},
		{"midnight after a Thursday range is inactive", lateShift, "2026-06-12T00:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := utc(tt.at)
			if got := tt.s.Active(at); got != tt.active {
				t.Errorf("%s.Active(%s = %s local) = %v, want %v",
					tt.s.Name, tt.at, at.In(tt.s.Location).Format("Mon 2006-01-02 15:04 MST"), got, tt.active)
			}
		})
	}
}

func TestUSIndependenceDayObservedDateComesFromTheLibrary(t *testing.T) {
	_, observed := us.IndependenceDay.Calc(2026)
	if y, m, d := observed.Date(); y != 2026 || m != time.July || d != 3 {
		t.Errorf("observed = %s, want 2026-07-03", observed.Format(time.DateOnly))
	}
}

func TestScheduleIsAlways(t *testing.T) {
	tests := []struct {
		name string
		spec ScheduleSpec
		want bool
	}{
		{"an empty schedule is always on", ScheduleSpec{Name: "empty"}, true},
		{"weekly rules covering every minute are always on", ScheduleSpec{Name: "full", TimeZone: "Europe/Berlin",
			Weekly: []WeeklyRule{{Days: []string{"mon-sun"}, Hours: []string{"00:00-12:00", "12:00-24:00"}}}}, true},
		{"business hours are not always on", berlinBusinessHours, false},
		{"holidays alone are not always on", ScheduleSpec{Name: "h", Holidays: Holidays{Dates: []string{"2026-01-02"}}}, false},
		{"a maintenance window alone is not always on", ScheduleSpec{Name: "m", Maintenance: []Maintenance{
			{Start: utc("2026-01-01T00:00:00Z"), End: utc("2026-01-01T01:00:00Z")}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustCompile(t, tt.spec).IsAlways(); got != tt.want {
				t.Errorf("IsAlways() = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("AlwaysOn is always on and active", func(t *testing.T) {
		s := AlwaysOn()
		if !s.IsAlways() || !s.Active(utc("2026-12-25T10:00:00Z")) || s.Name != AlwaysName || s.Location != time.UTC {
			t.Errorf("AlwaysOn() = %+v, want name always, UTC, always active", s)
		}
	})
}

func TestCompileScheduleRejects(t *testing.T) {
	tests := []struct {
		name string
		spec ScheduleSpec
		want string
	}{
		{"a range that crosses midnight", ScheduleSpec{Weekly: []WeeklyRule{{Days: []string{"mon"}, Hours: []string{"22:00-06:00"}}}},
			`weekly[0].hours[0]: end must be after start in "22:00-06:00"; use two ranges to cross midnight (e.g. 22:00-24:00 and 00:00-06:00)`},
		{"an empty range", ScheduleSpec{Weekly: []WeeklyRule{{Days: []string{"mon"}, Hours: []string{"09:00-09:00"}}}},
			`weekly[0].hours[0]: end must be after start in "09:00-09:00"; use two ranges to cross midnight (e.g. 22:00-24:00 and 00:00-06:00)`},
		{"a range starting at 24:00", ScheduleSpec{Weekly: []WeeklyRule{{Days: []string{"mon"}, Hours: []string{"24:00-24:00"}}}},
			`weekly[0].hours[0]: must be a time range such as 09:00-17:00, got "24:00-24:00"`},
		{"minutes past 59", ScheduleSpec{Weekly: []WeeklyRule{{Days: []string{"mon"}, Hours: []string{"09:60-10:00"}}}},
			`weekly[0].hours[0]: must be a time range such as 09:00-17:00, got "09:60-10:00"`},
		{"a rule without days", ScheduleSpec{Weekly: []WeeklyRule{{Hours: []string{"09:00-10:00"}}}},
			`weekly[0].days: required: weekdays such as [mon-fri] or [sat, sun]`},
		{"a rule without hours", ScheduleSpec{Weekly: []WeeklyRule{{Days: []string{"sat"}}}},
			`weekly[0].hours: required: local time ranges such as ["09:00-17:00"]`},
		{"the host's Local zone", ScheduleSpec{TimeZone: "Local"},
			`timeZone: must be an IANA zone such as Europe/Berlin, not the host's Local zone`},
		{"an unknown region", ScheduleSpec{Holidays: Holidays{Country: "de-xx"}},
			`holidays.country: unknown region "de-xx"; known regions: de-bb, de-be, de-bw, de-by, de-hb, de-he, de-hh, de-mv, de-ni, de-nw, de-rp, de-sh, de-sl, de-sn, de-st, de-th`},
		{"a maintenance window without end", ScheduleSpec{Maintenance: []Maintenance{{Start: utc("2026-01-01T00:00:00Z")}}},
			`maintenance[0].end: required: a timestamp such as 2026-06-01T04:00:00Z`},
	}
	for _, tt := range tests {
		t.Run("CompileSchedule rejects "+tt.name, func(t *testing.T) {
			_, err := CompileSchedule(tt.spec)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestScheduleActiveAcceptsCountryRegionsCaseInsensitively(t *testing.T) {
	for _, code := range []string{"us", "DE", "de-BY", "gb", "fr", "nl", "at", "ch", "ch-zh", "ie", "it", "es", "se", "dk", "no", "pl", "au", "au-nsw", "ca", "jp", "nz"} {
		t.Run(code+" compiles and makes New Year's Day a holiday", func(t *testing.T) {
			s := mustCompile(t, ScheduleSpec{Name: code, Holidays: Holidays{Country: code}})
			if s.Active(utc("2026-01-01T12:00:00Z")) {
				t.Errorf("1 January 2026 is active in %s, want a holiday", code)
			}
		})
	}
}

// BenchmarkScheduleActive walks a 28-day window minute by minute, as the
// budget engine does at start.
func BenchmarkScheduleActive(b *testing.B) {
	for _, spec := range []ScheduleSpec{berlinBusinessHours, nyBusinessHours, {Name: "always-utc"}} {
		s := mustCompile(b, spec)
		start := utc("2026-03-01T00:00:00Z")
		b.Run(spec.Name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for i := 0; b.Loop(); i++ {
				if s.Active(start.Add(time.Duration(i%(28*24*60)) * time.Minute)) {
					n++
				}
			}
			_ = n
		})
	}
}

func BenchmarkCompileSchedule(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompileSchedule(berlinBusinessHours); err != nil {
			b.Fatal(err)
		}
	}
}

// inactiveByMinute is Inactive the slow way: Active asked about every
// whole minute of [from, to], inactive minutes joined and clipped.
func inactiveByMinute(s *Schedule, from, to time.Time) [][2]int64 {
	out := [][2]int64{}
	lo, hi := from.Unix(), to.Unix()
	for u := floorDiv(lo, 60) * 60; u < hi; u += 60 {
		if s.Active(time.Unix(u, 0)) {
			continue
		}
		a, b := max(u, lo), min(u+60, hi)
		if n := len(out); n > 0 && out[n-1][1] >= a {
			out[n-1][1] = b
		} else {
			out = append(out, [2]int64{a, b})
		}
	}
	return out
}

// spans reads pairs of RFC 3339 times as Unix-second spans.
func spans(pairs ...string) [][2]int64 {
	out := [][2]int64{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, [2]int64{utc(pairs[i]).Unix(), utc(pairs[i+1]).Unix()})
	}
	return out
}

func formatSpans(ss [][2]int64) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "[%s, %s) ", time.Unix(s[0], 0).UTC().Format(time.RFC3339), time.Unix(s[1], 0).UTC().Format(time.RFC3339))
	}
	return b.String()
}

func TestScheduleInactive(t *testing.T) {
	// Berlin business hours with Good Friday 2026 as the only holiday:
	// 09:00-17:00 is 08:00-16:00 UTC before 29 March and 07:00-15:00 UTC
	// from then on.
	berlin := mustCompile(t, ScheduleSpec{Name: "berlin", TimeZone: "Europe/Berlin",
		Weekly:   []WeeklyRule{{Days: []string{"mon-fri"}, Hours: []string{"09:00-17:00"}}},
		Holidays: Holidays{Dates: []string{"2026-04-03"}},
		Maintenance: []Maintenance{{Start: utc("2026-04-01T10:00:00Z"), End: utc("2026-04-01T12:00:00Z")},
			{Start: utc("2026-04-01T15:30:00Z"), End: utc("2026-04-01T16:00:00Z")}}})
	berlinNights := mustCompile(t, ScheduleSpec{Name: "berlin-nights", TimeZone: "Europe/Berlin",
		Weekly: []WeeklyRule{{Days: []string{"mon-sun"}, Hours: []string{"02:00-03:00"}}}})
	tests := []struct {
		name     string
		s        *Schedule
		from, to string
		want     [][2]int64
	}{
		{"business hours across the start of DST follow local time", berlin, "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z", spans(
			"2026-03-27T00:00:00Z", "2026-03-27T08:00:00Z",
			"2026-03-27T16:00:00Z", "2026-03-30T07:00:00Z",
			"2026-03-30T15:00:00Z", "2026-03-31T00:00:00Z")},
		{"a holiday is off all local day, and maintenance in business hours is off", berlin, "2026-04-01T00:00:00Z", "2026-04-04T00:00:00Z", spans(
			"2026-04-01T00:00:00Z", "2026-04-01T07:00:00Z",
			"2026-04-01T10:00:00Z", "2026-04-01T12:00:00Z",
			"2026-04-01T15:00:00Z", "2026-04-02T07:00:00Z",
			"2026-04-02T15:00:00Z", "2026-04-04T00:00:00Z")},
		{"a range starting and ending inside off hours is clipped to it", berlin, "2026-03-27T05:30:00Z", "2026-03-28T12:15:30Z", spans(
			"2026-03-27T05:30:00Z", "2026-03-27T08:00:00Z",
			"2026-03-27T16:00:00Z", "2026-03-28T12:15:30Z")},
		{"a range inside business hours has no off hours", berlin, "2026-03-30T08:00:00Z", "2026-03-30T09:00:00Z", spans()},
		{"the hour the clocks skip is never on", berlinNights, "2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z", spans(
			"2026-03-28T00:00:00Z", "2026-03-28T01:00:00Z",
			"2026-03-28T02:00:00Z", "2026-03-30T00:00:00Z")},
		{"the hour the clocks repeat is on twice", berlinNights, "2026-10-24T23:00:00Z", "2026-10-25T04:00:00Z", spans(
			"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z",
			"2026-10-25T02:00:00Z", "2026-10-25T04:00:00Z")},
		{"an always-on schedule has none", AlwaysOn(), "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z", spans()},
		{"an empty range has none", berlin, "2026-03-28T00:00:00Z", "2026-03-28T00:00:00Z", spans()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Inactive(utc(tt.from), utc(tt.to))
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("Inactive(%s, %s)\n got %s\nwant %s", tt.from, tt.to, formatSpans(got), formatSpans(tt.want))
			}
			if ref := inactiveByMinute(tt.s, utc(tt.from), utc(tt.to)); !slices.Equal(got, ref) {
				t.Errorf("Inactive disagrees with Active minute by minute:\n got %s\nwant %s", formatSpans(got), formatSpans(ref))
			}
		})
	}
}

func TestScheduleInactiveAgreesWithActiveOverAYear(t *testing.T) {
	for _, spec := range []ScheduleSpec{
		berlinBusinessHours, nyBusinessHours,
		{Name: "late", Weekly: []WeeklyRule{{Days: []string{"fri-mon"}, Hours: []string{"22:00-24:00"}}}},
		{Name: "ny-nights", TimeZone: "America/New_York", Weekly: []WeeklyRule{{Days: []string{"mon-sun"}, Hours: []string{"01:00-03:00"}}}},
		{Name: "lord-howe", TimeZone: "Australia/Lord_Howe", // a 30-minute DST shift
			Weekly: []WeeklyRule{{Days: []string{"sat", "sun"}, Hours: []string{"01:30-02:30", "10:00-12:00"}}}},
		{Name: "kathmandu-holidays", TimeZone: "Asia/Kathmandu", Holidays: Holidays{Country: "us"}}, // +05:45
	} {
		s := mustCompile(t, spec)
		t.Run(spec.Name+" says what Active says for every minute of 2026", func(t *testing.T) {
			from, to := utc("2025-12-31T23:59:30Z"), utc("2027-01-01T00:00:10Z")
			if got, want := s.Inactive(from, to), inactiveByMinute(s, from, to); !slices.Equal(got, want) {
				t.Errorf("got %d spans, want %d; first difference at %s", len(got), len(want), firstDifference(got, want))
			}
		})
	}
}

func firstDifference(a, b [][2]int64) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("span %d: got %s, want %s", i, formatSpans(a[i:i+1]), formatSpans(b[i:i+1]))
		}
	}
	return fmt.Sprintf("span %d", min(len(a), len(b)))
}

// BenchmarkScheduleInactive finds the off hours of 28 days, as a chart of
// a business-hours SLO does, and compares with asking Active every minute.
func BenchmarkScheduleInactive(b *testing.B) {
	s := mustCompile(b, berlinBusinessHours)
	from := utc("2026-03-01T00:00:00Z")
	to := from.Add(28 * 24 * time.Hour)
	b.Run("by day", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Inactive(from, to)
		}
	})
	b.Run("by minute", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			inactiveByMinute(s, from, to)
		}
	})
}
