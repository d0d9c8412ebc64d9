package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
