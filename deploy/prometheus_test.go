package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/slogate/slogate/internal/realtest"
)

type ruleFile struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Alert       string
			Record      string
			Expr        string
			For         string
			Labels      map[string]string
			Annotations map[string]string
		}
	}
}

type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string
		AlertRuleTest []struct {
			Alertname string
			ExpAlerts []any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	}
}

func TestPrometheusConfig(t *testing.T) {
	promtool := realtest.Binary(t, "promtool")
	// check config also checks the rule files it names.
	out := run(t, "prometheus", promtool, "check", "config", "prometheus.yml")
	if !strings.Contains(out, "1 rule files found") {
		t.Errorf("promtool check config: want it to find slogate-alerts.yml:\n%s", out)
	}
	t.Logf("promtool check config:\n%s", out)

	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string                       `yaml:"job_name"`
			MetricsPath   string                       `yaml:"metrics_path"`
			StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
		Alerting struct {
			Alertmanagers []struct {
				StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
			}
		}
	}
	readYAML(t, "prometheus/prometheus.yml", &cfg)
	if !slices.Contains(cfg.RuleFiles, "slogate-alerts.yml") {
		t.Errorf("rule_files %v: want slogate-alerts.yml", cfg.RuleFiles)
	}
	var job bool
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "slogate" {
			continue
		}
		job = true
		if sc.MetricsPath != "/metrics" {
			t.Errorf("job slogate scrapes %q, want /metrics", sc.MetricsPath)
		}
		if len(sc.StaticConfigs) != 1 || !slices.Equal(sc.StaticConfigs[0].Targets, []string{"slogate:8080"}) {
			t.Errorf("job slogate targets %+v, want slogate:8080, the compose stack's service", sc.StaticConfigs)
		}
	}
	if !job {
		t.Error("no scrape job named slogate: the alert rules and the dashboard select job=\"slogate\"")
	}
	if len(cfg.Alerting.Alertmanagers) != 1 || !slices.Equal(cfg.Alerting.Alertmanagers[0].StaticConfigs[0].Targets, []string{"alertmanager:9093"}) {
		t.Errorf("alertmanagers %+v, want alertmanager:9093, the compose stack's service", cfg.Alerting.Alertmanagers)
	}
}

func TestPrometheusAlertRules(t *testing.T) {
	var rules ruleFile
	readYAML(t, "prometheus/slogate-alerts.yml", &rules)
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			if r.Alert == "" {
				t.Errorf("group %s: rule %q is not an alert", g.Name, r.Record)
				continue
			}
			for _, p := range checkPromQL(r.Expr) {
				t.Errorf("alert %s: %s", r.Alert, p)
			}
			if !strings.Contains(r.Expr, `job="slogate"`) {
				t.Errorf("alert %s: expression does not select job=\"slogate\": %s", r.Alert, r.Expr)
			}
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("alert %s: severity %q, want page or ticket (deploy/alertmanager routes on it)", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: want summary and description annotations", r.Alert)
			}
		}
	}
	for _, want := range []string{"SlogateDown", "SlogateNotificationsFailing", "SlogateSLIDataStale"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}

	t.Run("every alert has a unit test that fires it and one that does not", func(t *testing.T) {
		var tests ruleTestFile
		readYAML(t, "prometheus/slogate-alerts.test.yml", &tests)
		if !slices.Equal(tests.RuleFiles, []string{"slogate-alerts.yml"}) {
			t.Errorf("rule_files %v, want [slogate-alerts.yml]", tests.RuleFiles)
		}
		fires, quiet := map[string]bool{}, map[string]bool{}
		for _, tc := range tests.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
		for a := range alerts {
			if !fires[a] || !quiet[a] {
				t.Errorf("alert %s: tested firing %v, tested quiet %v; want both", a, fires[a], quiet[a])
			}
		}
	})

	t.Run("promtool checks the rules and runs their unit tests", func(t *testing.T) {
		promtool := realtest.Binary(t, "promtool")
		out := run(t, "prometheus", promtool, "check", "rules", "slogate-alerts.yml")
		t.Logf("promtool check rules:\n%s", out)
		out = run(t, "prometheus", promtool, "test", "rules", "slogate-alerts.test.yml")
		if !strings.Contains(out, "SUCCESS") {
			t.Errorf("promtool test rules:\n%s", out)
		}
	})
}

func TestAlertmanagerConfig(t *testing.T) {
	amtool := realtest.Binary(t, "amtool")
	out := run(t, "alertmanager", amtool, "check-config", "alertmanager.yml")
	t.Logf("amtool check-config:\n%s", out)

	// Route test cases: slogate's own burn alerts (labelled as the
	// alertmanager notifier labels them) and the health alerts of
	// deploy/prometheus, by severity.
	for _, tc := range []struct {
		name   string
		labels []string
		want   string
	}{
		{"a page of slogate's burn alerts goes to the pager", []string{"alertname=SLOErrorBudgetBurn", "service=checkout", "slo=availability", "team=payments", "severity=page"}, "pager"},
		{"a ticket of slogate's burn alerts goes to chat", []string{"alertname=SLOErrorBudgetBurn", "service=checkout", "slo=availability", "team=payments", "severity=ticket"}, "chat"},
		{"SlogateDown pages", []string{"alertname=SlogateDown", "job=slogate", "severity=page"}, "pager"},
		{"SlogateSLIDataStale goes to chat", []string{"alertname=SlogateSLIDataStale", "job=slogate", "severity=ticket"}, "chat"},
		{"an alert without severity goes to chat", []string{"alertname=Other"}, "chat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"config", "routes", "test", "--config.file=alertmanager.yml", "--verify.receivers=" + tc.want}, tc.labels...)
			out := runStdout(t, "alertmanager", amtool, args...)
			if got := strings.TrimSpace(out); got != tc.want {
				t.Errorf("routed to %q, want %q:\n%s", got, tc.want, out)
			}
		})
	}

	t.Run("every severity of the Prometheus rules has a route", func(t *testing.T) {
		var rules ruleFile
		readYAML(t, "prometheus/slogate-alerts.yml", &rules)
		want := map[string]string{"page": "pager", "ticket": "chat"}
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				sev := r.Labels["severity"]
				out := runStdout(t, "alertmanager", amtool, "config", "routes", "test", "--config.file=alertmanager.yml",
					"--verify.receivers="+want[sev], "alertname="+r.Alert, "severity="+sev)
				if got := strings.TrimSpace(out); got != want[sev] {
					t.Errorf("alert %s (severity %s) routed to %q, want %q", r.Alert, sev, got, want[sev])
				}
			}
		}
	})
}
