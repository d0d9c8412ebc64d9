package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	gateapi "github.com/slogate/slogate/gate/api"
	"github.com/slogate/slogate/internal/realtest"
)

// prSpecs are the spec files of a product team's repository, as a pull
// request would change them; the line numbers in the tests are theirs.
var prSpecs = map[string]string{
	// Valid, but for the runbook it lacks: a warning.
	"slos/checkout.yaml": checkoutSpec,
	// Line 5: an objective above 100.
	"slos/broken.yaml": `name: payments
owner: {team: payments}
slos:
  - name: availability
    objective: 150
    window: 7d
    sli: {push: {}}
runbook: https://runbooks.example.com/payments
`,
	// Valid offline; the server has no schedule of that name (line 6).
	"slos/office.yaml": `name: office
owner: {team: it}
slos:
  - name: availability
    objective: 99
    schedule: munich-office-hours
    window: 7d
    sli: {push: {}}
runbook: https://runbooks.example.com/office
`,
	// Valid offline; the server has no Prometheus source (line 8).
	"slos/search.yaml": `name: search
owner: {team: search}
slos:
  - name: availability
    objective: 99
    window: 7d
    sli:
      source: prom
      ratio: {good: 'http_requests_total{code!~"5.."}', total: http_requests_total}
runbook: https://runbooks.example.com/search
`,
	// The server's own spec file defines export with objective 95; this is
	// a pull request raising it, valid in the file's place.
	"slos/export.yaml": `name: export
owner: {team: data}
slos:
  - name: success
    objective: 97
    window: 7d
    sli: {push: {}}
runbook: https://runbooks.example.com/export
`,
	// One changing only its runbook: no notice.
	"unchanged/export.yaml": `name: export
owner: {team: data}
slos:
  - name: success
    objective: 95
    window: 7d
    sli: {push: {}}
runbook: https://runbooks.example.com/export
`,
	// And one breaking it (line 5).
	"broken-export/export.yaml": `name: export
owner: {team: data}
slos:
  - name: success
    objective: 0
    window: 7d
    sli: {push: {}}
runbook: https://runbooks.example.com/export
`,
	// A spec next to a server config: not for --server.
	"setup/slogate.yaml": "listen: 127.0.0.1:0\nstorage: data/slogate.db\nspecs: [specs]\n",
	"setup/specs/a.yaml": checkoutSpec,
	"empty/README.md":    "no specs here\n",
}

func TestValidateOnServer(t *testing.T) {
	const token = "ci-read-token"
	files := setupFiles("")
	files["slogate.yaml"] += fmt.Sprintf(`schedules:
  - name: berlin-office-hours
    timeZone: Europe/Berlin
    weekly:
      - {days: [mon-fri], hours: ["09:00-17:00"]}
auth:
  readsNeedToken: true
  tokens:
    - {name: ci, sha256: %s, scopes: [read]}
`, gateapi.HashToken(token))
	config := filepath.Join(writeFiles(t, files), "slogate.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, config)
	defer stopServe(t, cancel, done)

	t.Chdir(writeFiles(t, prSpecs)) // so problems name the files as a repository's paths
	t.Setenv("SLOGATE_TOKEN", "")
	t.Setenv("SLOGATE_URL", "")
	down := "http://" + realtest.FreeAddr(t) // nothing listens there

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		// The exit code, what stdout must hold, in this order, and the
		// summary.
		code    int
		want    []string
		summary string
	}{
		{
			name:    "a valid spec passes, with its warning at the local file's line",
			args:    []string{"--server", base, "--token", token, "slos/checkout.yaml"},
			want:    []string{"slos/checkout.yaml:1: runbook: warning: missing: "},
			summary: "ok: 1 service(s) valid, 1 warning(s)",
		},
		{
			name:    "a broken spec fails with its problem at the local file's line and field",
			args:    []string{"--server", base, "--token", token, "slos/broken.yaml"},
			code:    1,
			want:    []string{"slos/broken.yaml:5: slos[0].objective: must be between 0 and 100, got 150"},
			summary: "1 problem(s), 0 warning(s)",
		},
		{
			name:    "a schedule the server lacks fails, though it passes offline",
			args:    []string{"--server", base, "--token", token, "slos/office.yaml"},
			code:    1,
			want:    []string{`slos/office.yaml:6: slos[0].schedule: unknown schedule "munich-office-hours"; known schedules: always, berlin-office-hours`},
			summary: "1 problem(s), 0 warning(s)",
		},
		{
			name:    "a source the server lacks fails, though it passes offline",
			args:    []string{"--server", base, "--token", token, "slos/search.yaml"},
			code:    1,
			want:    []string{`slos/search.yaml:8: slos[0].sli.source: unknown prometheus source "prom"`},
			summary: "1 problem(s), 0 warning(s)",
		},
		{
			name:    "a change to a service a server-side file defines is checked in the file's place, with the server's notice",
			args:    []string{"--server", base, "--token", token, "slos/export.yaml"},
			want:    []string{"slos/export.yaml: notice: success: "},
			summary: "ok: 1 service(s) valid, 1 notice(s)",
		},
		{
			name:    "a notice is a GitHub notice",
			args:    []string{"--server", base, "--token", token, "--format", "github", "slos/export.yaml"},
			want:    []string{"::notice file=slos/export.yaml::success: "},
			summary: "ok: 1 service(s) valid, 1 notice(s)",
		},
		{
			name:    "a broken change to such a service fails at the local file's line",
			args:    []string{"--server", base, "--token", token, "broken-export/export.yaml"},
			code:    1,
			want:    []string{"broken-export/export.yaml:5: slos[0].objective: must be between 0 and 100, got 0"},
			summary: "1 problem(s), 0 warning(s)",
		},
		{
			name: "a directory's spec files are each checked, in name order",
			args: []string{"--server", base, "--token", token, "slos"},
			code: 1,
			want: []string{
				"slos/broken.yaml:5: slos[0].objective: ",
				"slos/checkout.yaml:1: runbook: warning: ",
				"slos/export.yaml: notice: ",
				"slos/office.yaml:6: slos[0].schedule: ",
				"slos/search.yaml:8: slos[0].sli.source: ",
			},
			summary: "3 problem(s), 1 warning(s), 1 notice(s)",
		},
		{
			name:    "the token comes from $SLOGATE_TOKEN without --token",
			args:    []string{"--server", base, "unchanged/export.yaml"},
			env:     map[string]string{"SLOGATE_TOKEN": token},
			summary: "ok: 1 service(s) valid",
		},
		{
			name:    "without the token the server needs, each file is not checked, naming 401",
			args:    []string{"--server", base, "slos/export.yaml", "slos/checkout.yaml"},
			code:    1,
			want:    []string{"slos/export.yaml: not checked: missing or invalid bearer token (HTTP 401): the server needs a token; give one with scope read as --token or $SLOGATE_TOKEN", "slos/checkout.yaml: not checked: missing or invalid bearer token (HTTP 401)"},
			summary: "0 problem(s), 0 warning(s), 2 file(s) not checked",
		},
		{
			name:    "a token the server does not know is not checked, naming 401",
			args:    []string{"--server", base, "--token", "guess", "slos/export.yaml"},
			code:    1,
			want:    []string{"slos/export.yaml: not checked: missing or invalid bearer token (HTTP 401): the server does not know the token given"},
			summary: "0 problem(s), 0 warning(s), 1 file(s) not checked",
		},
		{
			name:    "a URL that is not slogate's is not checked, naming the status",
			args:    []string{"--server", base + "/nothing", "--token", token, "slos/export.yaml"},
			code:    1,
			want:    []string{"slos/export.yaml: not checked: Not Found (HTTP 404): the server has no POST /api/v1/specs/validate"},
			summary: "0 problem(s), 0 warning(s), 1 file(s) not checked",
		},
		{
			name:    "a server that is down fails every file, saying it cannot be reached",
			args:    []string{"--server", down, "--token", token, "slos/export.yaml", "slos/checkout.yaml"},
			code:    1,
			want:    []string{"slos/export.yaml: not checked: cannot reach the server: dial tcp ", "connection refused", "slos/checkout.yaml: not checked: cannot reach the server: "},
			summary: "0 problem(s), 0 warning(s), 2 file(s) not checked",
		},
		{
			name:    "a directory holding a server config is a problem with --server",
			args:    []string{"--server", base, "--token", token, "setup"},
			code:    1,
			want:    []string{"setup: holds a server config (slogate.yaml): with --server, give spec files or directories of specs"},
			summary: "1 problem(s), 0 warning(s)",
		},
		{
			name:    "a directory without specs and a missing path are problems",
			args:    []string{"--server", base, "--token", token, "empty", "nothing.yaml"},
			code:    1,
			want:    []string{"empty: no spec files (*.yaml or *.yml) in directory", "validate: stat nothing.yaml: no such file or directory"},
			summary: "2 problem(s), 0 warning(s)",
		},
		{
			name:    "without --server, validate stays offline even with $SLOGATE_URL set",
			args:    []string{"slos/office.yaml", "slos/search.yaml"},
			env:     map[string]string{"SLOGATE_URL": base},
			summary: "ok: 2 service(s) valid",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			stdout, stderr, code := runValidateCmd(t, tc.args...)
			if code != tc.code {
				t.Errorf("got exit %d, want %d", code, tc.code)
			}
			rest := stdout
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("stdout lacks %q (after the lines before it)", w)
					continue
				}
				rest = rest[i+len(w):]
			}
			if got := lastLine(stderr); got != tc.summary {
				t.Errorf("got summary %q, want %q", got, tc.summary)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
		})
	}

	t.Run("the formats render a server's answers for GitHub", func(t *testing.T) {
		for _, tc := range []struct {
			format, want string
		}{
			{formatText, `slos/broken.yaml:5: slos[0].objective: must be between 0 and 100, got 150
slos/checkout.yaml:1: runbook: warning: missing: alerts for this service will carry no runbook link; set runbook to a URL that says what to do when its SLOs burn
slos/office.yaml:6: slos[0].schedule: unknown schedule "munich-office-hours"; known schedules: always, berlin-office-hours
`},
			{formatGitHub, `::error file=slos/broken.yaml,line=5,title=slos[0].objective::must be between 0 and 100, got 150
::warning file=slos/checkout.yaml,line=1,title=runbook::missing: alerts for this service will carry no runbook link; set runbook to a URL that says what to do when its SLOs burn
::error file=slos/office.yaml,line=6,title=slos[0].schedule::unknown schedule "munich-office-hours"; known schedules: always, berlin-office-hours
`},
			{formatMarkdown, `### ❌ SLO specs: 2 problem(s), 1 warning(s)

Checked on the slogate server: each spec against the server's config and every other service, as the server would run it.

| | File | Field | Message |
| --- | --- | --- | --- |
| ❌ error | ` + "`slos/broken.yaml:5`" + ` | ` + "`slos[0].objective`" + ` | must be between 0 and 100, got 150 |
| ❌ error | ` + "`slos/office.yaml:6`" + ` | ` + "`slos[0].schedule`" + ` | unknown schedule "munich-office-hours"; known schedules: always, berlin-office-hours |
| ⚠️ warning | ` + "`slos/checkout.yaml:1`" + ` | ` + "`runbook`" + ` | missing: alerts for this service will carry no runbook link; set runbook to a URL that says what to do when its SLOs burn |
`},
		} {
			t.Run(tc.format, func(t *testing.T) {
				stdout, stderr, code := runValidateCmd(t, "--server", base, "--token", token, "--format", tc.format,
					"slos/broken.yaml", "slos/checkout.yaml", "slos/office.yaml")
				if code != 1 {
					t.Errorf("got exit %d, want 1", code)
				}
				if stdout != tc.want {
					t.Errorf("got\n%s\nwant\n%s", stdout, tc.want)
				}
				if got, want := lastLine(stderr), "2 problem(s), 1 warning(s)"; got != want {
					t.Errorf("got summary %q on stderr, want %q", got, want)
				}
			})
		}
	})

	t.Run("the markdown report of a valid pull request says so", func(t *testing.T) {
		stdout, _, code := runValidateCmd(t, "--server", base, "--token", token, "--format", formatMarkdown, "unchanged/export.yaml")
		want := "### ✅ SLO specs: 1 service(s) valid\n\nChecked on the slogate server: each spec against the server's config and every other service, as the server would run it.\n"
		if code != 0 || stdout != want {
			t.Errorf("got exit %d and\n%s\nwant exit 0 and\n%s", code, stdout, want)
		}
	})

	t.Run("a server that cannot check is an annotation too", func(t *testing.T) {
		stdout, _, code := runValidateCmd(t, "--server", base, "--format", formatGitHub, "slos/export.yaml")
		want := "::error file=slos/export.yaml,title=not checked::missing or invalid bearer token (HTTP 401): the server needs a token; give one with scope read as --token or $SLOGATE_TOKEN\n"
		if code != 1 || stdout != want {
			t.Errorf("got exit %d and\n%s\nwant exit 1 and\n%s", code, stdout, want)
		}
	})
}

// lastLine returns s's last non-empty line.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
