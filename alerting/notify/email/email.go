// Package email delivers notifications as plain-text mail over SMTP with
// net/smtp: the message's title as subject, its Text as body, quoted-
// printable so long lines and non-ASCII survive any relay.
//
// SMTP's own classes decide retries: a 4xx reply is transient and
// retried, a 5xx reply is permanent and not, and a relay that cannot be
// reached is retried.
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Notifier mails one list of recipients. It is safe for concurrent use.
type Notifier struct {
	cfg  Config
	host string
	now  func() time.Time
	tls  *tls.Config
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns its Notifier.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	return &Notifier{cfg: cfg, host: host, now: time.Now, tls: &tls.Config{ServerName: host}}, nil
}

// RetryFromReply reports whether an SMTP reply code is transient (4xx).
func RetryFromReply(code int) bool { return code >= 400 && code < 500 }

// Notify mails m.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) (bool, error) {
	retry, err := n.send(ctx, n.Render(m, n.now()))
	if err != nil {
		return retry, notify.Redacted(fmt.Errorf("email %s %s: %w", m.Kind, m.DedupKey, err), n.cfg.Password)
	}
	return false, nil
}

func (n *Notifier) send(ctx context.Context, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", n.cfg.Addr)
	if err != nil {
		return true, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, n.host)
	if err != nil {
		return classify("greeting", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(n.tls); err != nil {
			return classify("starttls", err)
		}
	}
	if n.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.cfg.Username, string(n.cfg.Password), n.host)); err != nil {
			return classify("auth", err)
		}
	}
	if err := c.Mail(address(n.cfg.From)); err != nil {
		return classify("mail from", err)
	}
	for _, to := range n.cfg.To {
		if err := c.Rcpt(address(to)); err != nil {
			return classify("rcpt to", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify("data", err)
	}
	if _, err := w.Write(body); err != nil {
		return classify("data", err)
	}
	if err := w.Close(); err != nil {
		return classify("data", err)
	}
	if err := c.Quit(); err != nil {
		return classify("quit", err)
	}
	return false, nil
}

// classify decides from an SMTP reply whether to retry; anything that is
// not a reply (a broken connection, a timeout) is retried.
func classify(step string, err error) (bool, error) {
	if te, ok := errors.AsType[*textproto.Error](err); ok {
		return RetryFromReply(te.Code), fmt.Errorf("%s: %w", step, err)
	}
	return true, fmt.Errorf("%s: %w", step, err)
}

func address(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

// Render returns the mail for m sent at now, headers and body, with CRLF
// line ends.
func (n *Notifier) Render(m *notify.Message, now time.Time) []byte {
	var b bytes.Buffer
	header := func(k, v string) {
		// A newline in a value would start a header of its own.
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	header("From", n.cfg.From)
	header("To", strings.Join(n.cfg.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", m.Title()))
	header("Date", now.Format(time.RFC1123Z))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("X-Slogate-Kind", string(m.Kind))
	if m.DedupKey != "" {
		header("X-Slogate-Dedup-Key", m.DedupKey)
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(m.Text(), "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}
