package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slogate/slogate/internal/realtest"
)

// binDir holds the slogate binary built for this run; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// timed logs how long the test took when it ends.
func timed(t *testing.T) {
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s took %s", t.Name(), time.Since(start).Round(100*time.Millisecond)) })
}

var build struct {
	once sync.Once
	path string
	err  error
}

// slogateBinary builds cmd/slogate once per run of the suite and returns
// the binary's path.
func slogateBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "slogate-integration-")
		if err != nil {
			build.err = err
			return
		}
		binDir = dir
		build.path = filepath.Join(dir, "slogate")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", build.path, "github.com/slogate/slogate/cmd/slogate").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build ./cmd/slogate: %v\n%s", err, out)
			return
		}
		t.Logf("built slogate in %s", time.Since(start).Round(100*time.Millisecond))
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// writeFiles writes files, keyed by slash-separated paths relative to dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// slogate is a running `slogate serve`.
type slogate struct {
	*realtest.Process
	config string
	base   string // http://127.0.0.1:port
}

// startSlogate runs the built binary on config until the test ends and
// returns once /readyz answers.
func startSlogate(t *testing.T, config string) *slogate {
	t.Helper()
	bin := slogateBinary(t)
	dir := filepath.Dir(config)
	// A restarted slogate appends to the same log: read only what this
	// run writes.
	var offset int64
	if fi, err := os.Stat(filepath.Join(dir, "slogate.log")); err == nil {
		offset = fi.Size()
	}
	p := realtest.StartProcess(t, dir, "slogate", bin, "serve", "--config", config, "--log-format", "json")
	s := &slogate{Process: p, config: config}
	// slogate listens on 127.0.0.1:0 and logs the address it got.
	waitFor(t, 30*time.Second, "slogate's listen address in its log", func() bool {
		select {
		case <-p.Exited():
			t.Fatalf("slogate exited:\n%s", p.Tail(4000))
		default:
		}
		s.base = listenAddr(p.Log, offset)
		return s.base != ""
	})
	p.WaitReady(s.base+"/readyz", 30*time.Second)
	return s
}

// listenAddr returns the base URL of the first "listening" line of a JSON
// slogate log from offset on, or "".
func listenAddr(log string, offset int64) string {
	f, err := os.Open(log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Addr != "" {
			return "http://" + line.Addr
		}
	}
	return ""
}

// restart stops slogate and starts it again on the same config and
// storage; the address changes.
func (s *slogate) restart(t *testing.T) {
	t.Helper()
	s.Stop()
	n := *startSlogate(t, s.config)
	*s = n
}

// waitFor polls cond every 100ms until it holds, failing the test after
// timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getJSON fetches url into v and returns the status code.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %.500s", url, err, body)
		}
	}
	return resp.StatusCode
}

// postJSON posts body to url and fails the test unless it answers 200.
func postJSON(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: got %d %s, want 200", url, resp.StatusCode, bytes.TrimSpace(b))
	}
}

// budget is the part of GET /api/v1/services/{s}/slos/{slo} compared.
type budget struct {
	Good           float64  `json:"good"`
	Total          float64  `json:"total"`
	RemainingRatio *float64 `json:"remainingRatio"`
	NoData         bool     `json:"noData"`
}

// sloBudget returns an SLO's budget from slogate's API.
func (s *slogate) sloBudget(t *testing.T, service, name string) budget {
	t.Helper()
	var v struct {
		Budget budget `json:"budget"`
	}
	if code := getJSON(t, s.base+"/api/v1/services/"+service+"/slos/"+name, &v); code != http.StatusOK {
		t.Fatalf("SLO %s/%s: got %d, want 200", service, name, code)
	}
	return v.Budget
}

// evaluatedAt returns the time of slogate's latest evaluation.
func (s *slogate) evaluatedAt(t *testing.T) time.Time {
	t.Helper()
	var v struct {
		EvaluatedAt time.Time `json:"evaluatedAt"`
	}
	getJSON(t, s.base+"/api/v1/services", &v)
	return v.EvaluatedAt
}

// waitEvaluation waits for an evaluation that started after since.
func (s *slogate) waitEvaluation(t *testing.T, since time.Time) {
	t.Helper()
	waitFor(t, 15*time.Second, "an evaluation after "+since.Format(time.RFC3339Nano), func() bool {
		return s.evaluatedAt(t).After(since)
	})
}

// sources is GET /api/v1/targets.
type sources struct {
	Scrape []struct {
		Name       string    `json:"name"`
		Up         bool      `json:"up"`
		LastScrape time.Time `json:"lastScrape"`
		LastError  string    `json:"lastError"`
	} `json:"scrape"`
	Prometheus []struct {
		Service     string    `json:"service"`
		SLO         string    `json:"slo"`
		Backfilling bool      `json:"backfilling"`
		Progress    float64   `json:"progress"`
		Following   time.Time `json:"following"`
		LastError   string    `json:"lastError"`
	} `json:"prometheus"`
}

func (s *slogate) sources(t *testing.T) sources {
	t.Helper()
	var v sources
	getJSON(t, s.base+"/api/v1/targets", &v)
	return v
}

// relDiff is |got-want| relative to want (absolute when want is 0).
func relDiff(got, want float64) float64 {
	d := got - want
	if d < 0 {
		d = -d
	}
	if want != 0 {
		if want < 0 {
			want = -want
		}
		return d / want
	}
	return d
}
