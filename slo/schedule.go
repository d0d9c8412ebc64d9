package slo

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	// Schedules name IANA zones; embedding the zone database keeps them
	// working in minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/rickar/cal/v2"
)

// AlwaysName is the name of the built-in schedule that is active every
// minute; SLOs without a schedule use it.
const AlwaysName = "always"

const (
	minutesPerDay = 24 * 60
	secondsPerDay = 24 * 60 * 60
	dayWords      = (minutesPerDay + 63) / 64

	// Holidays are precomputed for local days of these years; days outside
	// them are computed on demand, which is correct but slower.
	holidayFirstYear = 1970
	holidayLastYear  = 2199
)

// Schedule is a compiled schedule: it says, minute by minute, whether an
// SLO's budget is spent. A Schedule is immutable once compiled and safe for
// concurrent use.
type Schedule struct {
	// Name is the schedule's name from the config, or AlwaysName.
	Name string
	// Location is the time zone the weekly rules and holidays are read in.
	Location *time.Location

	always      bool
	allWeek     bool            // no weekly rules: every minute of every day
	week        [7]dayMinutes   // by time.Weekday
	holidays    []uint64        // bit per local day since holidayBase
	holidayBase int64           // local day number (days since 1970-01-01) of bit 0
	hasHolidays bool            // any holiday at all, so Active can skip the lookup
	calendar    []*cal.Holiday  // for days outside the precomputed range
	dates       map[int64]bool  // explicit dates by local day number, same purpose
	maintenance []maintenanceSp // sorted by start, non-overlapping
}

// dayMinutes has one bit per minute of a local day.
type dayMinutes [dayWords]uint64

// maintenanceSp is a maintenance window in Unix seconds, [start, end).
type maintenanceSp struct{ start, end int64 }

// AlwaysOn returns the built-in schedule that is active every minute.
func AlwaysOn() *Schedule {
	return &Schedule{Name: AlwaysName, Location: time.UTC, always: true, allWeek: true}
}

// IsAlways reports whether every minute is active, so callers can skip
// calling Active.
func (s *Schedule) IsAlways() bool { return s.always }

// Active reports whether the minute starting at t spends budget: false in a
// maintenance window, on a holiday (a local date in s.Location), or outside
// the weekly rules' hours of the local weekday. It evaluates local wall-clock
// time, so a 09:00-17:00 rule keeps meaning 09:00-17:00 across DST changes.
// It does not allocate.
func (s *Schedule) Active(t time.Time) bool {
	if s.always {
		return true
	}
	unix := t.Unix()
	if len(s.maintenance) > 0 && s.inMaintenance(unix) {
		return false
	}
	_, offset := t.In(s.Location).Zone()
	local := unix + int64(offset)
	day := floorDiv(local, secondsPerDay)
	if s.hasHolidays && s.isHoliday(day) {
		return false
	}
	if s.allWeek {
		return true
	}
	minute := (local - day*secondsPerDay) / 60
	weekday := (day + 4) % 7 // 1970-01-01 was a Thursday
	if weekday < 0 {
		weekday += 7
	}
	return s.week[weekday][minute>>6]&(1<<(minute&63)) != 0
}

// Inactive returns the stretches of [from, to] during which s spends no
// budget (maintenance, holidays and hours outside the weekly rules), as
// [start, end) pairs of Unix seconds, merged and clipped to [from, to]. It
// answers minute by minute exactly as Active does for each minute starting
// on a whole Unix minute, but works a day at a time: it steps through the
// zone's offset changes (time.Time.ZoneBounds) and each local day's weekly
// hours, so a year costs a few hundred steps, not half a million calls of
// Active. The result is never nil; it is empty for an always-on schedule.
func (s *Schedule) Inactive(from, to time.Time) [][2]int64 {
	out := [][2]int64{}
	lo, hi := from.Unix(), to.Unix()
	if s.always || hi <= lo {
		return out
	}
	// Minutes are judged by their start, so work on whole minutes: the
	// first is the one holding lo, the last the one starting before hi.
	first, last := floorDiv(lo, 60)*60, ceilMinute(hi)
	var spans []maintenanceSp // any [start, end) of Unix seconds, for mergeSpans
	add := func(start, end, clipFrom, clipTo int64) {
		// A minute starting at u is inactive when start <= u < end, so the
		// stretch of whole minutes is [ceil(start), ceil(end)).
		start, end = max(ceilMinute(start), clipFrom), min(ceilMinute(end), clipTo)
		if start < end {
			spans = append(spans, maintenanceSp{start, end})
		}
	}
	for _, m := range s.maintenance {
		add(m.start, m.end, first, last)
	}
	if s.hasHolidays || !s.allWeek {
		var offRuns [7][][2]int64 // inactive minutes of each weekday, [from, to)
		for d := range 7 {
			offRuns[d] = s.week[d].offRuns()
		}
		for seg := first; seg < last; {
			// Within one zone period the offset is fixed, so local time is
			// Unix time plus it.
			lt := time.Unix(seg, 0).In(s.Location)
			_, offset := lt.Zone()
			segEnd := last
			if _, end := lt.ZoneBounds(); !end.IsZero() {
				segEnd = min(segEnd, ceilMinute(end.Unix()))
			}
			off := int64(offset)
			lastDay := floorDiv(segEnd-1+off, secondsPerDay)
			for day := floorDiv(seg+off, secondsPerDay); day <= lastDay; day++ {
				midnight := day*secondsPerDay - off // Unix time of local midnight
				if s.hasHolidays && s.isHoliday(day) {
					add(midnight, midnight+secondsPerDay, seg, segEnd)
					continue
				}
				if s.allWeek {
					continue
				}
				for _, r := range offRuns[mod7(day+4)] { // 1970-01-01 was a Thursday
					add(midnight+r[0]*60, midnight+r[1]*60, seg, segEnd)
				}
			}
			seg = segEnd
		}
	}
	for _, sp := range mergeSpans(spans) {
		if start, end := max(sp.start, lo), min(sp.end, hi); start < end {
			out = append(out, [2]int64{start, end})
		}
	}
	return out
}

// offRuns returns the runs of minutes not set in d, as [from, to) minutes
// of the day.
func (d *dayMinutes) offRuns() [][2]int64 {
	var runs [][2]int64
	start := int64(-1)
	for m := int64(0); m <= minutesPerDay; m++ {
		on := m == minutesPerDay || d[m>>6]&(1<<(m&63)) != 0
		switch {
		case !on && start < 0:
			start = m
		case on && start >= 0:
			runs = append(runs, [2]int64{start, m})
			start = -1
		}
	}
	return runs
}

// ceilMinute rounds Unix seconds up to a whole minute.
func ceilMinute(unix int64) int64 { return -floorDiv(-unix, 60) * 60 }

func mod7(n int64) int64 { return (n%7 + 7) % 7 }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

func (s *Schedule) inMaintenance(unix int64) bool {
	// Few windows in practice; a binary search keeps long lists cheap too.
	lo, hi := 0, len(s.maintenance)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.maintenance[mid].end <= unix {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(s.maintenance) && s.maintenance[lo].start <= unix
}

func (s *Schedule) isHoliday(day int64) bool {
	i := day - s.holidayBase
	if i >= 0 && i < int64(len(s.holidays))*64 {
		return s.holidays[i>>6]&(1<<(i&63)) != 0
	}
	if s.dates[day] {
		return true
	}
	y, m, d := time.Unix(day*secondsPerDay, 0).UTC().Date()
	for year := y - 1; year <= y+1; year++ {
		for _, h := range s.calendar {
			if _, obs := h.Calc(year); !obs.IsZero() {
				oy, om, od := obs.Date()
				if oy == y && om == m && od == d {
					return true
				}
			}
		}
	}
	return false
}

// dayNumber is the number of days from 1970-01-01 to a civil date.
func dayNumber(y int, m time.Month, d int) int64 {
	return floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), secondsPerDay)
}

// CompileSchedule validates spec and compiles it. Its error is Problems with
// field paths relative to the schedule and no file or line.
func CompileSchedule(spec ScheduleSpec) (*Schedule, error) {
	r := &reporter{}
	s := compileSchedule(spec, r, "")
	if len(r.problems) > 0 {
		return nil, r.problems
	}
	return s, nil
}

// compileSchedule reports problems at field paths under path and returns
// nil if there were any.
func compileSchedule(spec ScheduleSpec, r *reporter, path string) *Schedule {
	before := len(r.problems)
	s := &Schedule{Name: spec.Name, Location: time.UTC}

	if spec.TimeZone != "" {
		switch loc, err := time.LoadLocation(spec.TimeZone); {
		case spec.TimeZone == "Local":
			r.add(field(path, "timeZone"), "must be an IANA zone such as Europe/Berlin, not the host's Local zone")
		case err != nil:
			r.add(field(path, "timeZone"), "unknown time zone %q; want an IANA zone such as Europe/Berlin or America/New_York", spec.TimeZone)
		default:
			s.Location = loc
		}
	}

	s.allWeek = len(spec.Weekly) == 0
	for i, rule := range spec.Weekly {
		rp := index(field(path, "weekly"), i)
		days := parseDays(rule.Days, r, field(rp, "days"))
		var minutes dayMinutes
		if len(rule.Hours) == 0 {
			r.add(field(rp, "hours"), `required: local time ranges such as ["09:00-17:00"]`)
		}
		for j, h := range rule.Hours {
			from, to, msg := parseRange(h)
			if msg != "" {
				r.add(index(field(rp, "hours"), j), "%s", msg)
				continue
			}
			for m := from; m < to; m++ {
				minutes[m>>6] |= 1 << (m & 63)
			}
		}
		for d := range 7 {
			if days[d] {
				for w := range minutes {
					s.week[d][w] |= minutes[w]
				}
			}
		}
	}

	var calendar []*cal.Holiday
	if spec.Holidays.Country != "" {
		hs, msg := countryHolidays(spec.Holidays.Country)
		if msg != "" {
			r.add(field(field(path, "holidays"), "country"), "%s", msg)
		}
		calendar = hs
	}
	dates := map[int64]bool{}
	for i, ds := range spec.Holidays.Dates {
		d, err := time.Parse(time.DateOnly, ds)
		if err != nil {
			r.add(index(field(field(path, "holidays"), "dates"), i), "must be a date as YYYY-MM-DD, got %q", ds)
			continue
		}
		dates[dayNumber(d.Date())] = true
	}
	s.setHolidays(calendar, dates)

	for i, m := range spec.Maintenance {
		mp := index(field(path, "maintenance"), i)
		switch {
		case m.Start.IsZero():
			r.add(field(mp, "start"), "required: a timestamp such as 2026-06-01T02:00:00Z")
		case m.End.IsZero():
			r.add(field(mp, "end"), "required: a timestamp such as 2026-06-01T04:00:00Z")
		case !m.End.After(m.Start):
			r.add(field(mp, "end"), "must be after start (%s), got %s", m.Start.Format(time.RFC3339), m.End.Format(time.RFC3339))
		default:
			s.maintenance = append(s.maintenance, maintenanceSp{m.Start.Unix(), m.End.Unix()})
		}
	}
	s.maintenance = mergeSpans(s.maintenance)

	if len(r.problems) > before {
		return nil
	}
	full := true
	for d := range 7 {
		for w := range dayWords {
			if s.week[d][w] != fullDay[w] {
				full = false
			}
		}
	}
	if full {
		s.allWeek = true
	}
	s.always = s.allWeek && !s.hasHolidays && len(s.maintenance) == 0
	return s
}

// fullDay has every minute of a day set.
var fullDay = func() dayMinutes {
	var d dayMinutes
	for m := range minutesPerDay {
		d[m>>6] |= 1 << (m & 63)
	}
	return d
}()

func (s *Schedule) setHolidays(calendar []*cal.Holiday, dates map[int64]bool) {
	s.calendar, s.dates = calendar, dates
	s.hasHolidays = len(calendar) > 0 || len(dates) > 0
	if !s.hasHolidays {
		return
	}
	s.holidayBase = dayNumber(holidayFirstYear, time.January, 1)
	n := dayNumber(holidayLastYear+1, time.January, 1) - s.holidayBase
	s.holidays = make([]uint64, (n+63)/64)
	set := func(day int64) {
		if i := day - s.holidayBase; i >= 0 && i < n {
			s.holidays[i>>6] |= 1 << (i & 63)
		}
	}
	for day := range dates {
		set(day)
	}
	// A holiday observed on another day can cross into the next or previous
	// year (New Year's Day on a Saturday is observed on 31 December), so
	// the observed date, not the year asked for, decides where it lands.
	for year := holidayFirstYear - 1; year <= holidayLastYear+1; year++ {
		for _, h := range calendar {
			if _, obs := h.Calc(year); !obs.IsZero() {
				set(dayNumber(obs.Date()))
			}
		}
	}
}

// mergeSpans sorts spans and joins overlapping or touching ones.
func mergeSpans(spans []maintenanceSp) []maintenanceSp {
	slices.SortFunc(spans, func(a, b maintenanceSp) int { return cmp.Compare(a.start, b.start) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// parseDays reads day names and ranges ("mon", "mon-fri", "fri-mon") into a
// set indexed by time.Weekday.
func parseDays(specs []string, r *reporter, path string) [7]bool {
	var days [7]bool
	if len(specs) == 0 {
		r.add(path, "required: weekdays such as [mon-fri] or [sat, sun]")
	}
	for i, spec := range specs {
		from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(spec)), "-")
		a, okA := dayNames[strings.TrimSpace(from)]
		b, okB := a, okA
		if isRange {
			b, okB = dayNames[strings.TrimSpace(to)]
		}
		if !okA || !okB {
			r.add(index(path, i), "must be a weekday (mon, tue, wed, thu, fri, sat, sun) or a range such as mon-fri, got %q", spec)
			continue
		}
		// Ranges run Monday to Sunday and may wrap ("fri-mon").
		for d := a; ; d = (d + 1) % 7 {
			days[d] = true
			if d == b {
				break
			}
		}
	}
	return days
}

// parseRange reads "HH:MM-HH:MM" into minutes of the day [from, to), or
// returns why it cannot.
func parseRange(s string) (from, to int, msg string) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	bad := fmt.Sprintf("must be a time range such as 09:00-17:00, got %q", s)
	if !ok {
		return 0, 0, bad
	}
	from, okA := parseClock(strings.TrimSpace(a))
	to, okB := parseClock(strings.TrimSpace(b))
	if !okA || !okB || from == minutesPerDay {
		return 0, 0, bad
	}
	if to <= from {
		return 0, 0, fmt.Sprintf("end must be after start in %q; use two ranges to cross midnight (e.g. 22:00-24:00 and 00:00-06:00)", s)
	}
	return from, to, ""
}

// parseClock reads "HH:MM" (00:00 to 24:00) into minutes since midnight.
func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return 0, false
	}
	return hh*60 + mm, true
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
