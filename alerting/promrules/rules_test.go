package promrules_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/promrules"
	"github.com/slogate/slogate/internal/realtest"
	"github.com/slogate/slogate/slo"
)

var update = flag.Bool("update", false, "rewrite the golden rule files in testdata")

// goldens are the configs whose rules are kept as golden files.
var goldens = []struct {
	name, config, golden string
}{
	{"the example specs", "../../testdata/slogate.yaml", "testdata/example.rules.yml"},
	{"the edge cases", "testdata/edge/slogate.yaml", "testdata/edge.rules.yml"},
}

// generate returns the rules of the config at path, leaving out what
// PromQL cannot express.
func generate(t *testing.T, path string) (promrules.Result, []byte) {
	t.Helper()
	cat, err := slo.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := promrules.Generate(promrules.Config{
		Services:        cat.Services,
		Schedules:       cat.Schedules,
		ExternalURL:     cat.Config.ExternalURL,
		SkipUnsupported: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := res.Rules.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestRulesGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name+" give the rules in "+g.golden, func(t *testing.T) {
			_, got := generate(t, g.config)
			if *update {
				if err := os.WriteFile(g.golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(g.golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rules differ from %s (run go test -update and review the diff); got:\n%s", g.golden, got)
			}
		})
	}
}

func TestRulesPassPromtool(t *testing.T) {
	promtool := realtest.Binary(t, "promtool")
	for _, g := range goldens {
		t.Run(g.name+" give rules promtool accepts", func(t *testing.T) {
			_, b := generate(t, g.config)
			path := filepath.Join(t.TempDir(), "rules.yml")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Fatalf("promtool check rules: %v\n%s", err, out)
			}
			t.Logf("%s", bytes.TrimSpace(out))
		})
	}
}

func TestRulesRefuseWhatPromQLCannotExpress(t *testing.T) {
	cat, err := slo.Load("../../testdata/slogate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := promrules.Config{Services: cat.Services, Schedules: cat.Schedules}
	want := []struct {
		slo     string
		reasons []string
	}{
		{"billing-portal/availability", []string{`schedule "berlin-business-hours" is not always on`}},
		{"billing-portal/good-minutes", []string{"budgets timeslices", `schedule "berlin-business-hours" is not always on`}},
		{"nightly-export/delivery", []string{"pushed to slogate", "no Prometheus metric"}},
	}

	t.Run("without SkipUnsupported every such SLO is named with its reasons", func(t *testing.T) {
		_, err := promrules.Generate(cfg)
		var ue *promrules.UnsupportedError
		if !errors.As(err, &ue) {
			t.Fatalf("got error %v, want an *UnsupportedError", err)
		}
		if len(ue.SLOs) != len(want) {
			t.Fatalf("got %d unsupported SLOs, want %d: %v", len(ue.SLOs), len(want), err)
		}
		for i, w := range want {
			got := ue.SLOs[i]
			if got.Service+"/"+got.SLO != w.slo {
				t.Errorf("unsupported SLO %d: got %s/%s, want %s", i, got.Service, got.SLO, w.slo)
			}
			for _, r := range w.reasons {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("%s: got reason %q, want it to say %q", w.slo, got.Reason, r)
				}
			}
			if !strings.Contains(err.Error(), w.slo+": ") {
				t.Errorf("error %q does not name %s", err, w.slo)
			}
		}
	})

	t.Run("with SkipUnsupported they are listed and left out, the others exported", func(t *testing.T) {
		cfg := cfg
		cfg.SkipUnsupported = true
		res, err := promrules.Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var skipped []string
		for _, u := range res.Skipped {
			skipped = append(skipped, u.Service+"/"+u.SLO)
		}
		var names []string
		for _, g := range res.Rules.Groups {
			names = append(names, g.Name)
		}
		for _, w := range want {
			if !slices.Contains(skipped, w.slo) {
				t.Errorf("got skipped %v, want %s among them", skipped, w.slo)
			}
			if slices.Contains(names, "slogate/"+w.slo) {
				t.Errorf("got a group for %s, which was skipped", w.slo)
			}
		}
		for _, s := range []string{"checkout/availability", "checkout/latency", "search/availability", "search/latency", "slogate/api-availability"} {
			if !slices.Contains(names, "slogate/"+s) || !slices.Contains(names, "slogate/"+s+"/window") {
				t.Errorf("got groups %v, want slogate/%s and its window group", names, s)
			}
		}
	})

	t.Run("specs that were never validated are an error, not empty selectors", func(t *testing.T) {
		svc := &slo.Service{Name: "raw", Owner: slo.Owner{Team: "t"}, SLOs: []slo.SLO{{
			Name: "a", Objective: 99, Window: "7d", Win: slo.Window{Rolling: 7 * 24 * time.Hour},
			SLI: slo.SLI{Ratio: &slo.RatioSLI{Good: `x{a="b"}`, Total: "x"}},
		}}}
		if _, err := promrules.Generate(promrules.Config{Services: []*slo.Service{svc}}); err == nil {
			t.Fatal("got no error for a spec whose selectors were not parsed")
		}
	})
}

// alerts returns the alerting rules of the group named name.
func alerts(t *testing.T, res promrules.Result, name string) []promrules.Rule {
	t.Helper()
	for _, g := range res.Rules.Groups {
		if g.Name == name {
			var out []promrules.Rule
			for _, r := range g.Rules {
				if r.Alert != "" {
					out = append(out, r)
				}
			}
			return out
		}
	}
	t.Fatalf("no group %s", name)
	return nil
}

func TestRulesAlertLikeSlogate(t *testing.T) {
	res, _ := generate(t, "testdata/edge/slogate.yaml")
	tests := []struct {
		name, group string
		check       func(t *testing.T, rs []promrules.Rule)
	}{
		{"the default rules are scaled to the SLO's window, pages first", "slogate/payments/errors", func(t *testing.T, rs []promrules.Rule) {
			var got []string
			for _, r := range rs {
				got = append(got, r.Labels["severity"]+" "+r.Labels["long"]+"/"+r.Labels["short"]+" "+strings.Fields(r.Expr)[2])
			}
			want := []string{"page 1h/5m 0.48", "page 6h/30m 0.2", "ticket 1d/2h 0.1", "ticket 3d/6h 0.03333333333333333"}
			if !slices.Equal(got, want) {
				t.Errorf("got rules %q, want %q", got, want)
			}
		}},
		{"a page whose short window is not 5m also needs the 5m burn above its threshold", "slogate/payments/errors", func(t *testing.T, rs []promrules.Rule) {
			if !strings.Contains(rs[1].Expr, `slogate:burn_rate:ratio_rate5m{service="payments",slo="errors"} > 0.2`) {
				t.Errorf("the 6h/30m page does not check the 5m burn:\n%s", rs[1].Expr)
			}
			if strings.Contains(rs[2].Expr, "ratio_rate5m") {
				t.Errorf("a ticket checks the 5m burn:\n%s", rs[2].Expr)
			}
		}},
		{"minBadEvents 0 means no low-traffic guard", "slogate/payments/errors", func(t *testing.T, rs []promrules.Rule) {
			for _, r := range rs {
				if strings.Contains(r.Expr, "sli_bad") {
					t.Errorf("got a guard with minBadEvents 0:\n%s", r.Expr)
				}
			}
		}},
		{"the spec's own rules and guard are used", "slogate/payments/latency", func(t *testing.T, rs []promrules.Rule) {
			if len(rs) != 2 {
				t.Fatalf("got %d alerts, want the spec's 2 rules", len(rs))
			}
			want := "slogate:burn_rate:ratio_rate30m{service=\"payments\",slo=\"latency\"} > 20\n" +
				"and slogate:burn_rate:ratio_rate5m{service=\"payments\",slo=\"latency\"} > 20\n" +
				"and slogate:sli_bad:increase30m{service=\"payments\",slo=\"latency\"} >= 50"
			if rs[0].Expr != want {
				t.Errorf("got page\n%s\nwant\n%s", rs[0].Expr, want)
			}
		}},
		{"alerts fire at once and keep firing for slogate's 5m hold-down, labelled and linked", "slogate/payments/latency", func(t *testing.T, rs []promrules.Rule) {
			r := rs[1]
			if r.For != "0s" || r.KeepFiringFor != "5m" {
				t.Errorf("got for %q, keep_firing_for %q; want 0s and 5m", r.For, r.KeepFiringFor)
			}
			for k, v := range map[string]string{"service": "payments", "slo": "latency", "team": "money", "severity": "ticket", "long": "6h", "short": "1h"} {
				if r.Labels[k] != v {
					t.Errorf("label %s: got %q, want %q", k, r.Labels[k], v)
				}
			}
			for k, v := range map[string]string{
				"runbook_url": "https://runbooks.example.com/payments",
				"slo_url":     "https://slogate.example.com/services/payments/slos/latency",
			} {
				if r.Annotations[k] != v {
					t.Errorf("annotation %s: got %q, want %q", k, r.Annotations[k], v)
				}
			}
		}},
		{"no rules in the spec leaves only the budget-exhausted ticket", "slogate/payments/quiet", func(t *testing.T, rs []promrules.Rule) {
			if len(rs) != 0 {
				t.Errorf("got %d burn-rate alerts, want none", len(rs))
			}
		}},
		{"the budget-exhausted ticket is guarded by the window's bad events", "slogate/payments/quiet/window", func(t *testing.T, rs []promrules.Rule) {
			if len(rs) != 1 || rs[0].Alert != promrules.AlertExhausted || rs[0].Labels["severity"] != "ticket" {
				t.Fatalf("got %+v, want one %s ticket", rs, promrules.AlertExhausted)
			}
			if !strings.Contains(rs[0].Expr, `and slogate:sli_bad:increase7d{service="payments",slo="quiet"} >= 10`) {
				t.Errorf("got\n%s\nwant the default guard of 10 bad events over 7d", rs[0].Expr)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, alerts(t, res, tt.group)) })
	}

	t.Run("a calendar window exports burn rates only, and says so", func(t *testing.T) {
		for _, g := range res.Rules.Groups {
			if g.Name == "slogate/payments/monthly/window" {
				t.Errorf("got a window group for a calendar window")
			}
		}
		if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "payments/monthly") || !strings.Contains(res.Notes[0], "calendar") {
			t.Errorf("got notes %q, want one about payments/monthly's calendar window", res.Notes)
		}
	})
}
