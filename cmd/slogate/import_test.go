package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// importExamples are the translation examples of slo/translate.
const importExamples = "../../slo/translate/testdata"

// runImportCmd runs slogate import through the root command, as a user
// would, and returns what it printed.
func runImportCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"import"}, args...))
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestImportWritesSpecsThatSlogateValidateAccepts(t *testing.T) {
	tests := []struct {
		format string
		files  []string
		want   []string
	}{
		{"openslo", []string{"openslo/checkout.yaml", "openslo/search.yaml"}, []string{"checkout.yaml", "search.yaml"}},
		{"sloth", []string{"sloth/myservice.yaml", "sloth/home.yaml"}, []string{"home.yaml", "myservice.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.format+" examples translate into a directory of valid specs", func(t *testing.T) {
			dir := t.TempDir()
			args := []string{tt.format, "--out", dir}
			for _, f := range tt.files {
				args = append(args, filepath.Join(importExamples, f))
			}
			stdout, stderr, err := runImportCmd(t, args...)
			if err != nil {
				t.Fatalf("import failed: %v\n%s", err, stderr)
			}
			if stdout != "" {
				t.Errorf("with --out, stdout should be empty, got:\n%s", stdout)
			}
			if got := dirNames(t, dir); !slices.Equal(got, tt.want) {
				t.Errorf("wrote %v, want %v", got, tt.want)
			}
			if !strings.Contains(stderr, "translated") || strings.Contains(stderr, "cannot translate") {
				t.Errorf("stderr should hold warnings and a summary, no problems:\n%s", stderr)
			}
			var out, errOut bytes.Buffer
			if !validate(&out, &errOut, "", []string{dir}) {
				t.Fatalf("slogate validate rejects the imported specs:\n%s%s", out.String(), errOut.String())
			}
		})
	}
}

func TestImportPrintsSpecsToStdoutByDefault(t *testing.T) {
	stdout, stderr, err := runImportCmd(t, "sloth", filepath.Join(importExamples, "sloth/myservice.yaml"))
	if err != nil {
		t.Fatalf("import failed: %v\n%s", err, stderr)
	}
	dec := yaml.NewDecoder(strings.NewReader(stdout))
	var names []string
	for {
		var doc struct {
			Name string `yaml:"name"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		names = append(names, doc.Name)
	}
	if !slices.Equal(names, []string{"myservice"}) || !strings.HasPrefix(stdout, "---\n# Translated from Sloth") {
		t.Errorf("got documents %v in\n%s\nwant one spec, myservice", names, stdout)
	}
	if !strings.Contains(stderr, "alerting.name: warning: not kept:") {
		t.Errorf("the warnings are not on stderr:\n%s", stderr)
	}
}

func TestImportOfUntranslatableSources(t *testing.T) {
	unsupported := filepath.Join(importExamples, "openslo/unsupported.yaml")

	t.Run("writes nothing and exits 1 without --partial", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "specs")
		stdout, stderr, err := runImportCmd(t, "openslo", "--out", dir, unsupported)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 1 {
			t.Fatalf("got error %v, want exit 1", err)
		}
		if _, statErr := os.Stat(dir); !errors.Is(statErr, os.ErrNotExist) || stdout != "" {
			t.Errorf("something was written (stat %v, stdout %q)", statErr, stdout)
		}
		for _, want := range []string{
			unsupported + ":79: spec.objectives[0].timeSliceWindow: cannot translate: time slices of 5m",
			unsupported + ":57: spec.alertPolicies: cannot translate: ",
			"nothing written; fix the sources, or give --partial",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
	})

	t.Run("writes what translates with --partial and reports the rest", func(t *testing.T) {
		dir := t.TempDir()
		_, stderr, err := runImportCmd(t, "openslo", "--partial", "--out", dir, unsupported)
		if err != nil {
			t.Fatalf("got %v, want exit 0 with --partial\n%s", err, stderr)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"payments.yaml"}) {
			t.Errorf("wrote %v, want [payments.yaml]", got)
		}
		if !strings.Contains(stderr, `cannot translate: service "ledger" has no owner team`) || !strings.Contains(stderr, "problem(s) not translated") {
			t.Errorf("stderr lacks the report or the summary:\n%s", stderr)
		}
		var out, errOut bytes.Buffer
		if !validate(&out, &errOut, "", []string{dir}) {
			t.Fatalf("slogate validate rejects the imported specs:\n%s%s", out.String(), errOut.String())
		}
	})

	t.Run("--owner-team gives services without a team an owner", func(t *testing.T) {
		dir := t.TempDir()
		_, stderr, err := runImportCmd(t, "openslo", "--partial", "--owner-team", "ledger-team", "--out", dir, unsupported)
		if err != nil {
			t.Fatalf("import failed: %v\n%s", err, stderr)
		}
		data, err := os.ReadFile(filepath.Join(dir, "ledger.yaml"))
		if err != nil || !strings.Contains(string(data), "team: ledger-team") {
			t.Errorf("ledger.yaml (%v) does not name the default team:\n%s", err, data)
		}
	})
}

func TestImportNeverOverwritesWithoutForce(t *testing.T) {
	dir := writeFiles(t, map[string]string{"home.yaml": "hand-written\n"})
	home := filepath.Join(importExamples, "sloth/home.yaml")
	_, stderr, err := runImportCmd(t, "sloth", "--out", dir, home)
	if err == nil || !strings.Contains(err.Error(), "already exist") {
		t.Fatalf("got %v, want a refusal to overwrite\n%s", err, stderr)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "home.yaml")); string(data) != "hand-written\n" {
		t.Errorf("home.yaml was overwritten:\n%s", data)
	}
	if _, stderr, err := runImportCmd(t, "sloth", "--force", "--out", dir, home); err != nil {
		t.Fatalf("import --force failed: %v\n%s", err, stderr)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "home.yaml")); !strings.Contains(string(data), "name: home") {
		t.Errorf("home.yaml was not overwritten with --force:\n%s", data)
	}
}
