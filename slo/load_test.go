package slo

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/invalid")

// TestInvalidSpecsMatchGoldenFiles loads every broken example under
// testdata/invalid and compares the problems with the .golden file next to
// it: a *.yaml file is loaded as a service spec, a directory as a config
// (its slogate.yaml) with its specs. An example that loads must have
// warnings, and the golden file holds those.
func TestInvalidSpecsMatchGoldenFiles(t *testing.T) {
	t.Chdir("..") // so problems name files as a user at the repo root sees them
	entries, err := os.ReadDir("testdata/invalid")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		var load func() (Problems, error)
		switch {
		case e.IsDir():
			load = func() (Problems, error) {
				cat, err := Load(filepath.Join("testdata/invalid", name, "slogate.yaml"))
				if err != nil {
					return nil, err
				}
				return cat.Warnings, nil
			}
		case strings.HasSuffix(name, ".yaml"):
			load = func() (Problems, error) {
				_, warnings, err := LoadServicesWarnings([]string{filepath.Join("testdata/invalid", name)})
				return warnings, err
			}
		default:
			continue
		}
		base := strings.TrimSuffix(name, ".yaml")
		t.Run(base+" is reported with the golden problems", func(t *testing.T) {
			warnings, err := load()
			var ps Problems
			switch {
			case err != nil && !errors.As(err, &ps):
				t.Fatalf("got error %v (%T), want Problems", err, err)
			case err == nil && len(warnings) == 0:
				t.Fatal("loaded without problems or warnings; an example here must have some")
			case err == nil:
				ps = warnings
			}
			got := ps.Error() + "\n"
			golden := filepath.Join("testdata/invalid", base+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./slo/ -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestLoadExampleConfig(t *testing.T) {
	cat, err := Load("../testdata/slogate.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	cfg := cat.Config
	t.Run("relative paths resolve against the config's directory", func(t *testing.T) {
		if want := filepath.Join("..", ".run", "slogate.db"); cfg.Storage != want {
			t.Errorf("Storage = %q, want %q", cfg.Storage, want)
		}
		if want := []string{filepath.Join("..", "testdata", "specs")}; !slices.Equal(cfg.Specs, want) {
			t.Errorf("Specs = %q, want %q", cfg.Specs, want)
		}
		if cfg.File != "../testdata/slogate.yaml" {
			t.Errorf("File = %q", cfg.File)
		}
	})
	t.Run("scrape timeouts default to at most the interval", func(t *testing.T) {
		for _, st := range cfg.Sources.Scrape {
			if st.Interval != model.Duration(5*time.Second) || st.Timeout != model.Duration(5*time.Second) {
				t.Errorf("%s: interval %s timeout %s, want 5s and 5s", st.Name, st.Interval, st.Timeout)
			}
			if st.BodyLimit != 64<<20 || st.SeriesLimit != 200000 || !st.HTTP.FollowRedirects || !st.HTTP.EnableHTTP2 {
				t.Errorf("%s: defaults not filled: %+v", st.Name, st)
			}
		}
	})
	t.Run("every example service loads in file name order", func(t *testing.T) {
		var names []string
		for _, s := range cat.Services {
			names = append(names, s.Name)
		}
		want := []string{"billing-portal", "checkout", "nightly-export", "search", "slogate"}
		if !slices.Equal(names, want) {
			t.Errorf("services = %v, want %v", names, want)
		}
	})
	t.Run("schedules include the built-in always-on one", func(t *testing.T) {
		for _, name := range []string{AlwaysName, "berlin-business-hours", "ny-business-hours"} {
			if cat.Schedules[name] == nil {
				t.Errorf("schedule %q missing", name)
			}
		}
		billing := serviceByName(t, cat.Services, "billing-portal")
		if s := cat.Schedule(billing.SLOs[0]); s.Name != "berlin-business-hours" || s.Location.String() != "Europe/Berlin" {
			t.Errorf("Schedule(billing-portal/availability) = %s in %s", s.Name, s.Location)
		}
		checkout := serviceByName(t, cat.Services, "checkout")
		if s := cat.Schedule(checkout.SLOs[0]); !s.IsAlways() {
			t.Errorf("Schedule(checkout/availability) = %s, want always", s.Name)
		}
	})
}

func serviceByName(t *testing.T, services []*Service, name string) *Service {
	t.Helper()
	for _, s := range services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %q", name)
	return nil
}

func TestLoadServicesFillsParsedFields(t *testing.T) {
	services, err := LoadServices([]string{"../testdata/specs"})
	if err != nil {
		t.Fatal(err)
	}
	checkout := serviceByName(t, services, "checkout")
	billing := serviceByName(t, services, "billing-portal")
	export := serviceByName(t, services, "nightly-export")
	str := func(ms []*labels.Matcher) string {
		parts := make([]string, len(ms))
		for i, m := range ms {
			parts[i] = m.String()
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"the file path is kept as given", checkout.File, filepath.Join("..", "testdata", "specs", "checkout.yaml")},
		{"a 28d window parses to 28 days", checkout.SLOs[0].Win, Window{Rolling: 28 * 24 * time.Hour}},
		{"budgeting defaults to occurrences", checkout.SLOs[0].Budgeting, Occurrences},
		{"good matchers include the metric name", str(checkout.SLOs[0].SLI.Ratio.GoodMatchers),
			`{__name__="http_requests_total",job="demo",handler="/checkout",code!~"5.."}`},
		{"total matchers are parsed", str(checkout.SLOs[0].SLI.Ratio.TotalMatchers),
			`{__name__="http_requests_total",job="demo",handler="/checkout"}`},
		{"latency bucket matchers pick the threshold's bucket", str(checkout.SLOs[1].SLI.Latency.BucketMatchers),
			`{__name__="http_request_duration_seconds_bucket",job="demo",handler="/checkout",le="0.3"}`},
		{"latency count matchers select _count", str(checkout.SLOs[1].SLI.Latency.CountMatchers),
			`{__name__="http_request_duration_seconds_count",job="demo",handler="/checkout"}`},
		{"a month window is a calendar window", billing.SLOs[0].Win, Window{Period: Month}},
		{"bad matchers are parsed", str(billing.SLOs[0].SLI.Ratio.BadMatchers),
			`{__name__="http_requests_total",job="demo",handler="/invoices",code=~"5.."}`},
		{"timeslices keep their threshold", billing.SLOs[1].TimesliceThreshold, 95.0},
		{"a push SLI is set", export.SLOs[0].SLI.Push != nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const minimalSpec = `name: %s
owner: {team: platform}
slos:
  - name: availability
    objective: 99
    window: 7d
    sli:
      %s
runbook: https://runbooks.example.com/service
`

func spec(name, sli string) string {
	return strings.Replace(strings.Replace(minimalSpec, "%s", name, 1), "%s", sli, 1)
}

func TestLoadServicesCases(t *testing.T) {
	ratio := `ratio: {good: 'a_total{code="200"}', total: a_total}`
	tests := []struct {
		name  string
		files map[string]string
		paths []string // relative to the temp dir; default "."
		want  string   // problems with the temp dir replaced by DIR; "" for success
	}{
		{
			name:  "a bare push key declares a push SLI",
			files: map[string]string{"a.yaml": spec("a", "push:")},
		},
		{
			name:  "yml files load too and other files are ignored",
			files: map[string]string{"a.yml": spec("a", ratio), "README.md": "# specs", "sub/b.yaml": "not: loaded"},
		},
		{
			name:  "a directory without specs is an error",
			files: map[string]string{"README.md": "# specs"},
			want:  "DIR: no spec files (*.yaml or *.yml) in directory",
		},
		{
			name:  "duplicate service names across files name both files",
			files: map[string]string{"a.yaml": spec("shop", ratio), "b.yaml": spec("shop", ratio)},
			want:  `DIR/b.yaml:1: name: service "shop" is already defined in DIR/a.yaml:1`,
		},
		{
			name:  "a file listed twice loads once",
			files: map[string]string{"a.yaml": spec("a", ratio)},
			paths: []string{".", "a.yaml"},
		},
		{
			name:  "a missing path is an error",
			files: map[string]string{},
			paths: []string{"nope.yaml"},
			want:  "DIR/nope.yaml: cannot read specs: no such file or directory",
		},
		{
			name:  "a second YAML document is an error",
			files: map[string]string{"a.yaml": spec("a", ratio) + "---\nname: b\n"},
			want:  "DIR/a.yaml:11: found a second YAML document; put one per file",
		},
		{
			name:  "a latency threshold of a whole number matches both spellings of le",
			files: map[string]string{"a.yaml": spec("a", "latency: {metric: rpc_seconds, threshold: 1}")},
		},
		{
			name: "YAML anchors and merge keys work",
			files: map[string]string{"a.yaml": `name: a
owner: {team: platform}
slos:
  - &base
    name: availability
    objective: 99
    window: 7d
    sli: {ratio: {good: 'a_total{code="200"}', total: a_total}}
  - <<: *base
    name: availability-month
    window: month
`},
		},
		{
			name: "a selector naming a different metric than the latency metric is an error",
			files: map[string]string{"a.yaml": spec("a",
				`latency: {metric: rpc_seconds, selector: 'http_seconds{job="x"}', threshold: 0.5}`)},
			want: `DIR/a.yaml:8: slos[0].sli.latency.selector: must not name a metric other than metric "rpc_seconds"; write only the labels, e.g. {job="checkout"}`,
		},
		{
			name:  "a SLI with nothing in it is an error",
			files: map[string]string{"a.yaml": spec("a", "source: ''")},
			want:  `DIR/a.yaml:7: slos[0].sli: one of ratio, latency or push is required`,
		},
		{
			name:  "an alias that contains itself is an error, not a hang",
			files: map[string]string{"a.yaml": "name: a\nowner: {team: x}\nlabels: &l {a: *l}\nslos: []\n"},
			want:  `DIR/a.yaml:3: labels.a: must be a single value, got a mapping`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			paths := tt.paths
			if paths == nil {
				paths = []string{"."}
			}
			var full []string
			for _, p := range paths {
				full = append(full, filepath.Join(dir, p))
			}
			services, err := LoadServices(full)
			got := ""
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "DIR")
			}
			if got != tt.want {
				t.Errorf("got problems\n%s\nwant\n%s", got, tt.want)
			}
			if tt.want == "" && len(services) == 0 {
				t.Error("got no services")
			}
		})
	}
}

func TestLeMatcherMatchesEverySpellingOfTheBound(t *testing.T) {
	tests := []struct {
		threshold float64
		matches   []string
		rejects   []string
	}{
		{0.3, []string{"0.3"}, []string{"0.30", "0.35", "3"}},
		{1, []string{"1", "1.0"}, []string{"10", "1.5", "0.1"}},
		{0.00001, []string{"1e-05", "0.00001"}, []string{"1e-5x"}},
		{2.5, []string{"2.5"}, []string{"2.50", "25"}},
	}
	for _, tt := range tests {
		t.Run("threshold "+formatFloat(tt.threshold)+" matches its bucket only", func(t *testing.T) {
			m, err := leMatcher(tt.threshold)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.matches {
				if !m.Matches(v) {
					t.Errorf("%s does not match le=%q", m, v)
				}
			}
			for _, v := range tt.rejects {
				if m.Matches(v) {
					t.Errorf("%s matches le=%q", m, v)
				}
			}
		})
	}
}

func TestLoadConfigCases(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		check func(t *testing.T, cfg *Config, dir string)
		want  string
	}{
		{
			name:  "a config with only specs gets every default",
			files: map[string]string{"c.yaml": "specs: [specs]\nsources:\n  scrape: [{name: a, url: 'http://a/metrics'}]\n  prometheus: [{name: p, url: 'http://p:9090'}]\n"},
			check: func(t *testing.T, cfg *Config, dir string) {
				st, ps := cfg.Sources.Scrape[0], cfg.Sources.Prometheus[0]
				got := []any{cfg.Listen, cfg.Storage, cfg.EvaluationInterval, cfg.RetentionMargin, cfg.RecordRetention,
					st.Interval, st.Timeout, st.BodyLimit, st.SeriesLimit, ps.Interval, ps.Timeout, ps.BackfillChunk, ps.HTTP.FollowRedirects}
				want := []any{"127.0.0.1:8080", filepath.Join(dir, "slogate.db"), model.Duration(15 * time.Second), model.Duration(24 * time.Hour),
					model.Duration(90 * 24 * time.Hour),
					model.Duration(15 * time.Second), model.Duration(10 * time.Second), int64(64 << 20), 200000,
					model.Duration(time.Minute), model.Duration(30 * time.Second), model.Duration(6 * time.Hour), true}
				if !slices.Equal(got, want) {
					t.Errorf("got %v\nwant %v", got, want)
				}
			},
		},
		{
			name: "HTTP client configs decode basic auth and TLS, with files relative to the config",
			files: map[string]string{"c.yaml": `specs: [/abs/specs]
storage: /var/lib/slogate.db
sources:
  scrape:
    - name: a
      url: https://a.example.com/metrics
      http:
        basic_auth: {username: slogate, password_file: secrets/pw}
        tls_config: {ca_file: ca.pem, server_name: a.internal}
`},
			check: func(t *testing.T, cfg *Config, dir string) {
				h := cfg.Sources.Scrape[0].HTTP
				if h.BasicAuth == nil || h.BasicAuth.Username != "slogate" || h.BasicAuth.PasswordFile != filepath.Join(dir, "secrets/pw") {
					t.Errorf("basic_auth = %+v", h.BasicAuth)
				}
				if h.TLSConfig.CAFile != filepath.Join(dir, "ca.pem") || h.TLSConfig.ServerName != "a.internal" {
					t.Errorf("tls_config = %+v", h.TLSConfig)
				}
				if !h.FollowRedirects || !h.EnableHTTP2 {
					t.Errorf("HTTP defaults lost: %+v", h)
				}
				if cfg.Specs[0] != "/abs/specs" || cfg.Storage != "/var/lib/slogate.db" {
					t.Errorf("absolute paths changed: %q %q", cfg.Specs, cfg.Storage)
				}
			},
		},
		{
			name:  "a record retention in days is kept as written",
			files: map[string]string{"c.yaml": "specs: [s]\nrecordRetention: 30d\n"},
			check: func(t *testing.T, cfg *Config, dir string) {
				if got, want := cfg.RecordRetention, model.Duration(30*24*time.Hour); got != want {
					t.Errorf("RecordRetention = %s, want %s", got, want)
				}
			},
		},
		{
			name:  "a record retention of 0 is an error that says how to keep records longer",
			files: map[string]string{"c.yaml": "specs: [s]\nrecordRetention: 0s\n"},
			want: "DIR/c.yaml:2: recordRetention: must be a positive duration, got 0s: 0 does not keep records forever; " +
				"set a long duration, such as 3650d, to keep records longer",
		},
		{
			name:  "an empty record retention is an error rather than the default",
			files: map[string]string{"c.yaml": "specs: [s]\nevaluationInterval: 15s\nrecordRetention:\n"},
			want: "DIR/c.yaml:3: recordRetention: must be a positive duration, got 0s: 0 does not keep records forever; " +
				"set a long duration, such as 3650d, to keep records longer",
		},
		{
			name:  "an empty config is an error",
			files: map[string]string{"c.yaml": "\n"},
			want:  "DIR/c.yaml: file is empty; want a slogate config with listen, storage, specs, sources and schedules",
		},
		{
			name:  "a config that is a list is an error",
			files: map[string]string{"c.yaml": "- specs\n"},
			want:  "DIR/c.yaml:1: must be a mapping (key: value lines), got a list",
		},
		{
			name:  "a missing config is an error",
			files: map[string]string{},
			want:  "DIR/c.yaml: cannot read config: no such file or directory",
		},
		{
			name:  "a timeout longer than the default interval is an error",
			files: map[string]string{"c.yaml": "specs: [s]\nsources:\n  scrape: [{name: a, url: 'http://a/metrics', timeout: 20s}]\n"},
			want:  "DIR/c.yaml:3: sources.scrape[0].timeout: must be at most interval (15s), got 20s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			cfg, err := LoadConfig(filepath.Join(dir, "c.yaml"))
			got := ""
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir, "DIR")
			}
			if got != tt.want {
				t.Fatalf("got problems\n%s\nwant\n%s", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, cfg, dir)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"a full problem reads FILE:LINE: FIELD: MESSAGE",
			Problem{File: "checkout.yaml", Line: 14, Field: "slos[1].objective", Message: "must be between 0 and 100, got 999"},
			"checkout.yaml:14: slos[1].objective: must be between 0 and 100, got 999"},
		{"a problem without line leaves it out", Problem{File: "a.yaml", Message: "file is empty"}, "a.yaml: file is empty"},
		{"a problem without file starts at the field", Problem{Field: "weekly[0].days", Message: "required"}, "weekly[0].days: required"},
		{"a warning says so before its message",
			Problem{File: "checkout.yaml", Line: 1, Field: "runbook", Message: "missing", Warning: true},
			"checkout.yaml:1: runbook: warning: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLineOfFindsFieldsAndFallsBackToParents(t *testing.T) {
	src := "name: a\nlabels:\n  \"a.b\": x\nslos:\n  - name: x\n    sli:\n      ratio: {}\n"
	var p Problems
	_, p = decodeStrict("f", []byte(src), &Service{}, wantService)
	if len(p) != 0 {
		t.Fatal(p)
	}
	root, _ := decodeStrict("f", []byte(src), &Service{}, wantService)
	tests := []struct {
		path string
		want int
	}{
		{"name", 1},
		{`labels["a.b"]`, 3},
		{"slos[0]", 5},
		{"slos[0].sli.ratio", 7},
		{"slos[0].sli.ratio.total", 7},
		{"slos[3].name", 4},
		{"owner.team", 1},
	}
	for _, tt := range tests {
		t.Run(tt.path+" is on line "+strconv.Itoa(tt.want), func(t *testing.T) {
			if got := lineOf(root, tt.path); got != tt.want {
				t.Errorf("lineOf(%s) = %d, want %d", tt.path, got, tt.want)
			}
		})
	}
}
