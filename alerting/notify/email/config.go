package email

import (
	"fmt"
	"net"
	"net/mail"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Config is one SMTP relay and the addresses a notification goes to.
type Config struct {
	// Addr is the relay's host:port, such as smtp.example.com:587.
	Addr string `yaml:"addr"`
	// From is the sender address; To the recipients.
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
	// Username and Password, if set, authenticate with AUTH PLAIN, which
	// net/smtp only does over TLS (STARTTLS) or to localhost.
	Username string        `yaml:"username"`
	Password notify.Secret `yaml:"password"`
	// Timeout bounds one delivery; 30s when zero.
	Timeout time.Duration `yaml:"timeout"`
}

// Validate reports what is missing or malformed, without quoting the password.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("email addr: cannot use %q, want host:port", c.Addr)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("email from: cannot use %q: %w", c.From, err)
	}
	if len(c.To) == 0 {
		return fmt.Errorf("email to: missing, want at least one recipient")
	}
	for _, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Errorf("email to: cannot use %q: %w", to, err)
		}
	}
	if (c.Username == "") != (c.Password == "") {
		return fmt.Errorf("email: want both username and password, or neither")
	}
	if c.Timeout < 0 {
		return fmt.Errorf("email timeout: cannot use %s, want a positive duration", c.Timeout)
	}
	return nil
}
