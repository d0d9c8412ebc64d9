package deploy

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// metric is one metric name slogate's /metrics can expose.
type metric struct {
	// labels are the metric's own labels; job and instance come from the
	// scrape.
	labels []string
	// from is where the code emits it.
	from string
	// lazy metrics appear only after their first event (a counter created
	// on first increment); the others appear once the server runs with
	// the source, receiver or SLO they describe.
	lazy bool
}

var sloLabels = []string{"service", "slo", "team"}

// slogateMetrics lists every metric the deploy files may use: the ones
// slogate emits (TestMetricsOfARealServer checks the list against a real
// server's /metrics, both ways) and Prometheus's own up.
var slogateMetrics = map[string]metric{
	// budget/monitor/metrics.go: every SLO's latest evaluation.
	"slogate_slo_objective_ratio":              {labels: sloLabels, from: "budget/monitor/metrics.go"},
	"slogate_slo_sli_ratio":                    {labels: with(sloLabels, "window"), from: "budget/monitor/metrics.go"},
	"slogate_slo_error_budget_remaining_ratio": {labels: sloLabels, from: "budget/monitor/metrics.go"},
	"slogate_slo_burn_rate":                    {labels: with(sloLabels, "window"), from: "budget/monitor/metrics.go"},
	"slogate_slo_events":                       {labels: with(sloLabels, "kind"), from: "budget/monitor/metrics.go"},
	"slogate_slo_data_age_seconds":             {labels: sloLabels, from: "budget/monitor/metrics.go"},
	"slogate_slo_schedule_active":              {labels: sloLabels, from: "budget/monitor/metrics.go"},
	// cmd/slogate/reload.go: the outcome of the last config (re)load.
	"slogate_config_last_reload_successful":                {from: "cmd/slogate/reload.go"},
	"slogate_config_last_reload_success_timestamp_seconds": {from: "cmd/slogate/reload.go"},
	// gate/api/handlers.go: the gate's current answer per service.
	"slogate_gate_decision": {labels: []string{"service", "team", "decision"}, from: "gate/api/handlers.go"},
	"slogate_gate_allowed":  {labels: []string{"service", "team"}, from: "gate/api/handlers.go"},
	// alerting/dispatch/dispatch.go: open alerts per service and severity.
	"slogate_alerts_firing": {labels: []string{"service", "team", "severity"}, from: "alerting/dispatch/dispatch.go"},
	// alerting/outbox/outbox.go: only when a receiver is configured.
	"slogate_notifications_pending":      {from: "alerting/outbox/outbox.go"},
	"slogate_notifications_sent_total":   {labels: []string{"receiver"}, from: "alerting/outbox/outbox.go", lazy: true},
	"slogate_notifications_failed_total": {labels: []string{"receiver"}, from: "alerting/outbox/outbox.go", lazy: true},
	// cmd/slogate/http.go: every request by route. The histogram is
	// VictoriaMetrics': its buckets are vmrange, not le, so PromQL's
	// histogram_quantile cannot read them.
	"slogate_http_requests_total":                  {labels: []string{"handler", "method", "code"}, from: "cmd/slogate/http.go"},
	"slogate_http_request_duration_seconds_bucket": {labels: []string{"handler", "vmrange"}, from: "cmd/slogate/http.go"},
	"slogate_http_request_duration_seconds_sum":    {labels: []string{"handler"}, from: "cmd/slogate/http.go"},
	"slogate_http_request_duration_seconds_count":  {labels: []string{"handler"}, from: "cmd/slogate/http.go"},
	// slo/source/scrape.go: the built-in scraper, per target.
	"slogate_scrape_up":               {labels: []string{"target"}, from: "slo/source/scrape.go"},
	"slogate_scrape_duration_seconds": {labels: []string{"target"}, from: "slo/source/scrape.go"},
	"slogate_scrape_samples":          {labels: []string{"target"}, from: "slo/source/scrape.go"},
	"slogate_scrape_series":           {labels: []string{"target"}, from: "slo/source/scrape.go"},
	// slo/source/prom.go: PromQL sources.
	"slogate_prom_queries_total":      {labels: []string{"source"}, from: "slo/source/prom.go"},
	"slogate_prom_query_errors_total": {labels: []string{"source"}, from: "slo/source/prom.go"},
	// metrics.WriteProcessMetrics in cmd/slogate/http.go: the process.
	"process_resident_memory_bytes": {from: "metrics.WriteProcessMetrics (cmd/slogate/http.go)"},
	"process_cpu_seconds_total":     {from: "metrics.WriteProcessMetrics (cmd/slogate/http.go)"},
	"go_memstats_heap_inuse_bytes":  {from: "metrics.WriteProcessMetrics (cmd/slogate/http.go)"},
	// Prometheus's own, per scrape target.
	"up": {from: "Prometheus"},
}

func with(base []string, more ...string) []string { return append(slices.Clone(base), more...) }

// checkPromQL parses expr and reports what is wrong with it for slogate's
// metrics: a parse error, a metric slogate does not emit, a matcher on a
// label the metric does not have (it would match nothing), or
// histogram_quantile over slogate's vmrange histograms.
func checkPromQL(expr string) []string {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return []string{fmt.Sprintf("cannot parse %q: %v", expr, err)}
	}
	var problems []string
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			name := n.Name
			for _, m := range n.LabelMatchers {
				if m.Name == "__name__" && name == "" {
					name = m.Value
				}
			}
			m, ok := slogateMetrics[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: slogate does not emit metric %q", expr, name))
				return nil
			}
			for _, lm := range n.LabelMatchers {
				if lm.Name != "__name__" && lm.Name != "job" && lm.Name != "instance" && !slices.Contains(m.labels, lm.Name) {
					problems = append(problems, fmt.Sprintf("%s: %s has no label %q (it has %v, job and instance)", expr, name, lm.Name, m.labels))
				}
			}
		case *parser.Call:
			if n.Func.Name == "histogram_quantile" && strings.Contains(n.String(), "slogate_") {
				problems = append(problems, fmt.Sprintf("%s: histogram_quantile cannot read slogate's vmrange histograms", expr))
			}
		}
		return nil
	})
	return problems
}

// optionalTool returns the path of a tool that adds a check when present
// and is skipped without it, in CI too.
func optionalTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found on PATH; this check is optional", name)
	}
	return p
}

// run runs a command in dir and returns its combined output, failing the
// test with that output when it exits non-zero.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runStdout is run returning standard output only; standard error is
// shown when the command fails.
func runStdout(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// readYAML decodes one YAML file into v, not strictly: the files are for
// other programs, which have fields these tests do not look at.
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
}

// copyInto copies the file or directory src to dst, creating parents.
func copyInto(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

// writeConfigMapVolume lays out files as the kubelet mounts a ConfigMap
// volume: the data in a timestamped directory, ..data pointing at it, and
// each key a symlink through ..data.
func writeConfigMapVolume(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	ts := filepath.Join(dir, "..2026_01_01_00_00_00.000000001")
	if err := os.MkdirAll(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(ts, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// under reports whether path is dir or inside it.
func under(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// listFiles returns the regular files under dir, relative to it, sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// imageRE splits an image reference into name, tag and digest.
var imageRE = regexp.MustCompile(`^([^:@]+(?::\d+/[^:@]+)?)(?::([\w][\w.-]*))?(?:@(sha256:[0-9a-f]{64}))?$`)

// pinned reports why an image reference is not pinned to a tag or a
// digest, or "" when it is.
func pinned(ref string) string {
	m := imageRE.FindStringSubmatch(ref)
	switch {
	case m == nil:
		return fmt.Sprintf("cannot parse image reference %q", ref)
	case m[2] == "" && m[3] == "":
		return fmt.Sprintf("image %q has no tag or digest", ref)
	case m[2] == "latest" && m[3] == "":
		return fmt.Sprintf("image %q is pinned to latest, which moves", ref)
	}
	return ""
}

func TestPinned(t *testing.T) {
	for ref, ok := range map[string]bool{
		"prom/prometheus:v3.5.0":                    true,
		"gcr.io/distroless/base-debian12:nonroot":   true,
		"localhost:5000/slogate:1.2":                true,
		"slogate@sha256:" + strings.Repeat("a", 64): true,
		"prom/prometheus":                           false,
		"prom/prometheus:latest":                    false,
		"localhost:5000/slogate":                    false,
	} {
		if got := pinned(ref) == ""; got != ok {
			t.Errorf("pinned(%q) = %q, want ok=%v", ref, pinned(ref), ok)
		}
	}
}

func TestCheckPromQLFindsMistakes(t *testing.T) {
	for _, tc := range []struct {
		name, expr, want string
	}{
		{"a valid expression passes", `sum by (service) (rate(slogate_http_requests_total{job="slogate",code=~"5.."}[5m]))`, ""},
		{"a parse error is reported", `sum(rate(slogate_http_requests_total[5m])`, "cannot parse"},
		{"an unknown metric is reported", `slogate_budget_remaining`, "does not emit"},
		{"a label the metric lacks is reported", `slogate_alerts_firing{slo="x"}`, `no label "slo"`},
		{"histogram_quantile over vmrange buckets is reported", `histogram_quantile(0.9, rate(slogate_http_request_duration_seconds_bucket[5m]))`, "vmrange"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(checkPromQL(tc.expr), "\n")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("checkPromQL(%q) = %q, want it to say %q", tc.expr, got, tc.want)
			}
		})
	}
}
