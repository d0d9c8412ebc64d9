package alertmanager

import (
	"fmt"
	"net/url"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Config is one Alertmanager (or an HA pair's load balancer).
type Config struct {
	// URL is Alertmanager's base URL, such as http://alertmanager:9093.
	URL string `yaml:"url"`
	// BearerToken, if set, is sent as Authorization: Bearer. Secret.
	BearerToken notify.Secret `yaml:"bearer_token"`
	// AlertName is the alertname label; "SLOErrorBudgetBurn".
	AlertName string `yaml:"alert_name"`
	// Resend is how often a firing alert must be sent again; 1m. See
	// Notifier.Resend.
	Resend time.Duration `yaml:"resend"`
	// Timeout bounds one delivery; 10s when zero.
	Timeout time.Duration `yaml:"timeout"`
}

// Validate reports what is missing or malformed.
func (c *Config) Validate() error {
	if c.URL == "" {
		return fmt.Errorf("alertmanager url: missing, want Alertmanager's base URL such as http://alertmanager:9093")
	}
	if p, err := url.Parse(c.URL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("alertmanager url: cannot use it, want an absolute http or https URL")
	}
	if c.Resend < 0 || c.Timeout < 0 {
		return fmt.Errorf("alertmanager: cannot use negative resend %s or timeout %s", c.Resend, c.Timeout)
	}
	return nil
}

func (c *Config) defaults() {
	if c.AlertName == "" {
		c.AlertName = "SLOErrorBudgetBurn"
	}
	if c.Resend == 0 {
		c.Resend = time.Minute
	}
	if c.Timeout == 0 {
		c.Timeout = notify.DefaultTimeout
	}
}
