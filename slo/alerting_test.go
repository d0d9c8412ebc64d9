package slo

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestAlertingConfigLoads(t *testing.T) {
	dir := writeFiles(t, map[string]string{"c.yaml": `specs: [specs]
receivers:
  - {name: ops-slack, type: slack, urlFile: secrets/ops-slack}
  - {name: ops-mail, type: email, to: ops@example.com}
smtp:
  addr: smtp.example.com:587
  from: Slogate <slogate@example.com>
  username: slogate
  passwordFile: secrets/smtp
alerting:
  receivers: [ops-slack]
  fallback: ops-mail
auth:
  tokens:
    - {name: oncall, sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, scopes: [alerts:write]}
`})
	cfg, err := LoadConfig(filepath.Join(dir, "c.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"the smtp password file resolves against the config", cfg.SMTP.PasswordFile, filepath.Join(dir, "secrets/smtp")},
		{"the smtp timeout defaults to 30s", cfg.SMTP.Timeout, DefaultSMTPTimeout},
		{"a sender with a display name is kept as written", cfg.SMTP.From, "Slogate <slogate@example.com>"},
		{"the alerting receivers are kept", strings.Join(cfg.Alerting.Receivers, ","), "ops-slack"},
		{"the fallback is kept", cfg.Alerting.Fallback, "ops-mail"},
		{"the delivery deadline defaults to 15m", cfg.Alerting.Deadline, model.Duration(15 * time.Minute)},
		{"pages repeat every hour by default", cfg.Alerting.RepeatInterval, model.Duration(time.Hour)},
		{"the alerts:write scope is known", cfg.Auth.Tokens[0].Scopes[0], ScopeAlertsWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestAlertingConfigCases(t *testing.T) {
	tests := []struct {
		name   string
		config string
		check  func(t *testing.T, cfg *Config)
		want   string // problems with the temp dir replaced by DIR; "" for success
	}{
		{
			name:   "a repeat interval written as 0s means never and is kept",
			config: "alerting: {repeatInterval: 0s, deadline: 5m}\n",
			check: func(t *testing.T, cfg *Config) {
				if cfg.Alerting.RepeatInterval != 0 || cfg.Alerting.Deadline != model.Duration(5*time.Minute) {
					t.Errorf("got repeatInterval %s deadline %s, want 0s and 5m", cfg.Alerting.RepeatInterval, cfg.Alerting.Deadline)
				}
			},
		},
		{
			name:   "a username needs a password",
			config: "smtp: {addr: 'smtp.example.com:587', from: slogate@example.com, username: slogate}\n",
			want:   "DIR/c.yaml:2: smtp.username: needs a password: set password, passwordFile or passwordEnv too",
		},
		{
			name:   "a password from the environment with a username is enough",
			config: "smtp: {addr: 'smtp.example.com:587', from: slogate@example.com, username: slogate, passwordEnv: SMTP_PASSWORD}\n",
		},
		{
			name:   "a password file and an environment variable are one too many",
			config: "smtp:\n  addr: smtp.example.com:587\n  from: slogate@example.com\n  username: slogate\n  passwordFile: pw\n  passwordEnv: SMTP_PASSWORD\n",
			want:   "DIR/c.yaml:7: smtp.passwordEnv: set only one of password, passwordFile and passwordEnv, got passwordFile and passwordEnv",
		},
		{
			name:   "a port must be a number",
			config: "smtp: {addr: 'smtp.example.com:submission', from: slogate@example.com}\n",
			want:   `DIR/c.yaml:2: smtp.addr: must be host:port such as smtp.example.com:587, got "smtp.example.com:submission"`,
		},
		{
			name:   "an empty smtp section still needs its relay and sender",
			config: "smtp:\n",
			want: "DIR/c.yaml:2: smtp.addr: required: the relay's host:port, e.g. smtp.example.com:587\n" +
				"DIR/c.yaml:2: smtp.from: required: the sender address, e.g. slogate@example.com",
		},
		{
			name:   "an email receiver without smtp is reported at its type",
			config: "receivers:\n  - name: ops-mail\n    type: email\n    to: ops@example.com\n",
			want:   "DIR/c.yaml:4: receivers[0].type: email receivers need the smtp section: the relay to send through",
		},
		{
			name:   "alerting receivers must be configured receivers",
			config: "receivers: [{name: ops-slack, type: slack, url: 'https://hooks.example.com/x'}]\nalerting: {receivers: [ops-slak]}\n",
			want:   `DIR/c.yaml:3: alerting.receivers[0]: unknown receiver "ops-slak"; known receivers: ops-slack`,
		},
		{
			name:   "a fallback without receivers says there are none",
			config: "alerting: {fallback: ops-mail}\n",
			want:   `DIR/c.yaml:2: alerting.fallback: unknown receiver "ops-mail"; the config defines no receivers`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"c.yaml": "specs: [specs]\n" + tt.config})
			cfg, err := LoadConfig(filepath.Join(dir, "c.yaml"))
			got := ""
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "DIR")
			}
			if got != tt.want {
				t.Fatalf("got problems\n%s\nwant\n%s", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func TestSLOAlertingDecodes(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": `name: a
owner: {team: platform}
runbook: https://runbooks.example.com/a
slos:
  - name: tuned
    objective: 99
    window: 28d
    sli: {push: {}}
    alerting:
      minBadEvents: 20
      rules:
        - {severity: page, long: 1h, short: 5m, burn: 14.4}
        - {severity: ticket, long: 3d, short: 6h, burn: 1}
  - name: silent
    objective: 99
    window: 28d
    sli: {push: {}}
    alerting: {minBadEvents: 0, rules: []}
  - name: defaults
    objective: 99
    window: 28d
    sli: {push: {}}
`})
	services, err := LoadServices([]string{filepath.Join(dir, "a.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	tuned, silent, defaults := services[0].SLOs[0], services[0].SLOs[1], services[0].SLOs[2]
	wantRules := []AlertRule{
		{Severity: "page", Long: model.Duration(time.Hour), Short: model.Duration(5 * time.Minute), Burn: 14.4},
		{Severity: "ticket", Long: model.Duration(72 * time.Hour), Short: model.Duration(6 * time.Hour), Burn: 1},
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"rules decode with their windows", slices.Equal(tuned.Alerting.Rules, wantRules), true},
		{"a low-traffic guard is kept", *tuned.Alerting.MinBadEvents, 20.0},
		{"an empty rule list is kept apart from no list", silent.Alerting.Rules != nil && len(silent.Alerting.Rules) == 0, true},
		{"a guard of 0 is kept apart from no guard", silent.Alerting.MinBadEvents != nil && *silent.Alerting.MinBadEvents == 0, true},
		{"an SLO without an alerting section keeps the defaults", defaults.Alerting == nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestWarningsNeverFailLoading(t *testing.T) {
	const noRunbook = "name: shop\nowner: {team: platform}\nslos:\n  - {name: a, objective: 99, window: 7d, sli: {push: {}}}\n"
	const warning = "DIR/specs/shop.yaml:1: runbook: warning: missing: alerts for this service will carry no runbook link; set runbook to a URL that says what to do when its SLOs burn"
	dir := writeFiles(t, map[string]string{
		"slogate.yaml":     "specs: [specs]\n",
		"specs/shop.yaml":  noRunbook,
		"broken/shop.yaml": noRunbook + "  - {name: b, objective: 100, window: 7d, sli: {push: {}}}\n",
	})
	show := func(ps Problems) string { return strings.ReplaceAll(ps.Error(), dir, "DIR") }

	t.Run("LoadServices loads a spec that has only warnings", func(t *testing.T) {
		services, err := LoadServices([]string{filepath.Join(dir, "specs")})
		if err != nil || len(services) != 1 {
			t.Fatalf("got %d services, error %v; want 1 and no error", len(services), err)
		}
	})
	t.Run("LoadServicesWarnings returns the warnings", func(t *testing.T) {
		_, warnings, err := LoadServicesWarnings([]string{filepath.Join(dir, "specs")})
		if err != nil || show(warnings) != warning {
			t.Fatalf("got warnings %q, error %v; want %q", show(warnings), err, warning)
		}
	})
	t.Run("Load puts the warnings in the catalog", func(t *testing.T) {
		cat, err := Load(filepath.Join(dir, "slogate.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if show(cat.Warnings) != warning {
			t.Fatalf("got warnings %q, want %q", show(cat.Warnings), warning)
		}
	})
	t.Run("a failed load lists the warnings with the problems", func(t *testing.T) {
		_, err := LoadServices([]string{filepath.Join(dir, "broken")})
		ps, ok := err.(Problems)
		if !ok {
			t.Fatalf("got error %v (%T), want Problems", err, err)
		}
		if n, w := ps.Count(); n != 1 || w != 1 {
			t.Errorf("got %d problem(s) and %d warning(s), want 1 and 1:\n%s", n, w, show(ps))
		}
	})
	t.Run("ValidateService passes a service built in code with only warnings", func(t *testing.T) {
		s := &Service{Name: "a", Owner: Owner{Team: "t"}, SLOs: []SLO{{Name: "x", Objective: 99, Window: "7d", SLI: SLI{Push: &PushSLI{}}}}}
		if err := ValidateService(s); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
}
