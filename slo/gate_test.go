package slo

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

const gateSpec = `name: checkout
owner: {team: payments}
slos:
  - name: availability
    objective: 99.9
    window: 28d
    sli: {ratio: {good: 'a_total{code="200"}', total: a_total}}
  - name: latency
    objective: 99
    window: 28d
    sli: {latency: {metric: rpc_seconds, threshold: 0.3}}
gate:
  slos: [availability]
  minBudgetRemaining: 5
  warnBudgetRemaining: 30
  fastBurn: {rate: 0}
  enforce: false
  freeze:
    - schedule: office-hours
      when: inactive
      reason: nobody around to watch the rollout
`

const gateConfig = `specs: [specs]
listen: 0.0.0.0:9090
externalURL: https://slogate.example.com/
schedules:
  - name: office-hours
    weekly: [{days: [mon-fri], hours: ["09:00-17:00"]}]
gate:
  warnBudgetRemaining: 20
  fastBurn: {rate: 10, windows: [1h, 5m]}
  allowedChangeTypes: [fix, revert, docs]
  environments: [production, prod-eu]
  onNoData: slow_down
  minEvents: 0
  maxDataAge: 30m
  maxOverride: 7d
  impactWindow: 1h
  impactMinEvents: 50
  freeze: [{schedule: always, reason: change freeze for the migration}]
auth:
  readsNeedToken: true
  tokens:
    - name: github-actions
      sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
      scopes: [read, deploy:write]
    - name: sre
      sha256: 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
      scopes: [gate:override]
`

func TestLoadAcceptsAFullGateAndAuthConfig(t *testing.T) {
	dir := writeFiles(t, map[string]string{"slogate.yaml": gateConfig, "specs/checkout.yaml": gateSpec})
	cat, err := Load(filepath.Join(dir, "slogate.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	cfg, svc := cat.Config, cat.Services[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"the external URL loses its trailing slash", cfg.ExternalURL, "https://slogate.example.com"},
		{"token hashes are lowercased", cfg.Auth.Tokens[0].SHA256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"the config's fast-burn windows decode as durations", cfg.Gate.FastBurn.Windows[1], model.Duration(5 * time.Minute)},
		{"the config's max override decodes", *cfg.Gate.MaxOverride, model.Duration(7 * 24 * time.Hour)},
		{"a minimum of zero events is allowed", *cfg.Gate.MinEvents, 0.0},
		{"the service's enforce false is kept", *svc.Gate.Enforce, false},
		{"the service's freeze rule is kept", svc.Gate.Freeze[0].When, FreezeWhenInactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadConfigDefaultsTheExternalURLFromListen(t *testing.T) {
	tests := []struct {
		listen, want string
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{":8080", "http://localhost:8080"},
		{"0.0.0.0:9000", "http://localhost:9000"},
		{"[::]:9000", "http://localhost:9000"},
		{"[::1]:9000", "http://[::1]:9000"},
	}
	for _, tt := range tests {
		t.Run("listen "+tt.listen+" links to "+tt.want, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"c.yaml": "specs: [s]\nlisten: '" + tt.listen + "'\n"})
			cfg, err := LoadConfig(filepath.Join(dir, "c.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ExternalURL != tt.want {
				t.Errorf("ExternalURL = %q, want %q", cfg.ExternalURL, tt.want)
			}
		})
	}
}

func TestProblemsNeverShowATokenPastedAsItsHash(t *testing.T) {
	const secret = "slogate_live_Zk3q9XbR2mT7vL1pN8sW"
	dir := writeFiles(t, map[string]string{"c.yaml": "specs: [s]\nauth:\n  tokens:\n    - name: ci\n      sha256: " + secret + "\n      scopes: [deploy:write]\n"})
	_, err := LoadConfig(filepath.Join(dir, "c.yaml"))
	if err == nil {
		t.Fatal("a token in place of its hash loaded")
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[:12]) {
		t.Errorf("problems show the token: %v", err)
	}
	if !strings.Contains(err.Error(), "auth.tokens[0].sha256") {
		t.Errorf("problems do not name the field: %v", err)
	}
}

func TestServiceGateThresholdsAreCheckedAgainstTheConfig(t *testing.T) {
	tests := []struct {
		name   string
		config string
		gate   string
		want   string
	}{
		{"a service minimum above the built-in warning is an error",
			"", "gate: {minBudgetRemaining: 30}",
			"gate.minBudgetRemaining: must be at most warnBudgetRemaining (25, the default), got 30; set warnBudgetRemaining here too"},
		{"a service minimum under the config's warning is fine",
			"gate: {warnBudgetRemaining: 50}\n", "gate: {minBudgetRemaining: 30}", ""},
		{"a service warning under the config's minimum is an error",
			"gate: {minBudgetRemaining: 10, warnBudgetRemaining: 40}\n", "gate: {warnBudgetRemaining: 5}",
			"gate.warnBudgetRemaining: must be at least minBudgetRemaining (10, from the server config), got 5; set minBudgetRemaining here too"},
		{"a service setting both is judged on its own",
			"gate: {minBudgetRemaining: 10, warnBudgetRemaining: 40}\n", "gate: {minBudgetRemaining: 50, warnBudgetRemaining: 60}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{
				"slogate.yaml": "specs: [specs]\n" + tt.config,
				"specs/a.yaml": spec("a", `ratio: {good: 'a_total{code="200"}', total: a_total}`) + tt.gate + "\n",
			})
			_, err := Load(filepath.Join(dir, "slogate.yaml"))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tt.want == "" && got != "" || tt.want != "" && !strings.HasSuffix(got, tt.want) {
				t.Errorf("got problems\n%s\nwant one ending\n%s", got, tt.want)
			}
		})
	}
}

func TestValidateServiceChecksAGateBuiltInCode(t *testing.T) {
	mn, warn := 40.0, 10.0
	s := &Service{Name: "a", Owner: Owner{Team: "t"}, Runbook: "https://runbooks.example.com/a", SLOs: []SLO{{Name: "x", Objective: 99, Window: "7d", SLI: SLI{Push: &PushSLI{}}}},
		Gate: &GatePolicy{MinBudgetRemaining: &mn, WarnBudgetRemaining: &warn, FastBurn: &FastBurn{Rate: 14.4}}}
	err := ValidateService(s)
	want := "gate.warnBudgetRemaining: must be at least minBudgetRemaining (40), got 10\n" +
		"gate.fastBurn.windows: required when rate is above 0: burn-rate windows such as [1h, 5m]"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
