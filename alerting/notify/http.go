package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RetryFromStatus is the one rule for HTTP receivers: 429 and 5xx may
// succeed later and are retried; any other status outside 2xx means the
// request itself is wrong and repeating it cannot help.
func RetryFromStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// RetryAfter reads a Retry-After header, in seconds or as an HTTP date
// relative to now. It reports false when the header is absent, unreadable
// or not in the future.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(s) * time.Second, s > 0
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0, false
	}
	return t.Sub(now), true
}

// StatusError is a receiver's answer outside 2xx. The outbox reads
// RetryAfter from it with errors.As to wait at least that long.
type StatusError struct {
	// Code is the HTTP status.
	Code int
	// RetryAfter is the receiver's Retry-After, zero when it sent none.
	RetryAfter time.Duration
	// Body is the start of the response body, secrets removed.
	Body string
}

// Error says which status came back and what the receiver said.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("unexpected status %d %s", e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// RetryAfterOf returns the Retry-After carried by err, if any.
func RetryAfterOf(err error) time.Duration {
	if se, ok := errors.AsType[*StatusError](err); ok {
		return se.RetryAfter
	}
	return 0
}

// maxErrorBody bounds how much of a receiver's error body ends up in an
// error, and so in the notification log.
const maxErrorBody = 256

// CheckResponse applies RetryFromStatus to resp and, outside 2xx, returns a
// *StatusError quoting the start of the body with secrets removed. It
// drains and closes the body.
func CheckResponse(resp *http.Response, now time.Time, secrets ...Secret) (retry bool, err error) {
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return false, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	se := &StatusError{Code: resp.StatusCode, Body: Redact(strings.TrimSpace(string(body)), secrets...)}
	se.RetryAfter, _ = RetryAfter(resp.Header, now)
	return RetryFromStatus(resp.StatusCode), se
}

// Post sends body to target with the given headers and judges the answer
// with CheckResponse. A request that gets no answer (refused, timed out)
// is retried. Errors never quote target, and secrets are removed from them.
func Post(ctx context.Context, c *http.Client, target string, header http.Header, body []byte, now func() time.Time, secrets ...Secret) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, Redacted(fmt.Errorf("build request: %w", err), secrets...)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		// net/http quotes the whole URL, whose path may be a token (as
		// Slack's is): keep only the cause, which names host and port.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return true, Redacted(fmt.Errorf("post: %w", err), secrets...)
	}
	return CheckResponse(resp, now(), secrets...)
}

// Secret is a credential: a routing key, a webhook URL with a token in
// it, a password. It prints and marshals as "<secret>" so that config
// dumps and logs never show it; use string(s) only where it is sent.
type Secret string

// String hides s.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// MarshalJSON hides s.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText hides s.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Redact replaces every non-empty secret in text with "<secret>".
func Redact(text string, secrets ...Secret) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, string(s), "<secret>")
		}
	}
	return text
}

// Redacted returns err with secrets removed from its message. The original
// stays reachable with errors.Is and errors.As (for context.Canceled and
// the like), so callers must print only the returned error.
func Redacted(err error, secrets ...Secret) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := Redact(msg, secrets...); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// DefaultTimeout bounds one delivery when a notifier's config sets none.
const DefaultTimeout = 10 * time.Second

// Client returns the HTTP client of a notifier whose config asks for
// timeout; zero means DefaultTimeout.
func Client(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Timeout: timeout}
}
