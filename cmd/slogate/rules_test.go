package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runRules runs `slogate rules` with args and returns its stdout, stderr
// and error.
func runRules(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"rules"}, args...))
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestRulesCommand(t *testing.T) {
	t.Chdir("../..")
	const config = "testdata/slogate.yaml"

	t.Run("SLOs PromQL cannot express are refused by name and nothing is written", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "slogate.rules.yml")
		_, _, err := runRules(t, "--config", config, "--out", path)
		if err == nil {
			t.Fatal("got no error for the example specs, which have business-hours, timeslice and push SLOs")
		}
		for _, want := range []string{
			"billing-portal/availability: ", "billing-portal/good-minutes: ", "nightly-export/delivery: ",
			"not always on", "timeslices", "pushed", "--skip-unsupported",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("got %s written (stat: %v), want nothing written", path, err)
		}
	})

	t.Run("--skip-unsupported writes the others' rules to --out and lists what it skipped", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "slogate.rules.yml")
		out, errOut, err := runRules(t, "--config", config, "--out", path, "--skip-unsupported")
		if err != nil {
			t.Fatal(err)
		}
		if out != "" {
			t.Errorf("got stdout %q with --out, want none", out)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("alerting/promrules/testdata/example.rules.yml")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from alerting/promrules/testdata/example.rules.yml; got:\n%s", path, got)
		}
		for _, s := range []string{"billing-portal/availability", "billing-portal/good-minutes", "nightly-export/delivery"} {
			if !strings.Contains(errOut, "skipped "+s+": ") {
				t.Errorf("stderr does not list %s as skipped:\n%s", s, errOut)
			}
		}
	})

	t.Run("--service exports one service, to stdout without --out", func(t *testing.T) {
		out, errOut, err := runRules(t, "--config", config, "--service", "search")
		if err != nil {
			t.Fatal(err)
		}
		if errOut != "" {
			t.Errorf("got stderr %q, want none: search has nothing unsupported", errOut)
		}
		for _, want := range []string{"name: slogate/search/availability\n", "name: slogate/search/latency/window\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if strings.Contains(out, "checkout") {
			t.Errorf("output has another service's rules:\n%s", out)
		}
	})

	t.Run("an unknown service is an error naming the known ones", func(t *testing.T) {
		_, _, err := runRules(t, "--config", config, "--service", "chekout")
		if err == nil || !strings.Contains(err.Error(), `"chekout"`) || !strings.Contains(err.Error(), "checkout") {
			t.Errorf("got error %v, want one naming chekout and the known services", err)
		}
	})
}
