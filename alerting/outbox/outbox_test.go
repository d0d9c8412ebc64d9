package outbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/notify/notifytest"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// recorder is a receiver that remembers what it got and answers with the
// next of its scripted results, then with the last one forever.
type recorder struct {
	mu      sync.Mutex
	got     []*notify.Message
	results []result
}

type result struct {
	retry bool
	err   error
}

func (r *recorder) notifier() notify.Notifier {
	return &notifytest.Fake{NotifyFunc: func(_ context.Context, m *notify.Message) (bool, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, m)
		if len(r.results) == 0 {
			return false, nil
		}
		res := r.results[0]
		if len(r.results) > 1 {
			r.results = r.results[1:]
		}
		return res.retry, res.err
	}}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func open(t *testing.T, path string, cfg Config) *Outbox {
	t.Helper()
	cfg.Path = path
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
	}
	o, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func get(t *testing.T, o *Outbox, id int64) Notification {
	t.Helper()
	ns, err := o.List(context.Background(), Filter{BeforeID: id + 1, Limit: 1})
	if err != nil || len(ns) != 1 || ns[0].ID != id {
		t.Fatalf("get notification %d: got %v, %v", id, ns, err)
	}
	return ns[0]
}

func TestTickDeliversOnceAndCounts(t *testing.T) {
	ctx := context.Background()
	pd := &recorder{}
	set := metrics.NewSet()
	o := open(t, filepath.Join(t.TempDir(), "db"), Config{Notifiers: map[string]notify.Notifier{"pd": pd.notifier()}, Metrics: set})
	m := notifytest.Message()
	id, err := o.Enqueue(ctx, "pd", m, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := metricsText(set); !strings.Contains(got, "slogate_notifications_pending 1") {
		t.Errorf("got metrics\n%s\nwant 1 pending", got)
	}
	for range 3 {
		if _, err := o.Tick(ctx, t0); err != nil {
			t.Fatal(err)
		}
	}
	if pd.count() != 1 {
		t.Fatalf("got %d deliveries, want 1", pd.count())
	}
	n := get(t, o, id)
	if n.Status != StatusSent || n.Attempts != 1 || n.Receiver != "pd" || n.DedupKey != m.DedupKey || n.Message.Summary != m.Summary {
		t.Errorf("got %+v, want sent after 1 attempt to pd", n)
	}
	got := metricsText(set)
	for _, want := range []string{`slogate_notifications_sent_total{receiver="pd"} 1`, "slogate_notifications_pending 0"} {
		if !strings.Contains(got, want) {
			t.Errorf("got metrics\n%s\nwant %s", got, want)
		}
	}
}

func metricsText(s *metrics.Set) string {
	var b bytes.Buffer
	s.WritePrometheus(&b)
	return b.String()
}

func TestEnqueueRejects(t *testing.T) {
	o := open(t, filepath.Join(t.TempDir(), "db"), Config{Notifiers: map[string]notify.Notifier{"pd": (&recorder{}).notifier()}})
	bad := notifytest.Message()
	bad.DedupKey = ""
	tests := []struct {
		name     string
		receiver string
		msg      *notify.Message
	}{
		{name: "an unknown receiver is refused", receiver: "nobody", msg: notifytest.Message()},
		{name: "a trigger without a dedup key is refused", receiver: "pd", msg: bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := o.Enqueue(context.Background(), tt.receiver, tt.msg, t0); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}

func TestRetriesBackOffWithJitterAndHonourRetryAfter(t *testing.T) {
	ctx := context.Background()
	down := result{retry: true, err: errors.New("connection refused")}
	limited := result{retry: true, err: fmt.Errorf("pd: %w", &notify.StatusError{Code: 429, RetryAfter: 2 * time.Minute})}
	tests := []struct {
		name     string
		results  []result
		min, max []time.Duration // allowed delay before attempt i+2
	}{
		{name: "failures double the wait with jitter in its upper half", results: []result{down},
			min: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second},
			max: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}},
		{name: "a Retry-After longer than the backoff is waited out", results: []result{limited, down},
			min: []time.Duration{2 * time.Minute, time.Second}, max: []time.Duration{2 * time.Minute, 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{results: tt.results}
			o := open(t, filepath.Join(t.TempDir(), "db"), Config{Notifiers: map[string]notify.Notifier{"r": r.notifier()}})
			id, err := o.Enqueue(ctx, "r", notifytest.Message(), t0)
			if err != nil {
				t.Fatal(err)
			}
			now := t0
			for i := range tt.min {
				if _, err := o.Tick(ctx, now); err != nil {
					t.Fatal(err)
				}
				n := get(t, o, id)
				wait := n.NextAttemptAt.Sub(now)
				if n.Status != StatusPending || n.Attempts != i+1 || n.LastError == "" || wait < tt.min[i] || wait > tt.max[i] {
					t.Fatalf("after attempt %d: got %s, %d attempts, error %q, next in %s; want pending, next in [%s, %s]",
						i+1, n.Status, n.Attempts, n.LastError, wait, tt.min[i], tt.max[i])
				}
				if _, err := o.Tick(ctx, n.NextAttemptAt.Add(-time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				if r.count() != i+1 {
					t.Fatalf("got %d attempts before the next was due, want %d", r.count(), i+1)
				}
				now = n.NextAttemptAt
			}
			as, err := o.Attempts(ctx, id)
			if err != nil || len(as) != len(tt.min) {
				t.Errorf("got attempts %+v, %v; want %d recorded", as, err, len(tt.min))
			}
		})
	}
}

func TestGivingUp(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		result       result
		fallback     bool
		wantAttempts int
		wantStatus   Status
	}{
		{name: "a receiver down past the deadline hands over to the fallback", result: result{retry: true, err: errors.New("down")},
			fallback: true, wantStatus: StatusFallback},
		{name: "a refusal hands over to the fallback at once", result: result{err: errors.New("400 bad request")},
			fallback: true, wantAttempts: 1, wantStatus: StatusFallback},
		{name: "without a fallback a receiver down past the deadline fails", result: result{retry: true, err: errors.New("down")},
			wantStatus: StatusFailed},
		{name: "a receiver asking to wait past the deadline hands over at once", fallback: true, wantAttempts: 1, wantStatus: StatusFallback,
			result: result{retry: true, err: fmt.Errorf("pd: %w", &notify.StatusError{Code: 429, RetryAfter: time.Hour})}},
		{name: "without a fallback it gets a last attempt at the deadline", wantAttempts: 2, wantStatus: StatusFailed,
			result: result{retry: true, err: fmt.Errorf("pd: %w", &notify.StatusError{Code: 429, RetryAfter: time.Hour})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary, backup := &recorder{results: []result{tt.result}}, &recorder{}
			cfg := Config{Notifiers: map[string]notify.Notifier{"primary": primary.notifier()}, Deadline: time.Minute, Metrics: metrics.NewSet()}
			if tt.fallback {
				cfg.Notifiers["backup"] = backup.notifier()
				cfg.Fallback = "backup"
			}
			o := open(t, filepath.Join(t.TempDir(), "db"), cfg)
			id, err := o.Enqueue(ctx, "primary", notifytest.Message(), t0)
			if err != nil {
				t.Fatal(err)
			}
			for now := t0; now.Before(t0.Add(2 * time.Minute)); now = now.Add(100 * time.Millisecond) {
				if _, err := o.Tick(ctx, now); err != nil {
					t.Fatal(err)
				}
			}
			n := get(t, o, id)
			if n.Status != tt.wantStatus || n.LastError == "" || (tt.wantAttempts > 0 && n.Attempts != tt.wantAttempts) {
				t.Errorf("got %s after %d attempts, last error %q; want %s", n.Status, n.Attempts, n.LastError, tt.wantStatus)
			}
			if !strings.Contains(metricsText(cfg.Metrics), `slogate_notifications_failed_total{receiver="primary"} 1`) {
				t.Errorf("got metrics\n%s\nwant one failure of primary", metricsText(cfg.Metrics))
			}
			if !tt.fallback {
				return
			}
			fb, err := o.List(ctx, Filter{Receiver: "backup"})
			if err != nil || len(fb) != 1 || fb[0].FallbackOf != id || fb[0].Status != StatusSent || backup.count() != 1 {
				t.Errorf("got fallback rows %+v, %v and %d deliveries; want one sent copy of %d", fb, err, backup.count(), id)
			}
			t.Logf("primary gave up after %d attempts: %s", n.Attempts, n.LastError)
		})
	}
}

func TestPendingSurvivesRestartAndIsDeliveredOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	r := &recorder{}
	cfg := Config{Path: path, Notifiers: map[string]notify.Notifier{"r": r.notifier()}}
	o, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Enqueue(ctx, "r", notifytest.Message(), t0); err != nil {
		t.Fatal(err)
	}
	o.Close()
	set := metrics.NewSet()
	cfg.Metrics = set
	o = open(t, path, cfg)
	if !strings.Contains(metricsText(set), "slogate_notifications_pending 1") {
		t.Errorf("got metrics\n%s\nwant the pending notification counted after restart", metricsText(set))
	}
	for range 2 {
		if _, err := o.Tick(ctx, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if r.count() != 1 {
		t.Errorf("got %d deliveries after restart, want 1", r.count())
	}
}

const crashEnv = "SLOGATE_OUTBOX_CRASH_DB"

// TestCrashChild is the process TestPendingSurvivesKill kills: it enqueues
// forever, printing each ID once Enqueue returned, and never delivers.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestPendingSurvivesKill")
	}
	ctx := context.Background()
	o, err := Open(ctx, Config{Path: path, Notifiers: map[string]notify.Notifier{"r": (&recorder{}).notifier()}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		m := notifytest.Message()
		m.DedupKey = fmt.Sprint(i)
		id, err := o.Enqueue(ctx, "r", m, t0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("enqueued %d\n", id)
	}
}

func TestPendingSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "slogate.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked int64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "enqueued %d", &acked); err == nil && acked >= 50 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acked == 0 {
		t.Fatal("child enqueued nothing")
	}
	r := &recorder{}
	o := open(t, path, Config{Notifiers: map[string]notify.Notifier{"r": r.notifier()}})
	if _, err := o.Tick(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Tick(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range r.got {
		seen[m.DedupKey]++
	}
	for i := range acked {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("notification %d (acknowledged up to %d): delivered %d times after kill, want once", i, acked, seen[fmt.Sprint(i)])
		}
	}
}

func TestRunRetriesUntilDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := &recorder{results: []result{{retry: true, err: errors.New("down")}, {retry: true, err: errors.New("down")}, {}}}
		o := open(t, filepath.Join(t.TempDir(), "db"), Config{Notifiers: map[string]notify.Notifier{"r": r.notifier()}, PollInterval: time.Minute})
		done := make(chan error)
		go func() { done <- o.Run(ctx) }()
		start := time.Now()
		id, err := o.Enqueue(ctx, "r", notifytest.Message(), start)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		n := get(t, o, id)
		if n.Status != StatusSent || n.Attempts != 3 {
			t.Errorf("got %s after %d attempts, want sent after 3", n.Status, n.Attempts)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		o.Close()
	})
}

func TestOpenRejectsBadConfig(t *testing.T) {
	n := map[string]notify.Notifier{"r": (&recorder{}).notifier()}
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "a config without receivers is refused", cfg: Config{}},
		{name: "a fallback that is not a receiver is refused", cfg: Config{Notifiers: n, Fallback: "nobody"}},
		{name: "a max backoff below the min is refused", cfg: Config{Notifiers: n, MinBackoff: time.Minute, MaxBackoff: time.Second}},
		{name: "a negative deadline is refused", cfg: Config{Notifiers: n, Deadline: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Path = filepath.Join(t.TempDir(), "db")
			if o, err := Open(context.Background(), tt.cfg); err == nil {
				o.Close()
				t.Error("got no error, want one")
			}
		})
	}
}
