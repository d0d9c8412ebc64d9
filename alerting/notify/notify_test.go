package notify_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
)

func TestRetryFromStatus(t *testing.T) {
	tests := []struct {
		name string
		code int
		want bool
	}{
		{name: "too many requests is retried", code: 429, want: true},
		{name: "an internal error is retried", code: 500, want: true},
		{name: "a bad gateway is retried", code: 502, want: true},
		{name: "a bad request is not retried", code: 400},
		{name: "an unauthorized request is not retried", code: 401},
		{name: "a missing endpoint is not retried", code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notify.RetryFromStatus(tt.code); got != tt.want {
				t.Errorf("got %v for %d, want %v", got, tt.code, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		value  string
		want   time.Duration
		wantOK bool
	}{
		{name: "seconds are read", value: "120", want: 2 * time.Minute, wantOK: true},
		{name: "an HTTP date is read relative to now", value: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second, wantOK: true},
		{name: "a date in the past is ignored", value: now.Add(-time.Minute).Format(http.TimeFormat)},
		{name: "a missing header is ignored", value: ""},
		{name: "garbage is ignored", value: "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			got, ok := notify.RetryAfter(h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %s, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRetryAfterOfFindsWrappedStatus(t *testing.T) {
	err := fmt.Errorf("pagerduty: %w", &notify.StatusError{Code: 429, RetryAfter: time.Minute})
	if got := notify.RetryAfterOf(err); got != time.Minute {
		t.Errorf("got %s, want 1m", got)
	}
	if got := notify.RetryAfterOf(errors.New("down")); got != 0 {
		t.Errorf("got %s for a plain error, want 0", got)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := notify.Secret("hunter2-key")
	cfg := struct {
		Key notify.Secret `json:"key"`
	}{s}
	body, _ := json.Marshal(cfg)
	for _, got := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v", cfg, cfg), string(body)} {
		if strings.Contains(got, "hunter2") {
			t.Errorf("got %q, want the secret hidden", got)
		}
	}
}

func TestRedactedKeepsTheCause(t *testing.T) {
	cause := errors.New("dial https://hooks.example.com/T0/SECRET: refused")
	err := notify.Redacted(fmt.Errorf("post: %w", cause), "SECRET")
	notifytest.CheckNoSecrets(t, err, "SECRET")
	if !errors.Is(err, cause) {
		t.Errorf("got %v, want it to wrap its cause", err)
	}
}

func TestMessageSurvivesJSON(t *testing.T) {
	for _, m := range []*notify.Message{notifytest.Message(), notifytest.Resolve(), notifytest.Change()} {
		t.Run(string(m.Kind)+" messages survive a round trip through JSON", func(t *testing.T) {
			body, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var got notify.Message
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got, m) {
				t.Errorf("got %+v\nwant %+v", got, m)
			}
		})
	}
}

func TestMessageValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(m *notify.Message)
		wantErr bool
	}{
		{name: "a full trigger is valid", edit: func(*notify.Message) {}},
		{name: "an unknown kind is invalid", edit: func(m *notify.Message) { m.Kind = "page" }, wantErr: true},
		{name: "a trigger without a dedup key is invalid", edit: func(m *notify.Message) { m.DedupKey = "" }, wantErr: true},
		{name: "a message without a service is invalid", edit: func(m *notify.Message) { m.Service = "" }, wantErr: true},
		{name: "a change without a deploy is invalid", edit: func(m *notify.Message) { m.Kind, m.Deploy = notify.KindChange, nil }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := notifytest.Message()
			tt.edit(m)
			if err := m.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func ExampleMessage_Text() {
	fmt.Print(notifytest.Resolve().Text())
	// Output:
	// [RESOLVED] checkout availability: error budget burning 14.4x too fast
	//
	// Service:          checkout
	// SLO:              availability
	// Severity:         page
	// Burn rate:        15.2x over 1h0m0s, 20.5x over 5m0s (threshold 14.4x)
	// Budget remaining: 42.0%
	// Budget exhausted: 2026-11-25T12:30:00Z
	// Team:             payments
	// Owner:            alice
	// On call:          bob
	// Runbook:          https://runbooks.example.com/checkout
	// SLO page:         https://slogate.example.com/slo/checkout/availability
	// Deploy:           v1.42.0, commit abc1234, by carol, at 2026-11-25T09:20:00Z, impact regression
	// Started:          2026-11-25T09:30:00Z
	// Ended:            2026-11-25T10:17:00Z
	// Lasted:           47m0s
	// Budget spent:     8.0%
}
