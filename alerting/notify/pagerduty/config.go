package pagerduty

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// The Events API v2 endpoints used when Config leaves them empty.
const (
	DefaultURL       = "https://events.pagerduty.com/v2/enqueue"
	DefaultChangeURL = "https://events.pagerduty.com/v2/change/enqueue"
)

// Config is one PagerDuty service's Events API v2 integration.
type Config struct {
	// RoutingKey is the integration key of the service. Secret.
	RoutingKey notify.Secret `yaml:"routing_key"`
	// URL and ChangeURL override the alert and change event endpoints,
	// for other service regions, proxies and tests. A URL ending in
	// /v2/enqueue without a ChangeURL sends change events to
	// /v2/change/enqueue beside it.
	URL       string `yaml:"url"`
	ChangeURL string `yaml:"change_url"`
	// Source is the payload source when a message has no service; "slogate".
	Source string `yaml:"source"`
	// Client and ClientURL name the sender in PagerDuty's UI; "slogate"
	// and no link by default. ClientURL is usually slogate's base URL.
	Client    string `yaml:"client"`
	ClientURL string `yaml:"client_url"`
	// Timeout bounds one delivery; 10s when zero.
	Timeout time.Duration `yaml:"timeout"`
}

// Validate reports what is missing or malformed, without quoting the key.
func (c *Config) Validate() error {
	if c.RoutingKey == "" {
		return fmt.Errorf("pagerduty routing_key: missing, want the integration key of an Events API v2 integration")
	}
	for name, u := range map[string]string{"url": c.URL, "change_url": c.ChangeURL, "client_url": c.ClientURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("pagerduty %s: cannot use %q, want an absolute http or https URL", name, u)
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("pagerduty timeout: cannot use %s, want a positive duration", c.Timeout)
	}
	return nil
}

func (c *Config) defaults() {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.ChangeURL == "" {
		// A URL set for another region or a proxy takes the change
		// events too, at the same place relative to it.
		c.ChangeURL = DefaultChangeURL
		if base, ok := strings.CutSuffix(c.URL, "/v2/enqueue"); ok {
			c.ChangeURL = base + "/v2/change/enqueue"
		}
	}
	if c.Source == "" {
		c.Source = "slogate"
	}
	if c.Client == "" {
		c.Client = "slogate"
	}
	if c.Timeout == 0 {
		c.Timeout = notify.DefaultTimeout
	}
}
