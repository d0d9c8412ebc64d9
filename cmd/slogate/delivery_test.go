package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slogate/slogate/alerting/notify/webhook"
)

// deliveryInterval is the evaluation interval of the delivery tests: short,
// so that a page fires within a second of the push and a restarted server
// evaluates several times within a few seconds.
const deliveryInterval = time.Second

// deliveryHook is a webhook receiver on loopback. It checks each request's
// signature, answers with the status and headers set last, and remembers
// every request with the status it answered. Its methods are safe for
// concurrent use.
type deliveryHook struct {
	name, key string
	srv       *httptest.Server

	mu     sync.Mutex
	status int
	header http.Header
	calls  []hookCall
}

// hookCall is one request a deliveryHook got and what it answered.
type hookCall struct {
	at       time.Time
	status   int
	kind     string
	dedupKey string
	message  json.RawMessage // the message exactly as sent
}

// newDeliveryHook starts a receiver configured as webhook receiver name,
// closed at the end of the test, answering status and header until told
// otherwise.
func newDeliveryHook(t *testing.T, name string, status int, header http.Header) *deliveryHook {
	h := &deliveryHook{name: name, key: name + "-signing-key", status: status, header: header}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify([]byte(h.key), body, r.Header.Get("X-Slogate-Signature")) {
			t.Errorf("%s: bad signature on %s", name, body)
		}
		var p struct {
			Version int             `json:"version"`
			Message json.RawMessage `json:"message"`
		}
		var m struct {
			Kind     string `json:"kind"`
			DedupKey string `json:"dedup_key"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Version != webhook.Version || json.Unmarshal(p.Message, &m) != nil {
			t.Errorf("%s: got body %s, want a version %d webhook payload", name, body, webhook.Version)
		}
		h.mu.Lock()
		status, header := h.status, h.header
		h.calls = append(h.calls, hookCall{at: time.Now(), status: status, kind: m.Kind, dedupKey: m.DedupKey, message: p.Message})
		h.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "%s answers %d", name, status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// answer sets the status and headers of later answers.
func (h *deliveryHook) answer(status int, header http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status, h.header = status, header
}

// all returns the requests received so far, first first.
func (h *deliveryHook) all() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.calls...)
}

// accepted returns the requests answered with 200.
func (h *deliveryHook) accepted() []hookCall {
	var out []hookCall
	for _, c := range h.all() {
		if c.status == http.StatusOK {
			out = append(out, c)
		}
	}
	return out
}

// writeDeliverySetup writes a config in which service shop, owned by team
// payments with alice alone on call, pages the team's channel hooks[0].
// Every hook is a webhook receiver under its name, its signing key in a
// file; extra is appended to the config. It returns the config's path.
func writeDeliverySetup(t *testing.T, extra string, hooks ...*deliveryHook) string {
	t.Helper()
	files := map[string]string{
		"specs/shop.yaml": "name: shop\nowner: {team: payments}\nrunbook: https://runbooks.example.com/shop\n" +
			"slos:\n  - {name: success, objective: 99.9, window: 28d, sli: {push: {}}}\n",
	}
	var receivers strings.Builder
	for _, h := range hooks {
		keyFile := h.name + ".key"
		files[keyFile] = h.key + "\n"
		fmt.Fprintf(&receivers, "  - {name: %s, type: webhook, url: %q, secretFile: %s}\n", h.name, h.srv.URL+"/hook", keyFile)
	}
	files["slogate.yaml"] = fmt.Sprintf(`listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: %s
people:
  - {name: alice, email: alice@example.com}
teams:
  - name: payments
    members: [alice]
    channel: %s
    rotation: {shift: 7d, timeZone: Europe/Berlin}
receivers:
%s%s`, deliveryInterval, hooks[0].name, receivers.String(), extra)
	return filepath.Join(writeFiles(t, files), "slogate.yaml")
}

// burnShop pushes an hour of clean traffic for shop, then ten minutes of
// failures up to the current minute, so that a page fires at the next
// evaluation.
func burnShop(t *testing.T, base string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Minute)
	push(t, base, "shop", now.Add(-70*time.Minute), now.Add(-10*time.Minute), 100, 0)
	push(t, base, "shop", now.Add(-10*time.Minute), now.Add(time.Minute), 100, 100)
}

// notificationRow is a row of GET /api/v1/notifications.
type notificationRow struct {
	ID         int64  `json:"id"`
	Receiver   string `json:"receiver"`
	DedupKey   string `json:"dedup_key"`
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"last_error"`
	FallbackOf int64  `json:"fallback_of"`
}

// notificationsOf lists the notifications for receiver, newest first.
func notificationsOf(t *testing.T, base, receiver string) []notificationRow {
	t.Helper()
	var list struct {
		Notifications []notificationRow `json:"notifications"`
	}
	if code := getJSON(t, base+"/api/v1/notifications?receiver="+url.QueryEscape(receiver), &list); code != http.StatusOK {
		t.Fatalf("notifications of %s: got %d, want 200", receiver, code)
	}
	return list.Notifications
}

// waitNotification waits until a notification for receiver satisfies
// cond and returns it, newest first if several do.
func waitNotification(t *testing.T, base, receiver, what string, cond func(notificationRow) bool) notificationRow {
	t.Helper()
	var got notificationRow
	waitFor(t, 30*time.Second, what, func() bool {
		for _, n := range notificationsOf(t, base, receiver) {
			if cond(n) {
				got = n
				return true
			}
		}
		return false
	})
	return got
}

// firingAlert returns the firing alert of severity page, if any, with
// the receivers it was sent to.
func firingAlert(t *testing.T, base string) (key string, receivers []string) {
	t.Helper()
	var list struct {
		Alerts []struct {
			Key       string   `json:"key"`
			Severity  string   `json:"severity"`
			State     string   `json:"state"`
			Receivers []string `json:"receivers"`
		} `json:"alerts"`
	}
	if code := getJSON(t, base+"/api/v1/alerts?service=shop", &list); code != http.StatusOK {
		t.Fatalf("alerts: got %d, want 200", code)
	}
	for _, a := range list.Alerts {
		if a.Severity == "page" && a.State == "firing" {
			return a.Key, a.Receivers
		}
	}
	return "", nil
}

// TestPendingNotificationIsDeliveredOnceAfterKill9 kills the real binary
// while a page waits for its next attempt at a receiver answering 503 and
// starts it again on the same database: the page reaches the receiver
// exactly once, under the same dedup key, and the open alert is restored
// rather than raised again.
func TestPendingNotificationIsDeliveredOnceAfterKill9(t *testing.T) {
	bin := buildBinary(t)
	hook := newDeliveryHook(t, "payments-hook", http.StatusServiceUnavailable, nil)
	config := writeDeliverySetup(t, "", hook)
	cmd, base := startBinary(t, bin, config)
	burnShop(t, base)

	before := waitNotification(t, base, hook.name, "a pending trigger with a failed attempt", func(n notificationRow) bool {
		return n.Kind == "trigger" && n.Status == "pending" && n.Attempts >= 1
	})
	if !strings.Contains(before.LastError, "503") {
		t.Errorf("before the kill got last error %q, want the receiver's 503", before.LastError)
	}
	// The dispatcher saves the open alert just after enqueueing its
	// trigger, and the alerts API lists the alert with its receivers only
	// then. A kill between the two is another story: the alert would be
	// raised again under a new key.
	waitFor(t, 10*time.Second, "the open alert recorded with its receiver", func() bool {
		key, rs := firingAlert(t, base)
		return key == before.DedupKey && len(rs) == 1 && rs[0] == hook.name
	})

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	hook.answer(http.StatusOK, nil)
	restarted := time.Now()
	_, base = startBinary(t, bin, config)

	var got hookCall
	waitFor(t, 30*time.Second, "the trigger accepted after the restart", func() bool {
		acc := hook.accepted()
		if len(acc) > 0 {
			got = acc[0]
		}
		return len(acc) > 0
	})
	t.Logf("accepted %s after the restart began", got.at.Sub(restarted).Round(time.Millisecond))
	if got.kind != "trigger" || got.dedupKey != before.DedupKey {
		t.Fatalf("after the restart got %s %q, want trigger %q", got.kind, got.dedupKey, before.DedupKey)
	}
	if key, _ := firingAlert(t, base); key != before.DedupKey {
		t.Errorf("after the restart the firing page is %q, want %q restored", key, before.DedupKey)
	}

	// Let the restarted server evaluate a few times: an alert it failed to
	// restore would be raised again under a new key, a delivery it failed
	// to record would be repeated.
	time.Sleep(3 * deliveryInterval)
	if acc := hook.accepted(); len(acc) != 1 {
		t.Errorf("got %d accepted notifications, want the trigger once", len(acc))
	}
	for _, c := range hook.all() {
		if c.kind != "trigger" || c.dedupKey != before.DedupKey {
			t.Errorf("got %s %q answered %d, want only trigger %q", c.kind, c.dedupKey, c.status, before.DedupKey)
		}
	}

	var after []notificationRow
	waitFor(t, 10*time.Second, "the trigger logged as sent", func() bool {
		after = notificationsOf(t, base, hook.name)
		return len(after) > 0 && after[0].Status == "sent"
	})
	if len(after) != 1 || after[0].ID != before.ID || after[0].DedupKey != before.DedupKey || after[0].Attempts <= before.Attempts {
		t.Fatalf("notification log after the restart: got %+v; want only notification %d sent after more than %d attempts",
			after, before.ID, before.Attempts)
	}
}

// TestUnreachableReceiverFallsBackAfterDeadline pages a team whose channel
// answers 503 with Retry-After for the whole test: the retries show in the
// notification log and, at the deadline, the fallback receiver gets the
// same message.
func TestUnreachableReceiverFallsBackAfterDeadline(t *testing.T) {
	const deadline = 6 * time.Second
	primary := newDeliveryHook(t, "payments-hook", http.StatusServiceUnavailable, http.Header{"Retry-After": {"1"}})
	fallback := newDeliveryHook(t, "ops-fallback", http.StatusOK, nil)
	config := writeDeliverySetup(t, fmt.Sprintf("alerting: {fallback: %s, deadline: %s}\n", fallback.name, deadline),
		primary, fallback)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServe(t, ctx, config)
	burnShop(t, base)

	retried := waitNotification(t, base, primary.name, "the trigger retried after 503s", func(n notificationRow) bool {
		return n.Kind == "trigger" && n.Status == "pending" && n.Attempts >= 2
	})
	if !strings.Contains(retried.LastError, "503") {
		t.Errorf("while retrying got last error %q, want the receiver's 503", retried.LastError)
	}

	given := waitNotification(t, base, primary.name, "the trigger given up at the deadline", func(n notificationRow) bool {
		return n.ID == retried.ID && n.Status != "pending"
	})
	// Given up at the deadline, or just before it once the receiver's
	// Retry-After would reach past it.
	if given.Status != "fallback" || !strings.Contains(given.LastError, "deadline") ||
		!strings.Contains(given.LastError, "503") || given.Attempts < retried.Attempts {
		t.Fatalf("got %s after %d attempts, last error %q; want fallback at the deadline with the 503",
			given.Status, given.Attempts, given.LastError)
	}

	copied := waitNotification(t, base, fallback.name, "the fallback's copy sent", func(n notificationRow) bool {
		return n.FallbackOf == given.ID && n.Status == "sent"
	})
	if copied.Kind != "trigger" || copied.DedupKey != given.DedupKey {
		t.Errorf("fallback's copy: got %s %q, want trigger %q", copied.Kind, copied.DedupKey, given.DedupKey)
	}

	tried := primary.all()
	if len(tried) != given.Attempts {
		t.Errorf("primary got %d requests, the log counts %d attempts", len(tried), given.Attempts)
	}
	// Retry-After: 1 holds each retry back at least a second; backoff
	// alone would allow half that after the first failure. The last one
	// too: rather than try again sooner at the deadline, the outbox hands
	// over to the fallback.
	for i := 1; i < len(tried); i++ {
		if gap := tried[i].at.Sub(tried[i-1].at); gap < 900*time.Millisecond {
			t.Errorf("attempt %d came %s after the one before, want at least Retry-After's 1s", i+1, gap)
		}
	}
	got := fallback.all()
	if len(got) != 1 || got[0].status != http.StatusOK {
		t.Fatalf("fallback got %d requests, want 1 accepted", len(got))
	}
	if !bytes.Equal(got[0].message, tried[0].message) {
		t.Errorf("fallback got message\n%s\nwant the primary's\n%s", got[0].message, tried[0].message)
	}
	if after := got[0].at.Sub(tried[0].at); after < deadline-1500*time.Millisecond || after > deadline+4*time.Second {
		t.Errorf("fallback told %s after the first attempt, want about the %s deadline", after, deadline)
	}

	stopServe(t, cancel, done)
}
