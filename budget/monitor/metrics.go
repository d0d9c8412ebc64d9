package monitor

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteMetrics writes every SLO's latest evaluation in the Prometheus text
// format: objective, SLI per window, budget remaining and burn rates, each
// labelled service, slo and team. Windows without data are left out rather
// than written as NaN. It is safe for concurrent use.
func (m *Monitor) WriteMetrics(w io.Writer) {
	snap := m.Snapshot()
	type row struct {
		labels string
		value  float64
	}
	families := []struct {
		name, help string
		rows       []row
	}{
		{name: "slogate_slo_objective_ratio", help: "Objective of the SLO as a ratio."},
		{name: "slogate_slo_sli_ratio", help: "SLI over the SLO window and over each burn-rate window."},
		{name: "slogate_slo_error_budget_remaining_ratio", help: "Error budget remaining over the SLO window; below zero once overspent."},
		{name: "slogate_slo_burn_rate", help: "Error-budget burn rate over each window; 1 spends the budget exactly over the SLO window."},
		{name: "slogate_slo_events", help: "Good and total events (or minutes, for timeslices) in the SLO window."},
		{name: "slogate_slo_data_age_seconds", help: "Seconds since the end of the latest minute with events."},
		{name: "slogate_slo_schedule_active", help: "1 while the SLO's schedule spends budget, else 0."},
	}
	add := func(i int, labels string, v float64) { families[i].rows = append(families[i].rows, row{labels, v}) }
	for _, svc := range snap.Services {
		for _, s := range svc.SLOs {
			base := fmt.Sprintf(`service=%s,slo=%s,team=%s`, quote(s.Service), quote(s.Name), quote(svc.Team))
			add(0, base, s.Objective/100)
			if s.Budget.SLI != nil {
				add(1, base+`,window=`+quote(s.Window), *s.Budget.SLI)
			}
			for _, b := range s.Burn {
				if b.Rate == nil {
					continue
				}
				add(1, base+`,window=`+quote(b.Window), 1-*b.Rate*(1-s.Objective/100))
				add(3, base+`,window=`+quote(b.Window), *b.Rate)
			}
			if s.Budget.RemainingRatio != nil {
				add(2, base, *s.Budget.RemainingRatio)
			}
			add(4, base+`,kind="good"`, s.Budget.Good)
			add(4, base+`,kind="total"`, s.Budget.Total)
			if s.Data.AgeSeconds != nil {
				add(5, base, *s.Data.AgeSeconds)
			}
			active := 0.0
			if s.Schedule.Active {
				active = 1
			}
			add(6, base, active)
		}
	}
	var sb strings.Builder
	for _, f := range families {
		if len(f.rows) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "# HELP %s %s\n# TYPE %s gauge\n", f.name, f.help, f.name)
		for _, r := range f.rows {
			fmt.Fprintf(&sb, "%s{%s} %s\n", f.name, r.labels, strconv.FormatFloat(r.value, 'g', -1, 64))
		}
	}
	io.WriteString(w, sb.String())
}

func quote(s string) string { return strconv.Quote(s) }
