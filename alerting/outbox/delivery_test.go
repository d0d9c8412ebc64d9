package outbox

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
	"github.com/slogate/slogate/alerting/notify/webhook"
)

// TestReceiverDownFallsBackOverHTTP is the acceptance story with real
// HTTP: the receiver is down for the whole test, the retries show in the
// notification log, then the fallback receiver gets the notification.
func TestReceiverDownFallsBackOverHTTP(t *testing.T) {
	ctx := context.Background()
	down := notifytest.NewReceiver(t)
	down.Close()
	backup := notifytest.NewReceiver(t)
	const key = "signing-key-771"
	hook := func(url string) notify.Notifier {
		n, err := webhook.New(webhook.Config{URL: notify.Secret(url), SigningKey: key, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	o := open(t, filepath.Join(t.TempDir(), "db"), Config{
		Notifiers: map[string]notify.Notifier{"primary": hook(down.URL), "backup": hook(backup.URL)},
		Fallback:  "backup", Deadline: 2 * time.Minute,
	})
	id, err := o.Enqueue(ctx, "primary", notifytest.Message(), t0)
	if err != nil {
		t.Fatal(err)
	}
	for now := t0; now.Before(t0.Add(3 * time.Minute)); now = now.Add(time.Second) {
		if _, err := o.Tick(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	n := get(t, o, id)
	if n.Status != StatusFallback || n.Attempts < 5 || !strings.Contains(n.LastError, "connection refused") {
		t.Errorf("got %s after %d attempts, last error %q; want fallback after several refused attempts", n.Status, n.Attempts, n.LastError)
	}
	as, err := o.Attempts(ctx, id)
	if err != nil || len(as) != n.Attempts {
		t.Errorf("got %d attempts in the log, %v; want %d", len(as), err, n.Attempts)
	}
	for _, a := range as {
		t.Logf("attempt %d at %s: %s", a.Attempt, a.At.Sub(t0), a.Error)
	}
	reqs := backup.Requests()
	if len(reqs) != 1 || !webhook.Verify([]byte(key), reqs[0].Body, reqs[0].Header.Get("X-Slogate-Signature")) {
		t.Fatalf("got %d requests at the fallback, want 1 signed", len(reqs))
	}
	if !strings.Contains(string(reqs[0].Body), `"dedup_key":"checkout/availability"`) {
		t.Errorf("got %s at the fallback, want the original message", reqs[0].Body)
	}
}
