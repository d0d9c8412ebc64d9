package slo

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// FuzzLoadService feeds arbitrary bytes to the spec loader: it must never
// panic, every problem must say something, and a spec it accepts must have
// its parsed fields filled.
func FuzzLoadService(f *testing.F) {
	for _, pattern := range []string{"../testdata/specs/*.yaml", "../testdata/invalid/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("<<: {name: x}\n<<: [*y]\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		svc, r := parseService("fuzz.yaml", data)
		for _, p := range r.problems {
			if p.Message == "" || p.File != "fuzz.yaml" {
				t.Errorf("problem without message or file: %+v", p)
			}
		}
		if svc == nil || len(r.problems) > 0 {
			return
		}
		if len(svc.SLOs) == 0 {
			t.Fatal("accepted a service without SLOs")
		}
		for _, o := range svc.SLOs {
			if o.Win == (Window{}) || o.Budgeting == "" {
				t.Errorf("accepted SLO %q without parsed window or budgeting", o.Name)
			}
			if o.SLI.Ratio != nil && o.SLI.Ratio.TotalMatchers == nil {
				t.Errorf("accepted ratio SLO %q without total matchers", o.Name)
			}
			if o.SLI.Latency != nil && (o.SLI.Latency.BucketMatchers == nil || o.SLI.Latency.CountMatchers == nil) {
				t.Errorf("accepted latency SLO %q without matchers", o.Name)
			}
		}
	})
}

// FuzzScheduleInactive checks Inactive against Active, minute by minute,
// for schedules and ranges built from the fuzzer's numbers: weekly hours on
// some days, a holiday, a maintenance window, in zones with DST changes and
// offsets that are not whole hours.
func FuzzScheduleInactive(f *testing.F) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia"}
	f.Add(uint8(1), uint8(0b0111110), uint16(9*60), uint16(8*60), int16(3), int32(100), uint16(120), int64(0), uint32(10*86400))
	f.Add(uint8(2), uint8(0b1111111), uint16(60), uint16(120), int16(-1), int32(-5), uint16(0), int64(-86400*5+37), uint32(3*86400+11))
	f.Add(uint8(3), uint8(0b1000001), uint16(90), uint16(60), int16(0), int32(0), uint16(30), int64(86400*210), uint32(5*86400))
	f.Fuzz(func(t *testing.T, zone, days uint8, start, length uint16, holiday int16, maint int32, maintLen uint16, fromOff int64, span uint32) {
		base := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC) // near the northern spring DST changes
		spec := ScheduleSpec{Name: "fuzz", TimeZone: zones[int(zone)%len(zones)]}
		from, to := int(start)%minutesPerDay, int(start)%minutesPerDay+1+int(length)%minutesPerDay
		to = min(to, minutesPerDay)
		var names []string
		for d, n := range []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} {
			if days&(1<<d) != 0 {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			spec.Weekly = []WeeklyRule{{Days: names, Hours: []string{fmt.Sprintf("%02d:%02d-%02d:%02d", from/60, from%60, to/60, to%60)}}}
		}
		if holiday >= 0 {
			spec.Holidays.Dates = []string{base.AddDate(0, 0, int(holiday%30)).Format(time.DateOnly)}
		}
		if maintLen > 0 {
			ms := base.Add(time.Duration(maint%(30*86400)) * time.Second)
			spec.Maintenance = []Maintenance{{Start: ms, End: ms.Add(time.Duration(maintLen) * time.Second)}}
		}
		s, err := CompileSchedule(spec)
		if err != nil {
			t.Skip(err)
		}
		lo := base.Add(time.Duration(fromOff%(365*86400)) * time.Second)
		hi := lo.Add(time.Duration(span%(20*86400)) * time.Second)
		if got, want := s.Inactive(lo, hi), inactiveByMinute(s, lo, hi); !slices.Equal(got, want) {
			t.Fatalf("%+v from %s to %s: %s", spec, lo.Format(time.RFC3339), hi.Format(time.RFC3339), firstDifference(got, want))
		}
	})
}
