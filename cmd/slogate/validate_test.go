package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slogate/slogate/slo"
)

func TestValidate(t *testing.T) {
	t.Chdir("../..") // the goldens name files relative to the repository root

	t.Run("every broken spec's problems are listed with file, line and field", func(t *testing.T) {
		paths, err := filepath.Glob("testdata/invalid/*")
		if err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if validate(&out, &errOut, "", paths) {
			t.Fatalf("validate passed testdata/invalid/*; output:\n%s", out.String())
		}
		goldens, _ := filepath.Glob("testdata/invalid/*.golden")
		if len(goldens) < 10 {
			t.Fatalf("got %d golden files, want at least 10", len(goldens))
		}
		for _, g := range goldens {
			want, err := os.ReadFile(g)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if !strings.Contains(out.String(), line+"\n") {
					t.Errorf("output lacks %q (from %s)", line, g)
				}
			}
		}
		if !strings.Contains(errOut.String(), "skipped testdata/invalid/bad-objective.golden") {
			t.Errorf("non-YAML files were not reported as skipped: %s", errOut.String())
		}
	})

	t.Run("a spec with only warnings is valid and its warnings are listed and counted", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if !validate(&out, &errOut, "", []string{"testdata/invalid/no-runbook.yaml"}) {
			t.Fatalf("validate failed a spec with only warnings:\n%s", out.String())
		}
		want, err := os.ReadFile("testdata/invalid/no-runbook.golden")
		if err != nil {
			t.Fatal(err)
		}
		if out.String() != string(want) {
			t.Errorf("got output\n%s\nwant\n%s", out.String(), want)
		}
		if got, want := errOut.String(), "ok: 1 service(s) valid, 1 warning(s)\n"; got != want {
			t.Errorf("got summary %q, want %q", got, want)
		}
	})

	t.Run("problems and warnings are counted apart", func(t *testing.T) {
		spec := filepath.Join(writeFiles(t, map[string]string{
			"shop.yaml": "name: shop\nowner: {team: platform}\nslos:\n  - {name: a, objective: 100, window: 7d, sli: {push: {}}}\n",
		}), "shop.yaml")
		var out, errOut bytes.Buffer
		if validate(&out, &errOut, "", []string{spec}) {
			t.Fatalf("validate passed a spec with a problem:\n%s", out.String())
		}
		if !strings.Contains(out.String(), spec+":1: runbook: warning: missing: ") {
			t.Errorf("output lacks the runbook warning:\n%s", out.String())
		}
		if got, want := errOut.String(), "1 problem(s), 1 warning(s)\n"; got != want {
			t.Errorf("got summary %q, want %q", got, want)
		}
	})

	t.Run("the example setup is valid", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if !validate(&out, &errOut, "testdata/slogate.yaml", nil) {
			t.Fatalf("testdata/slogate.yaml is invalid:\n%s", out.String())
		}
		if got, want := errOut.String(), "ok: 5 service(s) valid\n"; got != want {
			t.Fatalf("got %q, want %q: the example setup has no warnings either", got, want)
		}
	})

	t.Run("a directory of specs with a service named slogate is read as specs", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if !validate(&out, &errOut, "", []string{"testdata/specs"}) {
			t.Fatalf("testdata/specs is invalid:\n%s", out.String())
		}
	})

	t.Run("specs are checked against a config's schedules", func(t *testing.T) {
		var out, errOut bytes.Buffer
		ok := validate(&out, &errOut, "testdata/slogate.yaml", []string{"testdata/invalid/unknown-schedule/specs"})
		if ok || !strings.Contains(out.String(), `slos[0].schedule: unknown schedule "berlin-office-hours"`) {
			t.Fatalf("got ok=%v output:\n%s", ok, out.String())
		}
	})
}

// runValidateCmd runs slogate validate through the root command, as a
// user would, and returns what it printed (with the error main would
// print) and its exit code.
func runValidateCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"validate"}, args...))
	if err := cmd.Execute(); err != nil {
		if _, reported := err.(exitError); !reported {
			fmt.Fprintln(&errOut, "slogate:", err)
		}
		code = exitCode(err)
	}
	return out.String(), errOut.String(), code
}

func TestValidateCommand(t *testing.T) {
	t.Chdir("../..")
	t.Setenv("SLOGATE_URL", "")
	t.Setenv("SLOGATE_TOKEN", "")
	for _, tc := range []struct {
		name         string
		args         []string
		code         int
		stdout, last string
	}{
		{
			name:   "offline, --format github annotates each problem's line",
			args:   []string{"--format", "github", "testdata/invalid/bad-objective.yaml", "testdata/invalid/no-runbook.yaml"},
			code:   1,
			stdout: "::error file=testdata/invalid/bad-objective.yaml,line=14,title=slos[1].objective::must be between 0 and 100, got 999\n::warning file=testdata/invalid/no-runbook.yaml,line=3,title=runbook::missing: alerts for this service will carry no runbook link; set runbook to a URL that says what to do when its SLOs burn\n",
			last:   "1 problem(s), 1 warning(s)",
		},
		{
			name:   "offline, --format markdown says it did not ask a server",
			args:   []string{"--format", "markdown", "testdata/specs/checkout.yaml"},
			stdout: "### ✅ SLO specs: 1 service(s) valid\n\nChecked offline, without a slogate server: schedules, sources and other services were not checked.\n",
			last:   "ok: 1 service(s) valid",
		},
		{
			name:   "offline with --config, --format markdown names the config",
			args:   []string{"--format", "markdown", "--config", "testdata/slogate.yaml"},
			stdout: "### ✅ SLO specs: 5 service(s) valid\n\nChecked offline against the config `testdata/slogate.yaml`.\n",
			last:   "ok: 5 service(s) valid",
		},
		{
			name: "--config and --server together are refused",
			args: []string{"--config", "testdata/slogate.yaml", "--server", "http://localhost:8080", "testdata/specs"},
			code: 1,
			last: "slogate: --config and --server do not go together: --server checks the specs against the server's own config, --config offline against a local one",
		},
		{
			name: "an unknown format is refused",
			args: []string{"--format", "json", "testdata/specs"},
			code: 1,
			last: `slogate: --format must be text, github or markdown, got "json"`,
		},
		{
			name: "--token without --server is refused rather than ignored",
			args: []string{"--token", "secret", "testdata/specs"},
			code: 1,
			last: "slogate: --token and --timeout apply only with --server",
		},
		{
			name: "--server needs paths",
			args: []string{"--server", "http://localhost:8080"},
			code: 1,
			last: "slogate: nothing to validate: give the spec files or directories to check on --server",
		},
		{
			name: "--server must be a URL",
			args: []string{"--server", "localhost:8080", "testdata/specs"},
			code: 1,
			last: `slogate: --server must be an http(s) URL, got "localhost:8080"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runValidateCmd(t, tc.args...)
			if code != tc.code || stdout != tc.stdout || lastLine(stderr) != tc.last {
				t.Errorf("got exit %d, stdout\n%s\nlast line of stderr %q\nwant exit %d, stdout\n%s\nlast line of stderr %q",
					code, stdout, lastLine(stderr), tc.code, tc.stdout, tc.last)
			}
		})
	}
}

func TestGitHubCommandEscaping(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    finding
		want string
	}{
		{
			name: "a problem names file, line and field",
			f:    finding{Problem: slo.Problem{File: "slos/a.yaml", Line: 5, Field: "slos[0].objective", Message: "must be between 0 and 100, got 150"}},
			want: "::error file=slos/a.yaml,line=5,title=slos[0].objective::must be between 0 and 100, got 150",
		},
		{
			name: "a warning is a warning",
			f:    finding{Problem: slo.Problem{File: "slos/a.yaml", Line: 1, Field: "runbook", Message: "missing", Warning: true}},
			want: "::warning file=slos/a.yaml,line=1,title=runbook::missing",
		},
		{
			name: "a notice is a notice, without line or title when it has none",
			f:    finding{Problem: slo.Problem{File: "slos/a.yaml", Message: "availability: the SLI changed, so applying this starts a new history"}, Notice: true},
			want: "::notice file=slos/a.yaml::availability: the SLI changed, so applying this starts a new history",
		},
		{
			name: "a file not checked says so in its title",
			f:    finding{Problem: slo.Problem{File: "slos/a.yaml", Message: "cannot reach the server"}, Unchecked: true},
			want: "::error file=slos/a.yaml,title=not checked::cannot reach the server",
		},
		{
			name: "an error without a file has no properties",
			f:    finding{Problem: slo.Problem{Message: "validate: stat x: no such file or directory"}},
			want: "::error::validate: stat x: no such file or directory",
		},
		{
			name: "a newline in the message cannot start another command",
			f:    finding{Problem: slo.Problem{File: "a.yaml", Message: "one\n::error::two\r\nthree"}},
			want: "::error file=a.yaml::one%0A::error::two%0D%0Athree",
		},
		{
			name: "a percent sign is escaped first, so it is not read as an escape",
			f:    finding{Problem: slo.Problem{File: "a.yaml", Message: "99.9% of %0A"}},
			want: "::error file=a.yaml::99.9%25 of %250A",
		},
		{
			name: "commas and colons in properties are escaped, not in the message",
			f:    finding{Problem: slo.Problem{File: "c:,d/a.yaml", Line: 2, Field: `labels["a,b:c"]`, Message: "a, b: c"}},
			want: "::error file=c%3A%2Cd/a.yaml,line=2,title=labels[\"a%2Cb%3Ac\"]::a, b: c",
		},
		{
			name: "a path is cleaned, as GitHub matches it to the diff's",
			f:    finding{Problem: slo.Problem{File: "./slos//a.yaml", Line: 3, Message: "m"}},
			want: "::error file=slos/a.yaml,line=3::m",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.githubCommand(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestReportRendersEveryKindOfFinding(t *testing.T) {
	// The notices come from the server; this report is built by hand so
	// every kind is rendered, the awkward characters included.
	r := &report{how: "Checked on the slogate server.", services: 1, findings: []finding{
		{Problem: slo.Problem{File: "slos/a.yaml", Line: 1, Field: "runbook", Message: "missing", Warning: true}},
		{Problem: slo.Problem{File: "slos/a.yaml", Message: "availability: the SLI changed, so applying this starts a new history"}, Notice: true},
		{Problem: slo.Problem{File: "slos/b|c.yaml", Line: 4, Field: "slos[0].sli.ratio.good", Message: "cannot parse `a|b` <x> *y* _z_\nnext"}},
		{Problem: slo.Problem{File: "slos/d.yaml", Message: "cannot reach the server: connection refused"}, Unchecked: true},
	}}
	for _, tc := range []struct {
		format, want string
	}{
		{formatText, "slos/a.yaml:1: runbook: warning: missing\n" +
			"slos/a.yaml: notice: availability: the SLI changed, so applying this starts a new history\n" +
			"slos/b|c.yaml:4: slos[0].sli.ratio.good: cannot parse `a|b` <x> *y* _z_\nnext\n" +
			"slos/d.yaml: not checked: cannot reach the server: connection refused\n"},
		{formatGitHub, "::warning file=slos/a.yaml,line=1,title=runbook::missing\n" +
			"::notice file=slos/a.yaml::availability: the SLI changed, so applying this starts a new history\n" +
			"::error file=slos/b|c.yaml,line=4,title=slos[0].sli.ratio.good::cannot parse `a|b` <x> *y* _z_%0Anext\n" +
			"::error file=slos/d.yaml,title=not checked::cannot reach the server: connection refused\n"},
		{formatMarkdown, "### ❌ SLO specs: 1 problem(s), 1 warning(s), 1 notice(s), 1 file(s) not checked\n\n" +
			"Checked on the slogate server.\n\n" +
			"| | File | Field | Message |\n| --- | --- | --- | --- |\n" +
			"| ❌ error | `slos/b\\|c.yaml:4` | `slos[0].sli.ratio.good` | cannot parse \\`a\\|b\\` \\<x\\> \\*y\\* \\_z\\_<br>next |\n" +
			"| ❌ not checked | `slos/d.yaml` |  | cannot reach the server: connection refused |\n" +
			"| ⚠️ warning | `slos/a.yaml:1` | `runbook` | missing |\n" +
			"| ℹ️ notice | `slos/a.yaml` |  | availability: the SLI changed, so applying this starts a new history |\n"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if r.print(&out, &errOut, tc.format) {
				t.Error("a report with a problem passed")
			}
			if out.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tc.want)
			}
			if got, want := errOut.String(), "1 problem(s), 1 warning(s), 1 notice(s), 1 file(s) not checked\n"; got != want {
				t.Errorf("got summary %q, want %q", got, want)
			}
		})
	}

	t.Run("notices and warnings alone pass", func(t *testing.T) {
		ok := &report{services: 2, findings: r.findings[:2]}
		var out, errOut bytes.Buffer
		if !ok.print(&out, &errOut, formatText) {
			t.Errorf("a report with a warning and a notice failed:\n%s", out.String())
		}
		if got, want := errOut.String(), "ok: 2 service(s) valid, 1 warning(s), 1 notice(s)\n"; got != want {
			t.Errorf("got summary %q, want %q", got, want)
		}
	})
}

func TestMarkdownCodeSpans(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"slos/a.yaml:5":   "`slos/a.yaml:5`",
		"a|b":             "`a\\|b`",
		"a`b":             "`` a`b ``",
		"a``b`":           "``` a``b` ```",
		"line\nbreak":     "`line break`",
		`labels["a.b"]`:   "`labels[\"a.b\"]`",
		"slos[0].sli.src": "`slos[0].sli.src`",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}
