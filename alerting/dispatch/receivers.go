package dispatch

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/alertmanager"
	"github.com/slogate/slogate/alerting/notify/email"
	"github.com/slogate/slogate/alerting/notify/pagerduty"
	"github.com/slogate/slogate/alerting/notify/slack"
	"github.com/slogate/slogate/alerting/notify/webhook"
	"github.com/slogate/slogate/slo"
)

// Notifiers builds a notifier for every configured receiver, for every
// person's own PagerDuty routing key (PersonalPagerDuty) and, when the
// config has an SMTP relay, for every person's email (PersonalEmail). It
// reads secrets from files or the environment (getenv) as the config says.
// Email receivers without an SMTP relay are left out and named in the
// returned skipped list (validation refuses such a config, so only
// configs built in code get here).
func Notifiers(cfg *slo.Config, getenv func(string) string) (map[string]notify.Notifier, []string, error) {
	out := map[string]notify.Notifier{}
	var skipped []string
	var mail func(to []string) (notify.Notifier, error)
	if s := cfg.SMTP; s != nil {
		pw, err := secret(s.Password, s.PasswordFile, s.PasswordEnv, getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("smtp password: %w", err)
		}
		mail = func(to []string) (notify.Notifier, error) {
			return email.New(email.Config{Addr: s.Addr, From: s.From, To: to, Username: s.Username,
				Password: pw, Timeout: time.Duration(s.Timeout)})
		}
	}
	for _, r := range cfg.Receivers {
		var (
			n   notify.Notifier
			err error
		)
		switch r.Type {
		case slo.ReceiverSlack:
			var u notify.Secret
			if u, err = secret(r.URL, r.URLFile, r.URLEnv, getenv); err == nil {
				n, err = slack.New(slack.Config{URL: u})
			}
		case slo.ReceiverWebhook:
			var u, key notify.Secret
			if u, err = secret(r.URL, r.URLFile, r.URLEnv, getenv); err == nil {
				if key, err = secret("", r.SecretFile, r.SecretEnv, getenv); err == nil {
					n, err = webhook.New(webhook.Config{URL: u, SigningKey: key})
				}
			}
		case slo.ReceiverPagerDuty:
			var key notify.Secret
			if key, err = secret(r.RoutingKey, r.RoutingKeyFile, r.RoutingKeyEnv, getenv); err == nil {
				n, err = pagerduty.New(pagerduty.Config{RoutingKey: key, URL: r.URL})
			}
		case slo.ReceiverAlertmanager:
			var u notify.Secret
			if u, err = secret(r.URL, r.URLFile, r.URLEnv, getenv); err == nil {
				n, err = alertmanager.New(alertmanager.Config{URL: string(u)})
			}
		case slo.ReceiverEmail:
			if mail == nil {
				skipped = append(skipped, r.Name)
				continue
			}
			var to []string
			for _, a := range strings.Split(r.To, ",") {
				if a = strings.TrimSpace(a); a != "" {
					to = append(to, a)
				}
			}
			n, err = mail(to)
		default:
			skipped = append(skipped, r.Name)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("receiver %s: %w", r.Name, err)
		}
		out[r.Name] = n
	}
	for _, p := range cfg.People {
		if p.HasPagerDuty() {
			key, err := secret(p.PagerDuty, p.PagerDutyFile, p.PagerDutyEnv, getenv)
			if err == nil && key == "" {
				err = fmt.Errorf("environment variable %s is empty", p.PagerDutyEnv)
			}
			var n notify.Notifier
			if err == nil {
				n, err = pagerduty.New(pagerduty.Config{RoutingKey: key, URL: cfg.Alerting.PagerDutyURL})
			}
			if err != nil {
				return nil, nil, fmt.Errorf("person %s: pagerduty: %w", p.Name, err)
			}
			out[PersonalPagerDuty(p.Name)] = n
		}
		if p.Email != "" && mail != nil {
			n, err := mail([]string{p.Email})
			if err != nil {
				return nil, nil, fmt.Errorf("person %s: email: %w", p.Name, err)
			}
			out[PersonalEmail(p.Name)] = n
		}
	}
	return out, skipped, nil
}

// secret returns the value inline, or read from file (trimmed), or from
// the environment variable env, whichever is set.
func secret(inline, file, env string, getenv func(string) string) (notify.Secret, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return notify.Secret(strings.TrimSpace(string(b))), nil
	case env != "":
		return notify.Secret(getenv(env)), nil
	}
	return notify.Secret(inline), nil
}
