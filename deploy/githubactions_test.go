package deploy

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gateapi "github.com/slogate/slogate/gate/api"
	"github.com/slogate/slogate/internal/realtest"
)

// actionsWorkflowFile is the GitHub Actions pull-request check of a
// repository of specs.
const actionsWorkflowFile = "github-actions/slo-check.yml"

// actionsWorkflow is the part of a GitHub Actions workflow the tests read.
type actionsWorkflow struct {
	On struct {
		PullRequest *struct {
			Paths []string `yaml:"paths"`
		} `yaml:"pull_request"`
	} `yaml:"on"`
	Permissions map[string]string     `yaml:"permissions"`
	Jobs        map[string]actionsJob `yaml:"jobs"`
}

type actionsJob struct {
	Env   map[string]string `yaml:"env"`
	Steps []actionsStep     `yaml:"steps"`
}

type actionsStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	If   string            `yaml:"if"`
	Env  map[string]string `yaml:"env"`
}

// runStep runs a step's script as the runner does (bash, -e, pipefail) in
// dir with env added to this process's environment, and returns its
// output and exit code.
func runStep(t *testing.T, dir string, s actionsStep, env map[string]string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, set := env[k]; !set && !strings.HasPrefix(k, "SLOGATE_") && !strings.HasPrefix(k, "GITHUB_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("run step %q: %v\n%s", s.Name, err, out)
	return "", 0
}

// validateLineRE finds the slogate validate command lines of a script.
var validateLineRE = regexp.MustCompile(`(?m)^\s*slogate validate (.*)$`)

// commandFlags returns the --flags and the paths of a slogate validate
// command line, up to its first operator (||, >, ;).
func commandFlags(line string) (flags, paths []string) {
	fields := strings.Fields(line)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case f == "||" || f == ">" || f == ";" || f == "&&" || f == "|":
			return flags, paths
		case strings.HasPrefix(f, "--"):
			name, _, hasValue := strings.Cut(f, "=")
			flags = append(flags, name)
			if !hasValue {
				i++ // every flag validate has takes a value
			}
		default:
			paths = append(paths, f)
		}
	}
	return flags, paths
}

// TestGitHubActionsWorkflow checks the pull-request check's structure and
// runs its steps' scripts as the runner would, with the slogate built from
// this repository against a real slogate server: valid specs pass, specs the
// server refuses fail with annotations and a Markdown report, a wrong
// token fails, and without the server's URL the specs are checked offline.
func TestGitHubActionsWorkflow(t *testing.T) {
	var wf actionsWorkflow
	readYAML(t, actionsWorkflowFile, &wf)

	if wf.On.PullRequest == nil || !slices.Contains(wf.On.PullRequest.Paths, "slos/**") {
		t.Fatalf("on.pull_request.paths must hold slos/**, got %+v", wf.On.PullRequest)
	}
	if want := map[string]string{"contents": "read", "pull-requests": "write"}; fmt.Sprint(wf.Permissions) != fmt.Sprint(want) {
		t.Errorf("got permissions %v, want %v: reading the code and commenting, nothing more", wf.Permissions, want)
	}
	if len(wf.Jobs) != 1 {
		t.Fatalf("got %d jobs, want 1", len(wf.Jobs))
	}
	var job actionsJob
	for _, j := range wf.Jobs {
		job = j
	}
	for k, want := range map[string]string{"SLOGATE_URL": "${{ secrets.SLOGATE_URL }}", "SLOGATE_TOKEN": "${{ secrets.SLOGATE_TOKEN }}"} {
		if job.Env[k] != want {
			t.Errorf("job env %s = %q, want %q", k, job.Env[k], want)
		}
	}

	// The steps, found by what they do, must come in this order.
	find := func(what string, match func(actionsStep) bool) (int, actionsStep) {
		t.Helper()
		for i, s := range job.Steps {
			if match(s) {
				return i, s
			}
		}
		t.Fatalf("no step %s", what)
		return 0, actionsStep{}
	}
	checkout, _ := find("checks out the code", func(s actionsStep) bool { return strings.HasPrefix(s.Uses, "actions/checkout@") })
	install, _ := find("installs slogate", func(s actionsStep) bool {
		return strings.Contains(s.Run, "go install github.com/slogate/slogate/cmd/slogate@")
	})
	check, validate := find("with id validate", func(s actionsStep) bool { return s.ID == "validate" })
	comment, commentStep := find("comments on the pull request", func(s actionsStep) bool { return strings.Contains(s.Run, "gh pr comment") })
	fail, failStep := find("fails the job", func(s actionsStep) bool { return strings.Contains(s.If, "steps.validate.outputs.status") })
	if !(checkout < install && install < check && check < comment && comment < fail) {
		t.Errorf("steps out of order: checkout %d, install %d, validate %d, comment %d, fail %d", checkout, install, check, comment, fail)
	}
	if commentStep.Env["GH_TOKEN"] != "${{ github.token }}" || !strings.Contains(commentStep.Run, "--edit-last") {
		t.Errorf("the comment step must edit its last comment with GH_TOKEN ${{ github.token }}; got env %v, run:\n%s", commentStep.Env, commentStep.Run)
	}
	if !strings.Contains(commentStep.If, "head.repo.full_name == github.repository") {
		t.Errorf("the comment step must skip forks' pull requests, whose token cannot comment; got if: %q", commentStep.If)
	}

	// Each slogate validate line uses only flags slogate validate has,
	// on the paths the workflow runs for, in both formats with and
	// without the server.
	if testing.Short() {
		t.Skip("builds and runs slogate")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH: cannot build slogate")
	}
	binDir := t.TempDir()
	build := exec.Command(goTool, "build", "-o", filepath.Join(binDir, "slogate"), "./cmd/slogate")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/slogate: %v\n%s", err, out)
	}
	help := run(t, binDir, filepath.Join(binDir, "slogate"), "validate", "--help")
	var variants []string
	for _, m := range validateLineRE.FindAllStringSubmatch(validate.Run, -1) {
		flags, paths := commandFlags(m[1])
		for _, f := range flags {
			if !regexp.MustCompile(`(?m)^\s+(-\w, )?` + f + `\b`).MatchString(help) {
				t.Errorf("slogate validate has no flag %s (in %q); its flags:\n%s", f, m[0], help)
			}
		}
		for _, p := range paths {
			if !slices.Contains(wf.On.PullRequest.Paths, strings.TrimSuffix(p, "/")+"/**") {
				t.Errorf("%q checks %s, but on.pull_request.paths %v does not run for it", m[0], p, wf.On.PullRequest.Paths)
			}
		}
		variants = append(variants, fmt.Sprint(slices.Contains(flags, "--server"), " ", regexp.MustCompile(`--format \w+`).FindString(m[1])))
	}
	slices.Sort(variants)
	if want := []string{"false --format github", "false --format markdown", "true --format github", "true --format markdown"}; !slices.Equal(variants, want) {
		t.Errorf("got slogate validate lines (--server, --format) %q, want %q", variants, want)
	}

	// A real server, whose reads need a token, with one schedule.
	const token = "ci-read-token"
	srvDir, addr := t.TempDir(), realtest.FreeAddr(t)
	for name, data := range map[string]string{
		"slogate.yaml": fmt.Sprintf(`listen: %s
storage: slogate.db
specs: [specs]
schedules:
  - name: berlin-office-hours
    timeZone: Europe/Berlin
    weekly:
      - {days: [mon-fri], hours: ["09:00-17:00"]}
auth:
  readsNeedToken: true
  tokens:
    - {name: ci, sha256: %s, scopes: [read]}
`, addr, gateapi.HashToken(token)),
		"specs/export.yaml": "name: export\nowner: {team: data}\nrunbook: https://runbooks.example.com/export\nslos:\n  - {name: success, objective: 95, window: 7d, sli: {push: {}}}\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(srvDir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(srvDir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := realtest.StartProcess(t, srvDir, "slogate", filepath.Join(binDir, "slogate"), "serve", "--config", filepath.Join(srvDir, "slogate.yaml"))
	srv.WaitReady("http://"+addr+"/readyz", 30*time.Second)

	spec := func(schedule string) string {
		return fmt.Sprintf(`name: office
owner: {team: it}
runbook: https://runbooks.example.com/office
slos:
  - name: availability
    objective: 99
    schedule: %s
    window: 7d
    sli: {push: {}}
`, schedule)
	}
	for _, tc := range []struct {
		name, spec, url, token string
		status                 string
		want                   []string
		report                 string
	}{
		{
			name: "a valid spec passes", spec: spec("berlin-office-hours"), url: "http://" + addr, token: token,
			status: "0", report: "### ✅ SLO specs: 1 service(s) valid\n\nChecked on the slogate server",
		},
		{
			name: "a schedule the server lacks fails, annotated at its line", spec: spec("munich-office-hours"), url: "http://" + addr, token: token,
			status: "1",
			want:   []string{`::error file=slos/office.yaml,line=7,title=slos[0].schedule::unknown schedule "munich-office-hours"`},
			report: "### ❌ SLO specs: 1 problem(s), 0 warning(s)",
		},
		{
			name: "a token the server does not know fails", spec: spec("berlin-office-hours"), url: "http://" + addr, token: "wrong",
			status: "1",
			want:   []string{"::error file=slos/office.yaml,title=not checked::missing or invalid bearer token (HTTP 401)"},
			report: "### ❌ SLO specs: 0 problem(s), 0 warning(s), 1 file(s) not checked",
		},
		{
			name: "without the server's URL the specs are checked offline, with a warning saying so", spec: spec("munich-office-hours"),
			status: "0",
			want:   []string{"::warning title=SLO check::SLOGATE_URL is not set"},
			report: "### ✅ SLO specs: 1 service(s) valid\n\nChecked offline",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, runner := t.TempDir(), t.TempDir()
			if err := os.MkdirAll(filepath.Join(repo, "slos"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(repo, "slos", "office.yaml"), []byte(tc.spec), 0o644); err != nil {
				t.Fatal(err)
			}
			output, summary := filepath.Join(runner, "output"), filepath.Join(runner, "summary")
			out, code := runStep(t, repo, validate, map[string]string{
				"PATH":          binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
				"SLOGATE_URL":   tc.url,
				"SLOGATE_TOKEN": tc.token,
				"RUNNER_TEMP":   runner,
				"GITHUB_OUTPUT": output, "GITHUB_STEP_SUMMARY": summary,
			})
			if code != 0 {
				t.Fatalf("the validate step exited %d, want 0 so the comment is posted:\n%s", code, out)
			}
			if got, _ := os.ReadFile(output); string(got) != "status="+tc.status+"\n" {
				t.Errorf("got step output %q, want status=%s", got, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("the step's output lacks %q:\n%s", w, out)
				}
			}
			if tc.status == "0" && strings.Contains(out, "::error") {
				t.Errorf("a passing check printed an error:\n%s", out)
			}
			report, _ := os.ReadFile(filepath.Join(runner, "slo-check.md"))
			if !strings.HasPrefix(string(report), tc.report) {
				t.Errorf("the report starts\n%s\nwant\n%s", report, tc.report)
			}
			if got, _ := os.ReadFile(summary); string(got) != string(report) {
				t.Errorf("the run's summary is\n%s\nwant the report", got)
			}
		})
	}

	// The comment step, with a gh that logs its arguments and fails an
	// --edit-last when there is no comment to edit.
	for _, tc := range []struct {
		name        string
		status      string
		noComment   bool
		wantInvoked []string
	}{
		{"a comment left last time is updated", "1", false, []string{"pr comment 7 --edit-last --body-file REPORT"}},
		{"a valid pull request's comment is updated to say so", "0", false, []string{"pr comment 7 --edit-last --body-file REPORT"}},
		{"an invalid pull request without one gets a comment", "1", true, []string{"pr comment 7 --edit-last --body-file REPORT", "pr comment 7 --body-file REPORT"}},
		{"a valid pull request without one gets none", "0", true, []string{"pr comment 7 --edit-last --body-file REPORT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runner, stubs := t.TempDir(), t.TempDir()
			log := filepath.Join(runner, "gh.log")
			gh := `#!/bin/sh
echo "$*" >> "$GH_LOG"
case "$*" in *--edit-last*) [ -z "$NO_COMMENT" ] ;; esac
`
			if err := os.WriteFile(filepath.Join(stubs, "gh"), []byte(gh), 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{
				"PATH":        stubs + string(os.PathListSeparator) + os.Getenv("PATH"),
				"RUNNER_TEMP": runner, "GH_LOG": log, "PR": "7", "STATUS": tc.status,
			}
			if tc.noComment {
				env["NO_COMMENT"] = "1"
			}
			if out, code := runStep(t, runner, commentStep, env); code != 0 {
				t.Fatalf("the comment step exited %d:\n%s", code, out)
			}
			got, _ := os.ReadFile(log)
			want := strings.Join(tc.wantInvoked, "\n") + "\n"
			want = strings.ReplaceAll(want, "REPORT", filepath.Join(runner, "slo-check.md"))
			if string(got) != want {
				t.Errorf("gh was run as\n%s\nwant\n%s", got, want)
			}
		})
	}

	t.Run("the last step fails the job", func(t *testing.T) {
		out, code := runStep(t, t.TempDir(), failStep, map[string]string{"STATUS": "1"})
		if code == 0 || !strings.Contains(out, "::error title=SLO check::") {
			t.Errorf("got exit %d and %q, want a failure with an annotation", code, out)
		}
	})
}
