package alerting_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/slo"
)

// scenario is a testdata/alerting/*.yaml file: an SLO, the traffic it
// sees and what alerts that traffic must (not) raise.
type scenario struct {
	// Description says what the scenario proves, for people.
	Description string `yaml:"description"`
	SLO         struct {
		Objective float64           `yaml:"objective"`
		Window    string            `yaml:"window"`
		Schedule  *slo.ScheduleSpec `yaml:"schedule"`
	} `yaml:"slo"`
	// Start is the first minute of traffic; evaluation runs from
	// EvaluateAfter later to the end of the last segment, so a warm-up of
	// weeks fills the SLO's window without being evaluated minute by
	// minute.
	Start         time.Time `yaml:"start"`
	EvaluateAfter duration  `yaml:"evaluateAfter"`
	// Segments follow each other from Start.
	Segments []segment `yaml:"segments"`
	Expect   struct {
		// Pages and Tickets are exact alert counts when set.
		Pages   *int `yaml:"pages"`
		Tickets *int `yaml:"tickets"`
		// DetectWithin bounds the first page's start after the start of
		// the incident segment; ResolveWithin its resolution after the
		// segment's end.
		DetectWithin  duration `yaml:"detectWithin"`
		ResolveWithin duration `yaml:"resolveWithin"`
	} `yaml:"expect"`
}

// segment is a stretch of steady traffic.
type segment struct {
	Duration   duration `yaml:"duration"`
	PerMinute  float64  `yaml:"perMinute"`
	ErrorRatio float64  `yaml:"errorRatio"`
	// Incident marks the segment the expectations' times refer to.
	Incident bool `yaml:"incident"`
}

// duration is a time.Duration written as Go writes them, or in whole days
// ("7d").
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if strings.HasSuffix(n.Value, "d") {
		w, err := slo.ParseWindow(n.Value)
		if err != nil {
			return err
		}
		*d = duration(w.Rolling)
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	*d = duration(v)
	return err
}

func loadScenario(t *testing.T, path string) scenario {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if len(s.Segments) == 0 || s.Start.IsZero() {
		t.Fatalf("%s: want start and at least one segment", path)
	}
	return s
}

func TestScenarios(t *testing.T) {
	paths, err := filepath.Glob("../testdata/alerting/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenarios in testdata/alerting: %v", err)
	}
	for _, path := range paths {
		sc := loadScenario(t, path)
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Log(sc.Description)
			win, err := slo.ParseWindow(sc.SLO.Window)
			if err != nil {
				t.Fatalf("window %q: %v", sc.SLO.Window, err)
			}
			s := slo.SLO{Name: "availability", Objective: sc.SLO.Objective, Window: sc.SLO.Window, Win: win}
			var sched *slo.Schedule
			if sc.SLO.Schedule != nil {
				if sched, err = slo.CompileSchedule(*sc.SLO.Schedule); err != nil {
					t.Fatalf("compile schedule: %v", err)
				}
			}
			h := budget.NewHistory()
			m := budget.MinuteOf(sc.Start)
			var incFrom, incTo time.Time
			for _, seg := range sc.Segments {
				if seg.Incident {
					incFrom = m.Time()
				}
				for range time.Duration(seg.Duration) / time.Minute {
					h.Add(m, budget.Counts{Good: seg.PerMinute * (1 - seg.ErrorRatio), Total: seg.PerMinute})
					m++
				}
				if seg.Incident {
					incTo = m.Time()
				}
			}
			alerts, err := alerting.Backtest(alerting.BacktestConfig{
				Service: "checkout",
				SLOs:    []alerting.BacktestSLO{{SLO: s, Schedule: sched, History: h}},
				From:    sc.Start.Add(time.Duration(sc.EvaluateAfter)),
				To:      (m - 1).Time(),
			})
			if err != nil {
				t.Fatal(err)
			}
			var pages, tickets []alerting.Alert
			for _, a := range alerts {
				logAlert(t, a, incFrom, incTo)
				if a.Severity == alerting.SeverityPage {
					pages = append(pages, a)
				} else {
					tickets = append(tickets, a)
				}
			}
			if want := sc.Expect.Pages; want != nil && len(pages) != *want {
				t.Errorf("got %d pages, want %d", len(pages), *want)
			}
			if want := sc.Expect.Tickets; want != nil && len(tickets) != *want {
				t.Errorf("got %d tickets, want %d", len(tickets), *want)
			}
			if within := time.Duration(sc.Expect.DetectWithin); within > 0 {
				if len(pages) == 0 {
					t.Fatalf("got no page, want one within %v of %v", within, incFrom)
				}
				if got := pages[0].Started.Sub(incFrom); got < 0 || got > within {
					t.Errorf("got page %v after the incident started, want within %v", got, within)
				}
			}
			if within := time.Duration(sc.Expect.ResolveWithin); within > 0 {
				if len(pages) == 0 || pages[0].Resolved.IsZero() {
					t.Fatalf("got no resolved page, want one resolved within %v of %v", within, incTo)
				}
				if got := pages[0].Resolved.Sub(incTo); got > within {
					t.Errorf("got page resolved %v after recovery, want within %v", got, within)
				}
			}
		})
	}
}

// logAlert prints an alert's detection and reset times, relative to the
// incident's start and end when the scenario marks one.
func logAlert(t *testing.T, a alerting.Alert, incFrom, incTo time.Time) {
	t.Helper()
	reset := "still firing"
	if !a.Resolved.IsZero() {
		reset = a.Resolved.Format(time.RFC3339)
		if !incTo.IsZero() {
			reset += " (" + a.Resolved.Sub(incTo).String() + " after recovery)"
		}
	}
	rel := ""
	if !incFrom.IsZero() {
		rel = " (" + a.Started.Sub(incFrom).String() + " after incident start)"
	}
	for _, s := range a.SLOs {
		rule := "budget exhausted"
		if s.Rule.Long != 0 {
			rule = s.Rule.String()
		}
		t.Logf("%s detected %s%s, reset %s; %s: %s, long %.2f short %.2f, exhausted %v, budget spent %.1f%%, %.1f%% left",
			a.Severity, a.Started.Format(time.RFC3339), rel, reset, s.SLO, rule, s.LongBurn, s.ShortBurn, s.Exhausted, 100*s.Spent, 100*s.RemainingRatio)
	}
}
