package main

import (
	"time"

	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/slogate/slogate/alerting/promrules"
	"github.com/slogate/slogate/slo"
)

type rulesOptions struct {
	config, service, out string
	skipUnsupported      bool
}

func newRulesCmd() *cobra.Command {
	var o rulesOptions
	cmd := &cobra.Command{
		Use:   "rules [--config FILE] [--service NAME] [--out FILE] [--skip-unsupported]",
		Short: "Print Prometheus recording and alerting rules equivalent to slogate's burn-rate alerts",
		Long: `rules translates the SLOs of the server config's specs into a Prometheus rule
file, for teams that want Prometheus-native alerting as a fallback: per SLO,
the error ratio and burn rate over every burn window (5m to 3d), the SLO
window's error ratio and budget remaining, and alerts on the same burn-rate
rules slogate evaluates, with the same thresholds, low-traffic guard,
5m condition for pages and 5m hold-down (keep_firing_for, Prometheus 2.42
or later).

SLOs that PromQL cannot express exactly are refused with the reason, and
nothing is written: business-hours schedules, timeslice budgeting and push
SLIs. --skip-unsupported leaves them out instead and lists them on stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return writeRules(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "slogate.yaml", "server config file")
	f.StringVar(&o.service, "service", "", "only this service (default all)")
	f.StringVar(&o.out, "out", "", "write the rules to this file (default stdout)")
	f.BoolVar(&o.skipUnsupported, "skip-unsupported", false, "leave out the SLOs PromQL cannot express, listing them on stderr")
	return cmd
}

// writeRules writes the Prometheus rules of o's services to o.out, or out, and
// what it left out to errOut.
func writeRules(o rulesOptions, out, errOut io.Writer) error {
	cat, err := slo.Load(o.config)
	if err != nil {
		return err
	}
	services := cat.Services
	if o.service != "" {
		services = nil
		var names []string
		for _, s := range cat.Services {
			if s.Name == o.service {
				services = append(services, s)
			}
			names = append(names, s.Name)
		}
		if services == nil {
			return fmt.Errorf("service %q is not in the specs of %s; known services: %v", o.service, o.config, names)
		}
	}
	res, err := promrules.Generate(promrules.Config{
		Services:        services,
		Schedules:       cat.Schedules,
		ExternalURL:     cat.Config.ExternalURL,
		HoldDown:        time.Duration(cat.Config.Alerting.HoldDown),
		SkipUnsupported: o.skipUnsupported,
	})
	if ue := (*promrules.UnsupportedError)(nil); errors.As(err, &ue) {
		return fmt.Errorf("%w\nleave them out with --skip-unsupported, or pick a service with --service", err)
	}
	if err != nil {
		return err
	}
	for _, u := range res.Skipped {
		fmt.Fprintf(errOut, "skipped %s\n", u)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(errOut, "note: %s\n", n)
	}
	b, err := res.Rules.YAML()
	if err != nil {
		return err
	}
	if o.out == "" {
		_, err = out.Write(b)
		return err
	}
	return writeRulesFile(o.out, b)
}

// writeRulesFile replaces path with data in one rename, so a Prometheus
// reloading its rule files never reads half a file.
func writeRulesFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
