// Package notifytest holds what every notifier's tests share: a full
// sample Message, a local HTTP receiver that captures requests and answers
// as scripted, and the checks that a notifier decides retries by the one
// shared rule and never leaks its secrets into errors.
package notifytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Start is the time sample messages start at.
var Start = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// Message returns a fresh trigger carrying every field.
func Message() *notify.Message {
	return &notify.Message{
		Kind:     notify.KindTrigger,
		DedupKey: "checkout/availability",
		Service:  "checkout",
		SLOs:     []string{"availability"},
		Severity: notify.SeverityPage,
		Summary:  "error budget burning 14.4x too fast",
		BurnRates: []notify.BurnRate{{
			LongWindow: notify.Duration(time.Hour), ShortWindow: notify.Duration(5 * time.Minute),
			Long: 15.2, Short: 20.5, Threshold: 14.4,
		}},
		BudgetRemaining: 0.42,
		ExhaustsAt:      Start.Add(3 * time.Hour),
		Team:            "payments",
		Owner:           "alice",
		OnCall:          "bob",
		RunbookURL:      "https://runbooks.example.com/checkout",
		UIURL:           "https://slogate.example.com/slo/checkout/availability",
		Deploy: &notify.Deploy{
			Version: "v1.42.0", Commit: "abc1234", Author: "carol",
			At: Start.Add(-10 * time.Minute), Impact: "regression",
		},
		StartedAt: Start,
	}
}

// Resolve returns the resolve of Message.
func Resolve() *notify.Message {
	m := Message()
	m.Kind = notify.KindResolve
	m.EndedAt = Start.Add(47 * time.Minute)
	m.Lasted = notify.Duration(47 * time.Minute)
	m.BudgetSpent = 0.08
	return m
}

// Change returns a change message recording Message's deploy.
func Change() *notify.Message {
	m := Message()
	return &notify.Message{
		Kind: notify.KindChange, Service: m.Service, Team: m.Team,
		Summary: "deployed v1.42.0", Deploy: m.Deploy, UIURL: m.UIURL,
	}
}

// Request is one request a Receiver captured.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Receiver is a real HTTP server on 127.0.0.1 that records every request
// and answers with Status (200 when zero), Header and Body. Its methods
// are safe for concurrent use.
type Receiver struct {
	*httptest.Server

	mu       sync.Mutex
	requests []Request
	status   int
	header   http.Header
	body     string
}

// NewReceiver starts a Receiver closed at the end of the test.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, Request{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body})
		status, header, reply := r.status, r.header, r.body
		r.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, strings.ReplaceAll(reply, "{{body}}", string(body)))
	}))
	t.Cleanup(r.Close)
	return r
}

// Answer sets the status, headers and body of later answers. "{{body}}"
// in body is replaced by the request body, as receivers that quote a bad
// request back do.
func (r *Receiver) Answer(status int, header http.Header, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.header, r.body = status, header, body
}

// Requests returns the requests captured so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Last returns the last captured request, failing the test if none came.
func (r *Receiver) Last(t testing.TB) Request {
	t.Helper()
	reqs := r.Requests()
	if len(reqs) == 0 {
		t.Fatal("receiver got no request")
	}
	return reqs[len(reqs)-1]
}

// CheckNoSecrets fails the test if err's message contains any secret.
func CheckNoSecrets(t testing.TB, err error, secrets ...notify.Secret) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), string(s)) {
			t.Errorf("error %q leaks secret %q", err, string(s))
		}
	}
}

// CheckContract runs an HTTP notifier against every kind of answer a
// receiver gives and checks the retry decision, Retry-After and that no
// secret leaks into the error. newNotifier builds the notifier for a
// receiver at url; secrets are everything it must keep to itself, and url
// is added to them because webhook URLs carry tokens.
func CheckContract(t *testing.T, newNotifier func(t *testing.T, url string) notify.Notifier, secrets ...notify.Secret) {
	tests := []struct {
		name       string
		status     int
		header     http.Header
		down       bool
		wantRetry  bool
		wantErr    bool
		wantAfter  time.Duration
		quotedBody bool
	}{
		{name: "an accepted request is done", status: http.StatusAccepted},
		{name: "a bad request is not retried", status: http.StatusBadRequest, wantErr: true},
		{name: "a forbidden request is not retried", status: http.StatusForbidden, wantErr: true},
		{name: "a rejected request quoting the body back leaks no secret", status: http.StatusBadRequest, wantErr: true, quotedBody: true},
		{name: "a rate-limited request is retried after Retry-After", status: http.StatusTooManyRequests,
			header: http.Header{"Retry-After": {"7"}}, wantRetry: true, wantErr: true, wantAfter: 7 * time.Second},
		{name: "a server error is retried", status: http.StatusServiceUnavailable, wantRetry: true, wantErr: true, quotedBody: true},
		{name: "a receiver that is down is retried", down: true, wantRetry: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReceiver(t)
			body := "oops"
			if tt.quotedBody {
				body = "cannot parse {{body}}"
			}
			r.Answer(tt.status, tt.header, body)
			url := r.URL + "/hook/T000/B000/XXXXSECRETPATH"
			n := newNotifier(t, url)
			if tt.down {
				r.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			retry, err := n.Notify(ctx, Message())
			if retry != tt.wantRetry || (err != nil) != tt.wantErr {
				t.Fatalf("got retry %v, error %v; want retry %v, error %v", retry, err, tt.wantRetry, tt.wantErr)
			}
			if got := notify.RetryAfterOf(err); got != tt.wantAfter {
				t.Errorf("got Retry-After %s, want %s", got, tt.wantAfter)
			}
			CheckNoSecrets(t, err, append(secrets, notify.Secret(url), "XXXXSECRETPATH")...)
			var se *notify.StatusError
			if !tt.down && tt.wantErr && !errors.As(err, &se) {
				t.Errorf("got error %T %v, want a *notify.StatusError", err, err)
			}
		})
	}
}

// Fake is a Notifier whose behaviour is a function field.
type Fake struct {
	NotifyFunc func(ctx context.Context, m *notify.Message) (bool, error)
}

var _ notify.Notifier = (*Fake)(nil)

// Notify calls NotifyFunc.
func (f *Fake) Notify(ctx context.Context, m *notify.Message) (bool, error) {
	if f.NotifyFunc == nil {
		return false, fmt.Errorf("fake notifier has no NotifyFunc")
	}
	return f.NotifyFunc(ctx, m)
}
