package slack

import (
	"fmt"
	"net/url"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Config is one Slack incoming webhook.
type Config struct {
	// URL is the incoming webhook URL. Secret: its path is the token.
	URL notify.Secret `yaml:"url"`
	// Timeout bounds one delivery; 10s when zero.
	Timeout time.Duration `yaml:"timeout"`
}

// Validate reports what is missing or malformed, without quoting the URL.
func (c *Config) Validate() error {
	if c.URL == "" {
		return fmt.Errorf("slack url: missing, want the incoming webhook URL")
	}
	if p, err := url.Parse(string(c.URL)); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("slack url: cannot use it, want an absolute http or https URL")
	}
	if c.Timeout < 0 {
		return fmt.Errorf("slack timeout: cannot use %s, want a positive duration", c.Timeout)
	}
	return nil
}
