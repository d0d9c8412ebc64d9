package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slogate/slogate/slo"
)

const unitPath = "systemd/slogate.service"

// systemdUnit is a unit file's settings by section and key, in order; a
// key may repeat (SystemCallFilter=).
type systemdUnit map[string]map[string][]string

func parseUnit(t *testing.T, file string) systemdUnit {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := systemdUnit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			u[section] = map[string][]string{}
		case section == "":
			t.Fatalf("%s:%d: setting outside a section", file, n)
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || strings.HasSuffix(l, `\`) {
				t.Fatalf("%s:%d: want KEY=VALUE on one line, got %q", file, n, l)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u systemdUnit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, unitPath)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Errorf("no [%s] section", s)
		}
	}
	start := strings.Fields(u.get("Service", "ExecStart"))
	i := slices.Index(start, "--config")
	if len(start) < 4 || !filepath.IsAbs(start[0]) || start[1] != "serve" || i < 0 || i+1 >= len(start) {
		t.Fatalf("ExecStart %v: want /path/to/slogate serve --config FILE", start)
	}

	t.Run("it runs unprivileged with its state in StateDirectory", func(t *testing.T) {
		for key, want := range map[string]string{
			"DynamicUser": "yes", "StateDirectory": "slogate", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
			"ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "",
		} {
			if got, ok := u["Service"][key]; !ok || got[len(got)-1] != want {
				t.Errorf("%s=%v, want %q", key, got, want)
			}
		}
		if u.get("Service", "User") != "" {
			t.Error("User= with DynamicUser=yes: pick one")
		}
		// slogate does not reload its config on SIGHUP: ExecReload would
		// kill it (SIGHUP's default) or do nothing.
		if u.get("Service", "ExecReload") != "" {
			t.Error("ExecReload: slogate does not reload on SIGHUP")
		}
		if u.get("Install", "WantedBy") != "multi-user.target" {
			t.Errorf("WantedBy=%q, want multi-user.target", u.get("Install", "WantedBy"))
		}
	})

	t.Run("the example config loads and keeps its database in the state directory", func(t *testing.T) {
		root := t.TempDir()
		cfgPath := filepath.Join(root, start[i+1])
		copyInto(t, "systemd/slogate.yaml", cfgPath)
		copyInto(t, filepath.Join(kustomizeDir, "specs"), filepath.Join(filepath.Dir(cfgPath), "specs"))
		cat, err := slo.Load(cfgPath)
		if err != nil {
			t.Fatalf("slo.Load: %v", err)
		}
		// ProtectSystem=strict leaves only the state directory writable.
		if state := "/var/lib/" + u.get("Service", "StateDirectory"); !under(cat.Config.Storage, state) {
			t.Errorf("storage %s is outside the StateDirectory %s, which is the only place the service may write", cat.Config.Storage, state)
		}
	})

	t.Run("systemd-analyze verifies it", func(t *testing.T) {
		sa := optionalTool(t, "systemd-analyze")
		// verify wants ExecStart's binary to exist: point it at this test
		// binary, which does.
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(unitPath)
		if err != nil {
			t.Fatal(err)
		}
		unit := filepath.Join(t.TempDir(), "slogate.service")
		if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(data), start[0], self)), 0o644); err != nil {
			t.Fatal(err)
		}
		out := run(t, "", sa, "verify", "--man=no", unit)
		// Unknown keys and bad values are warnings with exit code 0.
		if strings.TrimSpace(out) != "" {
			t.Errorf("systemd-analyze verify:\n%s", out)
		}
		// An exposure of 2.0 or less is what systemd calls OK.
		out = run(t, "", sa, "security", "--offline=yes", "--no-pager", "--threshold=20", unit)
		t.Logf("systemd-analyze security: %s", lastNonEmpty(out))
	})
}

func lastNonEmpty(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return ls[len(ls)-1]
}
