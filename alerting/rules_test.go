package alerting_test

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/slo"
)

const day = 24 * time.Hour

func TestDefaultRules(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		want   []float64 // burn thresholds in DefaultRules' order
	}{
		{"a 30-day window has the workbook's thresholds", 30 * day, []float64{14.4, 6, 3, 1}},
		{"a 28-day window spends the same share of budget at lower rates", 28 * day, []float64{13.44, 5.6, 2.8, 28.0 / 30}},
		{"a 7-day window scales down by 7/30", 7 * day, []float64{3.36, 1.4, 0.7, 7.0 / 30}},
		{"a window that is not positive is taken as 30 days", 0, []float64{14.4, 6, 3, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := alerting.DefaultRules(tt.window)
			if err := alerting.ValidateRules(rules); err != nil {
				t.Fatalf("got invalid default rules: %v", err)
			}
			if len(rules) != len(tt.want) {
				t.Fatalf("got %d rules, want %d", len(rules), len(tt.want))
			}
			for i, r := range rules {
				if math.Abs(r.Burn-tt.want[i]) > 1e-9 {
					t.Errorf("rule %d (%v): got burn %v, want %v", i, r, r.Burn, tt.want[i])
				}
			}
		})
	}
	t.Run("the workbook's rules pair the workbook's windows and severities", func(t *testing.T) {
		want := []alerting.Rule{
			{Severity: alerting.SeverityPage, Long: time.Hour, Short: 5 * time.Minute, Burn: 14.4},
			{Severity: alerting.SeverityPage, Long: 6 * time.Hour, Short: 30 * time.Minute, Burn: 6},
			{Severity: alerting.SeverityTicket, Long: day, Short: 2 * time.Hour, Burn: 3},
			{Severity: alerting.SeverityTicket, Long: 3 * day, Short: 6 * time.Hour, Burn: 1},
		}
		got := alerting.DefaultRules(30 * day)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("rule %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

func TestValidateRules(t *testing.T) {
	page := alerting.Rule{Severity: alerting.SeverityPage, Long: time.Hour, Short: 5 * time.Minute, Burn: 14.4}
	tests := []struct {
		name string
		edit func(*alerting.Rule)
		want string // in the error; empty for none
	}{
		{"a workbook rule is valid", func(*alerting.Rule) {}, ""},
		{"an unknown severity is rejected", func(r *alerting.Rule) { r.Severity = "sms" }, `severity "sms"`},
		{"a long window that is not a burn window is rejected", func(r *alerting.Rule) { r.Long = 90 * time.Minute }, "long window 1h30m0s"},
		{"a short window that is not a burn window is rejected", func(r *alerting.Rule) { r.Short = time.Minute }, "short window 1m0s"},
		{"a short window as long as the long one is rejected", func(r *alerting.Rule) { r.Short = time.Hour }, "want shorter"},
		{"a threshold of zero is rejected", func(r *alerting.Rule) { r.Burn = 0 }, "burn threshold 0"},
		{"a NaN threshold is rejected", func(r *alerting.Rule) { r.Burn = math.NaN() }, "burn threshold NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := page
			tt.edit(&r)
			err := alerting.ValidateRules([]alerting.Rule{r})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEffectiveConfig(t *testing.T) {
	zero, five := 0.0, 5.0
	month, _ := slo.ParseWindow("month")
	own := []slo.AlertRule{{Severity: "page", Long: model.Duration(time.Hour), Short: model.Duration(5 * time.Minute), Burn: 20}}
	tests := []struct {
		name         string
		slo          slo.SLO
		rules        []alerting.Rule
		minBadEvents float64
	}{
		{"an SLO without alerting settings gets the defaults scaled to its window",
			slo.SLO{Name: "a", Win: slo.Window{Rolling: 28 * day}}, alerting.DefaultRules(28 * day), alerting.DefaultMinBadEvents},
		{"a calendar month is scaled as 30 days",
			slo.SLO{Name: "a", Win: month}, alerting.DefaultRules(30 * day), alerting.DefaultMinBadEvents},
		{"the spec's own rules replace the defaults",
			slo.SLO{Name: "a", Win: slo.Window{Rolling: 28 * day}, Alerting: &slo.SLOAlerting{Rules: own}},
			[]alerting.Rule{{Severity: "page", Long: time.Hour, Short: 5 * time.Minute, Burn: 20}}, alerting.DefaultMinBadEvents},
		{"an empty list of rules means no burn-rate rules",
			slo.SLO{Name: "a", Win: slo.Window{Rolling: 28 * day}, Alerting: &slo.SLOAlerting{Rules: []slo.AlertRule{}}}, []alerting.Rule{}, alerting.DefaultMinBadEvents},
		{"the spec's minBadEvents is kept",
			slo.SLO{Name: "a", Win: slo.Window{Rolling: 7 * day}, Alerting: &slo.SLOAlerting{MinBadEvents: &five}}, alerting.DefaultRules(7 * day), 5},
		{"the spec's minBadEvents 0 is no guard, which is negative",
			slo.SLO{Name: "a", Win: slo.Window{Rolling: 7 * day}, Alerting: &slo.SLOAlerting{MinBadEvents: &zero}}, alerting.DefaultRules(7 * day), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := alerting.ConfigFor(&slo.Service{Name: "svc", SLOs: []slo.SLO{tt.slo}}).Effective()
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.SLOs[0]
			if got.Rules == nil || !reflect.DeepEqual(got.Rules, tt.rules) || got.MinBadEvents != tt.minBadEvents {
				t.Errorf("got rules %v and minBadEvents %v, want %v and %v", got.Rules, got.MinBadEvents, tt.rules, tt.minBadEvents)
			}
			if cfg.HoldDown != alerting.DefaultHoldDown {
				t.Errorf("got hold-down %v, want %v", cfg.HoldDown, alerting.DefaultHoldDown)
			}
		})
	}
	t.Run("a config the evaluator refuses is refused", func(t *testing.T) {
		_, err := alerting.Config{Service: "svc", SLOs: []alerting.SLOConfig{{Name: "a"}}}.Effective()
		if err == nil || !strings.Contains(err.Error(), "no rules and window") {
			t.Errorf("got error %v, want one about the missing window", err)
		}
	})
}
