// Package webhook delivers notifications as generic signed JSON.
//
// Each notification is one POST with Content-Type application/json and
// the body
//
//	{
//	  "version": 1,
//	  "message": {
//	    "kind": "trigger" | "resolve" | "change",
//	    "dedup_key": "checkout/availability",   // same for trigger and resolve
//	    "service": "checkout",
//	    "slos": ["availability"],
//	    "severity": "page" | "ticket",          // absent for change
//	    "summary": "error budget burning 14.4x too fast",
//	    "burn_rates": [{"long_window": "1h0m0s", "short_window": "5m0s",
//	                    "long": 15.2, "short": 20.5, "threshold": 14.4}],
//	    "budget_remaining": 0.42,               // fraction, negative when overspent
//	    "exhausts_at": "2026-11-25T12:30:00Z",  // RFC 3339; absent when not burning out
//	    "team": "payments", "owner": "alice", "on_call": "bob",
//	    "runbook_url": "https://...", "ui_url": "https://...",
//	    "deploy": {"version": "v1.42.0", "commit": "abc1234", "author": "carol",
//	               "at": "2026-11-25T09:20:00Z", "impact": "regression"},
//	    "started_at": "2026-11-25T09:30:00Z",
//	    "ended_at": "2026-11-25T10:17:00Z",     // resolve only
//	    "lasted": "47m0s",                      // resolve only
//	    "budget_spent": 0.08,                   // resolve only, fraction of the budget
//	    "repeat": 1,                            // reminders of an unacknowledged page; absent on the first
//	    "mentions": [{"person": "bob", "slack": "U0BOB",
//	                  "reason": "bob authored the suspect deploy"}]
//	  }
//	}
//
// Fields that are unknown are left out; new fields may be added within
// version 1, so receivers must ignore fields they do not know. The headers
//
//	X-Slogate-Signature: sha256=<hex HMAC-SHA256 of the body with the signing key>
//	X-Slogate-Kind: trigger
//	X-Slogate-Dedup-Key: checkout/availability
//
// let a receiver check the body came from slogate (compare with Verify)
// and route without parsing. A 2xx answer is success; 429 and 5xx are
// retried, honouring Retry-After; any other status is given up on.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slogate/slogate/alerting/notify"
)

// Version is the schema version in every body.
const Version = 1

// Payload is the body of every webhook request.
type Payload struct {
	Version int             `json:"version"`
	Message *notify.Message `json:"message"`
}

// Notifier posts signed JSON to one URL. It is safe for concurrent use.
type Notifier struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns its Notifier.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Notifier{cfg: cfg, client: notify.Client(cfg.Timeout), now: time.Now}, nil
}

// Notify posts m.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) (bool, error) {
	body, err := json.Marshal(Payload{Version: Version, Message: m})
	if err != nil {
		return false, fmt.Errorf("webhook: encode message: %w", err)
	}
	h := http.Header{
		"Content-Type":        {"application/json"},
		"X-Slogate-Signature": {Sign([]byte(n.cfg.SigningKey), body)},
		"X-Slogate-Kind":      {string(m.Kind)},
		"X-Slogate-Dedup-Key": {m.DedupKey},
	}
	retry, err := notify.Post(ctx, n.client, string(n.cfg.URL), h, body, n.now, n.cfg.URL, n.cfg.SigningKey)
	if err != nil {
		return retry, fmt.Errorf("webhook: %w", err)
	}
	return false, nil
}

// Sign returns the X-Slogate-Signature value of body under key.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is the X-Slogate-Signature of body
// under key, comparing in constant time.
func Verify(key, body []byte, signature string) bool {
	hexSum, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
