package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// lookBinary finds a program on PATH or in /usr/bin.
func lookBinary(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	p := filepath.Join("/usr/bin", name)
	if _, err := os.Stat(p); err == nil {
		return p, true
	}
	return "", false
}

// binary returns the path of program name from Debian package pkg. Without
// it the test is skipped, except in CI (CI=true), where it fails.
func binary(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, ok := lookBinary(name); ok {
		return p
	}
	missing(t, fmt.Sprintf("%s not found: install the Debian package %s (.ci/run does)", name, pkg))
	return ""
}

// missing skips the test for want of a component, or fails it in CI.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so this is a failure", why)
	}
	t.Skip(why)
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

// freeAddr returns a free 127.0.0.1 port as host:port.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
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

// process is a server the test started. Its output goes to a log file,
// whose end is shown when the test fails.
type process struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// startProcess starts bin with args, logging to a file in dir, and stops
// it when the test ends.
func startProcess(t *testing.T, name, dir, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, name: name, cmd: exec.Command(bin, args...), log: logPath, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s log (end):\n%s", name, p.tail(4000))
		}
	})
	return p
}

// stop ends the process with SIGTERM, or SIGKILL after 10s.
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail returns the last n bytes of the process's log.
func (p *process) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// waitReady polls url until it answers 200, failing the test if the
// process exits first or timeout passes.
func (p *process) waitReady(url string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case <-p.exited:
			p.t.Fatalf("%s exited before it was ready:\n%s", p.name, p.tail(4000))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not ready at %s after %s: %v", p.name, url, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// slogate is a running `slogate serve`.
type slogate struct {
	*process
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
	p := startProcess(t, "slogate", dir, bin, "serve", "--config", config, "--log-format", "json")
	s := &slogate{process: p, config: config}
	// slogate listens on 127.0.0.1:0 and logs the address it got.
	waitFor(t, 30*time.Second, "slogate's listen address in its log", func() bool {
		select {
		case <-p.exited:
			t.Fatalf("slogate exited:\n%s", p.tail(4000))
		default:
		}
		s.base = listenAddr(p.log, offset)
		return s.base != ""
	})
	p.waitReady(s.base+"/readyz", 30*time.Second)
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
	s.stop()
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

// startPrometheus runs Prometheus with config (prometheus.yml's text) on
// data dir data until the test ends, and returns its address.
func startPrometheus(t *testing.T, dir, data, config string) string {
	t.Helper()
	bin := binary(t, "prometheus", "prometheus")
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFiles(t, dir, map[string]string{"prometheus.yml": config})
	p := startProcess(t, "prometheus", dir, bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=30d",
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	p.waitReady("http://"+addr+"/-/ready", 30*time.Second)
	return addr
}

// startVictoriaMetrics runs single-node VictoriaMetrics scraping as
// scrapeConfig (Prometheus scrape_configs text) says, until the test
// ends, and returns its address.
func startVictoriaMetrics(t *testing.T, bin, dir, scrapeConfig string) string {
	t.Helper()
	addr := freeAddr(t)
	writeFiles(t, dir, map[string]string{"scrape.yml": scrapeConfig})
	p := startProcess(t, "victoria-metrics", dir, bin,
		"-httpListenAddr="+addr,
		"-storageDataPath="+filepath.Join(dir, "vmdata"),
		"-promscrape.config="+filepath.Join(dir, "scrape.yml"),
		"-retentionPeriod=1",
		"-loggerLevel=WARN",
	)
	p.waitReady("http://"+addr+"/health", 30*time.Second)
	return addr
}

// startAlertmanager runs Alertmanager with a receiver that drops
// everything until the test ends, and returns its base URL.
func startAlertmanager(t *testing.T, dir string) string {
	t.Helper()
	bin := binary(t, "prometheus-alertmanager", "prometheus-alertmanager")
	addr := freeAddr(t)
	writeFiles(t, dir, map[string]string{"alertmanager.yml": "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"})
	p := startProcess(t, "alertmanager", dir, bin,
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "amdata"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
		"--log.level=warn",
	)
	base := "http://" + addr
	p.waitReady(base+"/-/ready", 30*time.Second)
	return base
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
