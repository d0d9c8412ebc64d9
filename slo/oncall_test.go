package slo

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestOnCallProblemsNeverShowSecrets loads the broken on-call examples,
// whose routing keys, webhook URLs and SMTP password are wrong or doubled,
// and checks that no problem repeats a secret.
func TestOnCallProblemsNeverShowSecrets(t *testing.T) {
	secrets := []string{"R0UTINGKEYSECRETALICE", "R0UTINGKEYSECRETOPS", "SECRETSLACKTOKEN", "SMTPSECRETPASSWORD"}
	for _, dir := range []string{"bad-oncall", "bad-receivers", "bad-smtp"} {
		t.Run(dir+" problems show no secret", func(t *testing.T) {
			_, err := Load(filepath.Join("../testdata/invalid", dir, "slogate.yaml"))
			if err == nil {
				t.Fatal("loaded a broken config")
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("problems show secret %s:\n%v", s, err)
				}
			}
		})
	}
}

func TestOnCallConfigLoads(t *testing.T) {
	dir := writeFiles(t, map[string]string{"c.yaml": `specs: [specs]
people:
  - {name: alice, pagerdutyFile: secrets/alice}
receivers:
  - {name: team-hook, type: webhook, urlFile: secrets/url, secretFile: secrets/hmac}
  - {name: ops-pd, type: pagerduty, routingKeyFile: /etc/pd}
teams:
  - name: payments
    members: [alice]
    channel: team-hook
    rotation: {timeZone: Europe/Berlin, handoff: {weekday: tue, time: "10:30"}}
`})
	cfg, err := LoadConfig(filepath.Join(dir, "c.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ro := cfg.Teams[0].Rotation
	tests := []struct {
		name      string
		got, want any
	}{
		{"a person's secret file resolves against the config", cfg.People[0].PagerDutyFile, filepath.Join(dir, "secrets/alice")},
		{"a receiver's url file resolves against the config", cfg.Receivers[0].URLFile, filepath.Join(dir, "secrets/url")},
		{"a receiver's secret file resolves against the config", cfg.Receivers[0].SecretFile, filepath.Join(dir, "secrets/hmac")},
		{"absolute secret files stay as written", cfg.Receivers[1].RoutingKeyFile, "/etc/pd"},
		{"rotation members default to the team's", strings.Join(ro.Members, ","), "alice"},
		{"the shift defaults to a week", ro.Shift, DefaultShift},
		{"the time zone is loaded", ro.Location.String(), "Europe/Berlin"},
		{"the handoff minute is parsed", ro.Handoff.Minute, 10*60 + 30},
		{"the epoch is the first handoff weekday of 1970", ro.Epoch.Format("2006-01-02 15:04 Mon"), "1970-01-06 10:30 Tue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
