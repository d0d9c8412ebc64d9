package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gateapi "github.com/slogate/slogate/gate/api"
)

// Tokens of the gate test setup.
const (
	deployToken   = "deploy-secret-1"
	overrideToken = "override-secret-1"
	// shopToken may override the gate of team shop's services only.
	shopToken = "shop-override-secret-1"
)

// writeGateSetup writes a config with two push services, tokens and a gate
// policy tuned for a test: small minimums and a five-minute impact window.
func writeGateSetup(t *testing.T) string {
	t.Helper()
	files := map[string]string{}
	for _, svc := range []string{"export", "web"} {
		files["specs/"+svc+".yaml"] = fmt.Sprintf("name: %s\nowner: {team: data}\nslos:\n  - name: success\n    objective: 95\n    window: 7d\n    sli: {push: {}}\n", svc)
	}
	files["slogate.yaml"] = fmt.Sprintf(`listen: 127.0.0.1:0
storage: data/slogate.db
specs: [specs]
evaluationInterval: 1s
gate:
  minEvents: 10
  impactWindow: 5m
  impactMinEvents: 100
auth:
  tokens:
    - {name: ci, sha256: %s, scopes: [deploy:write]}
    - {name: oncall, sha256: %s, scopes: [gate:override]}
    - {name: shop-oncall, sha256: %s, scopes: [gate:override], teams: [shop]}
`, gateapi.HashToken(deployToken), gateapi.HashToken(overrideToken), gateapi.HashToken(shopToken))
	return filepath.Join(writeFiles(t, files), "slogate.yaml")
}

// run runs the slogate binary and returns its exit code, stdout and stderr.
func run(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return code, out.String(), errOut.String()
}

// request sends a JSON request with an optional token and returns the
// status and the decoded body.
func request(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	return apiRequest(t, method, url, token, "application/json", body)
}

// push posts events per minute for service "svc" over [from, to) with
// total events a minute, bad of them bad.
func push(t *testing.T, base, svc string, from, to time.Time, total, bad int) {
	t.Helper()
	var evs []string
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		evs = append(evs, fmt.Sprintf(`{"service":%q,"slo":"success","good":%d,"total":%d,"timestamp":%q}`,
			svc, total-bad, total, m.Format(time.RFC3339)))
	}
	if code, body := postJSON(t, base+"/api/v1/events", "["+strings.Join(evs, ",")+"]"); code != http.StatusOK {
		t.Fatalf("push: got %d %v", code, body)
	}
}

func TestGateEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	_, base := startBinary(t, bin, writeGateSetup(t))
	now := time.Now().UTC().Truncate(time.Minute)
	check := func(args ...string) (int, string, string) {
		return run(t, bin, append([]string{"gate", "check", "--server", base, "--service", "export"}, args...)...)
	}
	// waitEvents waits until the gate answers from an evaluation that
	// counts total events for svc.
	waitEvents := func(svc string, total float64) {
		waitFor(t, 20*time.Second, "pushed events in the gate's verdict", func() bool {
			var a struct {
				SLOs []struct{ Events float64 } `json:"slos"`
			}
			getJSON(t, base+"/api/v1/gate/"+svc, &a)
			return len(a.SLOs) == 1 && a.SLOs[0].Events == total
		})
	}

	t.Run("a healthy budget ships", func(t *testing.T) {
		push(t, base, "export", now.Add(-10*time.Minute), now, 100, 0)
		waitEvents("export", 1000)
		code, _, stderr := check("--commit-message", "feat: add CSV export")
		if code != 0 || !strings.HasPrefix(stderr, "ship: all 1 SLOs within budget (success 100% left)") {
			t.Fatalf("got exit %d, %q; want 0 and a ship summary", code, stderr)
		}
	})

	t.Run("a spent budget slows features down and lets fixes through", func(t *testing.T) {
		push(t, base, "export", now.Add(-12*time.Minute), now.Add(-10*time.Minute), 100, 100)
		waitEvents("export", 1200)
		code, stdout, stderr := check("--commit-message", "feat(csv): add Excel export", "--json")
		if code != 1 || !strings.HasPrefix(stderr, "slow down: ") || !strings.Contains(stderr, "success") ||
			!strings.Contains(stderr, "%") {
			t.Fatalf("feat: got exit %d, %q; want 1 and a slow-down naming the SLO with its numbers", code, stderr)
		}
		t.Logf("gate check said: %s", stderr)
		var a map[string]any
		if err := json.Unmarshal([]byte(stdout), &a); err != nil || a["decision"] != "slow_down" || a["allowed"] != false {
			t.Fatalf("--json printed %q (%v); want the answer with decision slow_down, allowed false", stdout, err)
		}
		if code, _, stderr := check("--commit-message", "fix(csv): quote fields with commas"); code != 0 {
			t.Fatalf("fix: got exit %d, %q; want 0", code, stderr)
		}
		if code, _, stderr := check("--change-type", "revert"); code != 0 {
			t.Fatalf("--change-type revert: got exit %d, %q; want 0", code, stderr)
		}
		start := time.Now()
		code, _, stderr = check("--commit-message", "feat: more", "--wait", "2s")
		if code != 1 || time.Since(start) < 2*time.Second || !strings.Contains(stderr, "waiting") {
			t.Fatalf("--wait 2s: got exit %d after %s, %q; want 1 after waiting 2s", code, time.Since(start), stderr)
		}
	})

	t.Run("an override lets a feature ship, is audited and expires on time", func(t *testing.T) {
		code, out, errOut := run(t, bin, "gate", "override", "--server", base, "--token", overrideToken,
			"--service", "export", "--reason", "customer demo needs the Excel export", "--by", "alice", "--duration", "3s")
		if code != 0 {
			t.Fatalf("override: exit %d %s %s", code, out, errOut)
		}
		if code, _, stderr := check("--commit-message", "feat(csv): add Excel export"); code != 0 || !strings.Contains(stderr, "override by alice") {
			t.Fatalf("with an override got exit %d, %q; want 0 naming the override", code, stderr)
		}
		status, audit := request(t, "GET", base+"/api/v1/audit?service=export", "", "")
		entries, _ := audit["entries"].([]any)
		if status != 200 || len(entries) == 0 || !strings.Contains(fmt.Sprint(entries[0]), "override.create") ||
			!strings.Contains(fmt.Sprint(entries[0]), "oncall") {
			t.Fatalf("audit: got %d %v; want the override by token oncall", status, audit)
		}
		time.Sleep(3 * time.Second)
		if code, _, stderr := check("--commit-message", "feat(csv): add Excel export"); code != 1 {
			t.Fatalf("after the override expired got exit %d, %q; want 1", code, stderr)
		}
	})

	t.Run("a server that is down gives 2, or 0 with a warning when failing open", func(t *testing.T) {
		code, _, stderr := run(t, bin, "gate", "check", "--server", "http://127.0.0.1:1", "--service", "export", "--timeout", "2s")
		if code != 2 {
			t.Fatalf("got exit %d, %q; want 2", code, stderr)
		}
		code, _, stderr = run(t, bin, "gate", "check", "--server", "http://127.0.0.1:1", "--service", "export", "--timeout", "2s", "--fail-open")
		if code != 0 || !strings.Contains(stderr, "WARNING") {
			t.Fatalf("--fail-open: got exit %d, %q; want 0 with a warning", code, stderr)
		}
	})

	t.Run("bad requests are refused with what is wrong", func(t *testing.T) {
		cases := []struct {
			name, method, path, token, body string
			status                          int
			msg                             string
		}{
			{"a wrong token", "POST", "/api/v1/deploys", "nope", `{"service":"export","version":"1"}`, 401, "token"},
			{"no token", "POST", "/api/v1/gate/export/overrides", "", `{"reason":"x"}`, 401, "token"},
			{"a token without the scope", "POST", "/api/v1/gate/export/overrides", deployToken, `{"reason":"x"}`, 403, "gate:override"},
			{"an override without a reason", "POST", "/api/v1/gate/export/overrides", overrideToken, `{"by":"bob"}`, 400, "reason"},
			{"an override too long", "POST", "/api/v1/gate/export/overrides", overrideToken, `{"reason":"x","duration":"3d"}`, 400, "duration"},
			{"an override by another team's token", "POST", "/api/v1/gate/export/overrides", shopToken, `{"reason":"x"}`, 403, "team data owns the service"},
			{"an end of an override by another team's token", "DELETE", "/api/v1/gate/export/overrides/1", shopToken, "", 403, "team data owns the service"},
			{"an unknown service", "GET", "/api/v1/gate/exprot", "", "", 404, `did you mean "export"`},
			{"a malformed env", "GET", "/api/v1/gate/export?env=Prod%20uction", "", "", 400, "env"},
			{"an unknown field", "POST", "/api/v1/gate/export", "", `{"enviroment":"production"}`, 400, "enviroment"},
			{"a deploy of an unknown service", "POST", "/api/v1/deploys", deployToken, `{"service":"exprot","version":"1"}`, 400, "service"},
		}
		for _, c := range cases {
			status, body := request(t, c.method, base+c.path, c.token, c.body)
			msg, _ := body["error"].(string)
			if status != c.status || !strings.Contains(msg, c.msg) {
				t.Errorf("%s: got %d %q, want %d mentioning %q", c.name, status, msg, c.status, c.msg)
			}
		}
	})

	t.Run("a deploy followed by an error burst is degraded, one followed by steady traffic neutral", func(t *testing.T) {
		bad := now.Add(-60 * time.Minute)
		good := now.Add(-30 * time.Minute)
		push(t, base, "web", bad.Add(-5*time.Minute), bad, 100, 1)
		push(t, base, "web", bad, bad.Add(5*time.Minute), 100, 20)
		push(t, base, "web", good.Add(-5*time.Minute), good.Add(5*time.Minute), 100, 1)
		ids := map[string]float64{}
		for _, d := range []struct {
			version string
			at      time.Time
		}{{"v1.41.0", bad}, {"v1.42.0", good}} {
			code, out, errOut := run(t, bin, "deploy", "record", "--server", base, "--token", deployToken,
				"--service", "web", "--version", d.version, "--author", "bob", "--started-at", d.at.Format(time.RFC3339))
			if code != 0 {
				t.Fatalf("deploy record: exit %d %s %s", code, out, errOut)
			}
			var id float64
			fmt.Sscanf(out, "deploy %g recorded", &id)
			ids[d.version] = id
		}
		want := map[string]string{"v1.41.0": "degraded", "v1.42.0": "neutral"}
		for v, class := range want {
			var got string
			waitFor(t, 15*time.Second, "the impact of "+v, func() bool {
				_, d := request(t, "GET", fmt.Sprintf("%s/api/v1/deploys/%d", base, int(ids[v])), "", "")
				if imp, ok := d["impact"].(map[string]any); ok {
					got, _ = imp["class"].(string)
				}
				return got != ""
			})
			if got != class {
				t.Errorf("deploy %s: impact %q, want %q", v, got, class)
			}
		}
		if status, d := request(t, "GET", base+"/api/v1/gate/web/suspect", "", ""); status != 200 || d["version"] != "v1.41.0" || d["author"] != "bob" {
			t.Errorf("suspect deploy: got %d %v, want v1.41.0 by bob", status, d)
		}
	})
}
