// Package realtest starts the real servers tests run against — Prometheus,
// Alertmanager, VictoriaMetrics — and finds their binaries, skipping a test
// locally when one is missing and failing it in CI (CI=true), where a
// missing component is a failure.
//
// It is for tests only; every function takes the test it serves and stops
// what it started when that test ends.
package realtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds the wait for a started server to answer ready;
// generous because CI runs many of them at once.
const readyTimeout = 30 * time.Second

// stopTimeout is how long a server has to exit after SIGTERM before it is
// killed; Prometheus needs a clean stop to reopen its storage.
const stopTimeout = 15 * time.Second

// debianPackages names the package that has each binary, for the message
// when one is missing; .ci/run installs them.
var debianPackages = map[string]string{
	"prometheus":              "prometheus",
	"promtool":                "prometheus",
	"prometheus-alertmanager": "prometheus-alertmanager",
	"amtool":                  "prometheus-alertmanager",
	"victoria-metrics":        "victoria-metrics",
	"chromium":                "chromium",
	"chromium-browser":        "chromium",
}

// Binary returns the path of the first of names found on PATH or in
// /usr/bin. Without any, it skips the test, or fails it when CI=true.
func Binary(t testing.TB, names ...string) string {
	t.Helper()
	p, ok := LookBinary(t, names...)
	if !ok {
		t.Skip(missing(names))
	}
	return p
}

// LookBinary is Binary for a component the test can do without: it
// reports false instead of skipping. When CI=true a missing binary still
// fails the test.
func LookBinary(t testing.TB, names ...string) (string, bool) {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
		if p := filepath.Join("/usr/bin", name); isFile(p) {
			return p, true
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so this is a failure", missing(names))
	}
	return "", false
}

// missing says which binaries were not found and where to get them.
func missing(names []string) string {
	why := fmt.Sprintf("%s not found on PATH or in /usr/bin", strings.Join(names, ", "))
	for _, name := range names {
		if pkg, ok := debianPackages[name]; ok {
			return fmt.Sprintf("%s: install the Debian package %s (.ci/run does)", why, pkg)
		}
	}
	return why
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// FreeAddr returns a 127.0.0.1 host:port that nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Process is a program a test started. Its output goes to a log file,
// whose end is shown when the test fails.
type Process struct {
	// Log is the path of the file that stdout and stderr are appended to.
	Log string

	t      testing.TB
	name   string
	cmd    *exec.Cmd
	offset int64 // where this run's output starts in Log
	exited chan struct{}
}

// StartProcess starts bin with args in dir, appending its output to
// dir/name.log, and stops it when the test ends.
func StartProcess(t testing.TB, dir, name, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{Log: filepath.Join(dir, name+".log"), t: t, name: name, exited: make(chan struct{})}
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := f.Stat(); err == nil {
		p.offset = fi.Size()
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.exited) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s log (end):\n%s", name, p.Tail(4000))
		}
	})
	return p
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop ends the process with SIGTERM, or SIGKILL if it has not exited
// after 15s. Stopping an exited process does nothing.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Tail returns the last n bytes this process wrote to its log.
func (p *Process) Tail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if int64(len(b)) >= p.offset {
		b = b[p.offset:]
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// WaitReady polls url until it answers 200, failing the test if the
// process exits first or timeout passes.
func (p *Process) WaitReady(url string, timeout time.Duration) {
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
			p.t.Fatalf("%s exited before it was ready:\n%s", p.name, p.Tail(4000))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not ready at %s after %s: %v", p.name, url, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Server is a real Prometheus, Alertmanager or VictoriaMetrics on
// 127.0.0.1, ready when its Start function returns.
type Server struct {
	*Process // the running process, replaced by Start

	// URL is the server's base URL, http://127.0.0.1:port.
	URL string

	t          testing.TB
	name, dir  string
	bin, ready string
	args       []string
}

// startServer starts bin and waits until path answers 200.
func startServer(t testing.TB, name, dir, bin, addr, ready string, args ...string) *Server {
	t.Helper()
	s := &Server{URL: "http://" + addr, t: t, name: name, dir: dir, bin: bin, ready: ready, args: args}
	s.Start()
	return s
}

// Start starts a stopped server again, on the same address and storage,
// and waits until it is ready.
func (s *Server) Start() {
	s.t.Helper()
	s.Process = StartProcess(s.t, s.dir, s.name, s.bin, s.args...)
	s.WaitReady(s.URL+s.ready, readyTimeout)
}

// PrometheusOptions configures StartPrometheus.
type PrometheusOptions struct {
	// Config is prometheus.yml's text. Relative paths in it, such as
	// rule_files, are relative to Dir.
	Config string
	// Dir holds prometheus.yml, the log and the storage, Dir/data, which
	// a test may fill beforehand (promtool tsdb create-blocks-from). A
	// new t.TempDir() when empty.
	Dir string
	// Args are more flags, such as --storage.tsdb.retention.time=30d.
	Args []string
}

// StartPrometheus runs the prometheus binary as opts say on a free port,
// logging warnings only, until the test ends, and returns once it is ready.
func StartPrometheus(t testing.TB, opts PrometheusOptions) *Server {
	t.Helper()
	bin := Binary(t, "prometheus")
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "prometheus.yml"), opts.Config)
	addr := FreeAddr(t)
	args := append([]string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, opts.Args...)
	return startServer(t, "prometheus", dir, bin, addr, "/-/ready", args...)
}

// StartAlertmanager runs the prometheus-alertmanager binary on a free port,
// with one receiver that drops everything and no cluster, until the test
// ends, and returns once it is ready.
func StartAlertmanager(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t, "prometheus-alertmanager")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
	addr := FreeAddr(t)
	return startServer(t, "alertmanager", dir, bin, addr, "/-/ready",
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
		"--log.level=warn",
	)
}

// StartVictoriaMetrics runs single-node VictoriaMetrics on a free port,
// scraping as scrapeConfig (Prometheus scrape_configs text) says, until
// the test ends, and returns once it is ready.
func StartVictoriaMetrics(t testing.TB, scrapeConfig string) *Server {
	t.Helper()
	bin := Binary(t, "victoria-metrics")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "scrape.yml"), scrapeConfig)
	addr := FreeAddr(t)
	return startServer(t, "victoria-metrics", dir, bin, addr, "/health",
		"-httpListenAddr="+addr,
		"-storageDataPath="+filepath.Join(dir, "data"),
		"-promscrape.config="+filepath.Join(dir, "scrape.yml"),
		"-retentionPeriod=1",
		"-loggerLevel=WARN",
	)
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
