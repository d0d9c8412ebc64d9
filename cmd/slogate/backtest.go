package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/slo"
)

type backtestOptions struct {
	config, service, slo, from, to string
	json                           bool
}

func newBacktestCmd() *cobra.Command {
	var o backtestOptions
	cmd := &cobra.Command{
		Use:   "backtest --config FILE --service NAME [--slo NAME] --from TIME --to TIME",
		Short: "Replay stored history through the burn-rate rules and list the alerts that would have fired",
		Long: `backtest replays a service's stored minute buckets through the alerting
rules, minute by minute, and prints every alert that would have fired with
its detection and reset times, so a team can tune its rules on its own past.
It reads the store named by the server config and may run beside serve.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return backtest(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "slogate.yaml", "server config file")
	f.StringVar(&o.service, "service", "", "service to replay (required)")
	f.StringVar(&o.slo, "slo", "", "only this SLO (default all of the service's)")
	f.StringVar(&o.from, "from", "", "start, RFC 3339 (required)")
	f.StringVar(&o.to, "to", "", "end, RFC 3339 (default now)")
	f.BoolVar(&o.json, "json", false, "print the alerts as JSON")
	return cmd
}

func backtest(ctx context.Context, o backtestOptions, out io.Writer) error {
	if o.service == "" || o.from == "" {
		return errors.New("--service and --from are required")
	}
	from, err := time.Parse(time.RFC3339, o.from)
	if err != nil {
		return fmt.Errorf("--from must be RFC 3339 such as 2026-11-01T00:00:00Z, got %q", o.from)
	}
	to := time.Now()
	if o.to != "" {
		if to, err = time.Parse(time.RFC3339, o.to); err != nil {
			return fmt.Errorf("--to must be RFC 3339, got %q", o.to)
		}
	}
	if !to.After(from) {
		return errors.New("--to must be after --from")
	}
	cat, err := slo.Load(o.config)
	if err != nil {
		return err
	}
	var svc *slo.Service
	for _, s := range cat.Services {
		if s.Name == o.service {
			svc = s
		}
	}
	if svc == nil {
		return fmt.Errorf("service %q is not in the specs of %s", o.service, o.config)
	}
	cfg := alerting.BacktestConfig{Service: svc.Name, From: from, To: to, HoldDown: time.Duration(cat.Config.Alerting.HoldDown)}
	hist := map[string]*budget.History{}
	longest := time.Duration(0)
	rules := alerting.ConfigFor(svc) // the spec's own rules, as serve runs them
	for i, s := range svc.SLOs {
		if o.slo != "" && s.Name != o.slo {
			continue
		}
		h := budget.NewHistory()
		hist[monitor.Key(svc.Name, s.Name)] = h
		cfg.SLOs = append(cfg.SLOs, alerting.BacktestSLO{SLO: s, Schedule: cat.Schedule(s), History: h,
			Rules: rules.SLOs[i].Rules, MinBadEvents: rules.SLOs[i].MinBadEvents})
		longest = max(longest, s.Win.Longest())
	}
	if len(cfg.SLOs) == 0 {
		return fmt.Errorf("service %s has no SLO %q", svc.Name, o.slo)
	}
	st, err := store.Open(ctx, cat.Config.Storage)
	if err != nil {
		return err
	}
	defer st.Close()
	// The windows that end within [from, to] reach back one window length.
	err = st.LoadBlocks(ctx, budget.MinuteOf(from.Add(-longest)), func(r store.BlockRecord) error {
		if h := hist[r.SLO]; h != nil {
			return h.LoadBlock(r.Block)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	alerts, err := alerting.Backtest(cfg)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if alerts == nil {
			alerts = []alerting.Alert{}
		}
		return enc.Encode(alerts)
	}
	fmt.Fprintf(out, "%d alert(s) for %s from %s to %s\n", len(alerts), svc.Name, from.Format(time.RFC3339), to.Format(time.RFC3339))
	for _, a := range alerts {
		reset := "still firing"
		if !a.Resolved.IsZero() {
			reset = fmt.Sprintf("reset %s (%s)", a.Resolved.UTC().Format(time.RFC3339), a.Duration)
		}
		var slos []string
		for _, s := range a.SLOs {
			desc := fmt.Sprintf("%s budget exhausted (%.0f%% left)", s.SLO, s.RemainingRatio*100)
			if s.Rule.Long > 0 {
				desc = fmt.Sprintf("%s burn %.1fx/%.1fx over %s/%s, %.1f%% of budget spent", s.SLO, s.LongBurn, s.ShortBurn,
					slo.Window{Rolling: s.Rule.Long}, slo.Window{Rolling: s.Rule.Short}, s.Spent*100)
			}
			slos = append(slos, desc)
		}
		fmt.Fprintf(out, "%-6s detected %s, %s: %s\n", a.Severity, a.Started.UTC().Format(time.RFC3339), reset, strings.Join(slos, "; "))
	}
	return nil
}
