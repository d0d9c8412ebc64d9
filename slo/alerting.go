package slo

import (
	"maps"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
)

// SMTPConfig is the relay email receivers send through. At most one of
// Password, PasswordFile and PasswordEnv is set, and only with Username;
// the password is a secret and is never shown in problems.
type SMTPConfig struct {
	// Addr is the relay's host:port, e.g. smtp.example.com:587.
	Addr string `yaml:"addr"`
	// From is the sender address, e.g. slogate@example.com.
	From string `yaml:"from"`
	// Username logs in to the relay; empty sends without logging in.
	Username string `yaml:"username"`
	// Password is the relay password, inline.
	Password string `yaml:"password"`
	// PasswordFile is a file holding the password, resolved against the
	// config file's directory.
	PasswordFile string `yaml:"passwordFile"`
	// PasswordEnv names an environment variable holding the password.
	PasswordEnv string `yaml:"passwordEnv"`
	// Timeout bounds one delivery; default 30s.
	Timeout model.Duration `yaml:"timeout"`
}

// AlertingConfig says where alerts go that no team takes, and how their
// delivery is retried and repeated.
type AlertingConfig struct {
	// Receivers get the alerts of services whose owner team is not
	// configured, or has neither a channel nor a rotation; default none.
	Receivers []string `yaml:"receivers"`
	// Fallback names the receiver that gets a notification its own
	// receiver refused or could not take before Deadline; default none.
	Fallback string `yaml:"fallback"`
	// Deadline is how long delivery of a notification is retried; default
	// 15m.
	Deadline model.Duration `yaml:"deadline"`
	// RepeatInterval is how often a firing page nobody acknowledged is
	// sent again; default 1h, and 0 (written as 0s) means never.
	RepeatInterval model.Duration `yaml:"repeatInterval"`
	// HoldDown is how long an alert's conditions must stay false before it
	// resolves, so a flapping burn is one incident; default 5m.
	HoldDown model.Duration `yaml:"holdDown"`
	// PagerDutyURL is the Events API v2 endpoint people's own routing keys
	// are sent to; default PagerDuty's (US) service region. Set it to
	// https://events.eu.pagerduty.com/v2/enqueue for the EU region.
	PagerDutyURL string `yaml:"pagerdutyURL"`
}

// applyAlertingDefaults fills the smtp and alerting sections' defaults.
// Durations written as 0s are kept, so that validation can reject them or,
// for repeatInterval, so that they mean never.
func applyAlertingDefaults(c *Config, r *reporter) {
	// "smtp:" with nothing after it decodes as nil; it still says the
	// section is meant to be there, so its required fields are reported.
	if c.SMTP == nil && lookup(r.root, "smtp") != nil {
		c.SMTP = &SMTPConfig{}
	}
	if s := c.SMTP; s != nil && s.Timeout == 0 && lookup(r.root, "smtp.timeout") == nil {
		s.Timeout = DefaultSMTPTimeout
	}
	a := &c.Alerting
	if a.Deadline == 0 && lookup(r.root, "alerting.deadline") == nil {
		a.Deadline = DefaultDeliveryDeadline
	}
	if a.RepeatInterval == 0 && lookup(r.root, "alerting.repeatInterval") == nil {
		a.RepeatInterval = DefaultRepeatInterval
	}
	if a.HoldDown == 0 && lookup(r.root, "alerting.holdDown") == nil {
		a.HoldDown = DefaultHoldDown
	}
}

// validateAlertingConfig checks the smtp and alerting sections and that
// email receivers have a relay to send through.
func validateAlertingConfig(c *Config, r *reporter) {
	if c.SMTP != nil {
		validateSMTP(c.SMTP, r, "smtp")
	}
	receivers := map[string]bool{}
	for i, rc := range c.Receivers {
		if rc.Name != "" {
			receivers[rc.Name] = true
		}
		if rc.Type == ReceiverEmail && c.SMTP == nil {
			r.add(field(index("receivers", i), "type"), "email receivers need the smtp section: the relay to send through")
		}
	}
	knownReceivers := known("receivers", slices.Sorted(maps.Keys(receivers)))

	a := &c.Alerting
	lp := field("alerting", "receivers")
	seen := map[string]int{}
	for i, n := range a.Receivers {
		if first, dup := seen[n]; dup {
			r.add(index(lp, i), "duplicate receiver %q (also %s)", n, index(lp, first))
			continue
		}
		seen[n] = i
		if !receivers[n] {
			r.add(index(lp, i), "unknown receiver %q; %s", n, knownReceivers)
		}
	}
	if a.Fallback != "" && !receivers[a.Fallback] {
		r.add(field("alerting", "fallback"), "unknown receiver %q; %s", a.Fallback, knownReceivers)
	}
	positive(a.Deadline, r, field("alerting", "deadline"))
	positive(a.HoldDown, r, field("alerting", "holdDown"))
	if a.RepeatInterval < 0 {
		r.add(field("alerting", "repeatInterval"), "must not be negative (0s never repeats), got %s", a.RepeatInterval)
	}
	if a.PagerDutyURL != "" {
		if msg := checkHTTPURL(a.PagerDutyURL); msg != "" {
			r.add(field("alerting", "pagerdutyURL"), "%s", msg)
		}
	}
}

// validateSMTP checks the relay's address, sender and credentials, never
// showing the password.
func validateSMTP(s *SMTPConfig, r *reporter, p string) {
	switch host, port, err := net.SplitHostPort(s.Addr); {
	case s.Addr == "":
		r.add(field(p, "addr"), "required: the relay's host:port, e.g. smtp.example.com:587")
	case err != nil || host == "" || !validPort(port):
		r.add(field(p, "addr"), "must be host:port such as smtp.example.com:587, got %q", s.Addr)
	}
	if s.From == "" {
		r.add(field(p, "from"), "required: the sender address, e.g. slogate@example.com")
	} else if _, err := mail.ParseAddress(s.From); err != nil {
		r.add(field(p, "from"), "must be an email address such as slogate@example.com, got %q", s.From)
	}

	var set []string
	for _, f := range []struct{ name, v string }{{"password", s.Password}, {"passwordFile", s.PasswordFile}, {"passwordEnv", s.PasswordEnv}} {
		if f.v != "" {
			set = append(set, f.name)
		}
	}
	if len(set) > 1 {
		r.add(field(p, set[1]), "set only one of password, passwordFile and passwordEnv, got %s", strings.Join(set, " and "))
	}
	switch {
	case s.Username != "" && len(set) == 0:
		r.add(field(p, "username"), "needs a password: set password, passwordFile or passwordEnv too")
	case s.Username == "" && len(set) > 0:
		r.add(field(p, set[0]), "needs a username: set username to the account slogate logs in to the relay as")
	}
	if s.PasswordEnv != "" && !envNameRE.MatchString(s.PasswordEnv) {
		r.add(field(p, "passwordEnv"), "must be an environment variable name such as SMTP_PASSWORD, got %q", s.PasswordEnv)
	}
	positive(s.Timeout, r, field(p, "timeout"))
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n <= 65535
}
