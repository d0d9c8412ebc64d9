package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/budget/store"
)

func TestBacktestReplaysStoredHistoryThroughTheRules(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"specs/shop.yaml": "name: shop\nowner: {team: payments}\nslos:\n  - {name: availability, objective: 99.9, window: 28d, sli: {push: {}}}\n",
		"slogate.yaml":    "storage: slogate.db\nspecs: [specs]\n",
	})
	config := filepath.Join(dir, "slogate.yaml")

	// Two days of clean traffic with a 30-minute outage at 10:00 on the
	// second day.
	outage := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	h := budget.NewHistory()
	for m := budget.MinuteOf(outage.Add(-34 * time.Hour)); m < budget.MinuteOf(outage.Add(14*time.Hour)); m++ {
		good := 100.0
		if t := m.Time(); !t.Before(outage) && t.Before(outage.Add(30*time.Minute)) {
			good = 0
		}
		h.Add(m, budget.Counts{Good: good, Total: 100})
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "slogate.db"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.BlockRecord
	for _, b := range h.Dirty() {
		recs = append(recs, store.BlockRecord{SLO: monitor.Key("shop", "availability"), Block: b})
	}
	if err := st.Save(context.Background(), recs, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	o := backtestOptions{config: config, service: "shop", from: outage.Add(-6 * time.Hour).Format(time.RFC3339),
		to: outage.Add(6 * time.Hour).Format(time.RFC3339)}
	var out bytes.Buffer
	if err := backtest(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("backtest printed:\n%s", out.String())
	if !strings.Contains(out.String(), "page   detected 2026-11-24T10:0") {
		t.Fatalf("no page detected within 10 minutes of the outage at 10:00:\n%s", out.String())
	}

	o.json = true
	out.Reset()
	if err := backtest(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	var alerts []alerting.Alert
	if err := json.Unmarshal(out.Bytes(), &alerts); err != nil {
		t.Fatalf("--json printed %q: %v", out.String(), err)
	}
	var page *alerting.Alert
	for i := range alerts {
		if alerts[i].Severity == alerting.SeverityPage {
			page = &alerts[i]
		}
	}
	end := outage.Add(30 * time.Minute)
	if page == nil || page.Started.Sub(outage) > 5*time.Minute || page.Resolved.IsZero() || page.Resolved.Sub(end) > 10*time.Minute {
		t.Fatalf("got %+v, want a page within 5 minutes of the outage that resets within 10 minutes of recovery", alerts)
	}

	for _, bad := range []backtestOptions{
		{config: config, service: "nope", from: o.from},
		{config: config, service: "shop", slo: "nope", from: o.from},
		{config: config, service: "shop", from: "yesterday"},
		{config: config, service: "shop", from: o.to, to: o.from},
	} {
		if err := backtest(context.Background(), bad, &out); err == nil {
			t.Errorf("backtest %+v: got no error", bad)
		}
	}
}
