package webhook

import (
	"fmt"
	"net/url"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Config is one generic webhook receiver.
type Config struct {
	// URL receives the POST. It is a secret: such URLs often carry a token.
	URL notify.Secret `yaml:"url"`
	// SigningKey is the HMAC-SHA256 key of the X-Slogate-Signature header.
	SigningKey notify.Secret `yaml:"signing_key"`
	// Timeout bounds one delivery; 10s when zero.
	Timeout time.Duration `yaml:"timeout"`
}

// Validate reports what is missing or malformed.
func (c *Config) Validate() error {
	if err := validURL(string(c.URL)); err != nil {
		return fmt.Errorf("webhook url: %w", err)
	}
	if c.SigningKey == "" {
		return fmt.Errorf("webhook signing_key: missing, want a shared secret for X-Slogate-Signature")
	}
	if c.Timeout < 0 {
		return fmt.Errorf("webhook timeout: cannot use %s, want a positive duration", c.Timeout)
	}
	return nil
}

// validURL checks u is an absolute http(s) URL without quoting it, since
// it may be a secret.
func validURL(u string) error {
	if u == "" {
		return fmt.Errorf("missing, want an http or https URL")
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("cannot use it: want an absolute http or https URL")
	}
	return nil
}
