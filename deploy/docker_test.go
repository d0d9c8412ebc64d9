package deploy

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/slogate/slogate/slo"
)

// dockerInstruction is one instruction of a Dockerfile, continuation lines
// joined.
type dockerInstruction struct {
	line int
	cmd  string // upper case
	args string
}

type dockerStage struct {
	from, name string
	body       []dockerInstruction
}

// parseDockerfile splits a Dockerfile into its global ARGs and stages. It
// knows what these tests look at (instructions, line continuations,
// comments, ARG defaults in FROM), not heredocs or escape directives, which
// deploy/docker/Dockerfile does not use. (Docker is not on the test
// machines, so the real parser, in BuildKit, would only be a dependency.)
func parseDockerfile(t *testing.T, file string) (args map[string]string, stages []dockerStage) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ins []dockerInstruction
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, rest, _ := strings.Cut(cur.String(), " ")
		ins = append(ins, dockerInstruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(rest)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("%s: ends inside a continued line", file)
	}
	args = map[string]string{}
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			st := dockerStage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			st.from = os.Expand(st.from, func(k string) string { return args[k] })
			stages = append(stages, st)
		case len(stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		case len(stages) == 0:
			t.Fatalf("%s:%d: %s before the first FROM", file, in.line, in.cmd)
		default:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	return args, stages
}

func (s dockerStage) find(cmd string) []dockerInstruction {
	var out []dockerInstruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm decodes an instruction's JSON (exec) form.
func execForm(t *testing.T, in dockerInstruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("line %d: %s %s: want the exec form, a JSON array, so signals reach slogate: %v", in.line, in.cmd, in.args, err)
	}
	return v
}

func TestDockerfile(t *testing.T) {
	const file = "docker/Dockerfile"
	_, stages := parseDockerfile(t, file)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(stages))
	}
	names := map[string]bool{}
	for _, st := range stages {
		if !names[st.from] {
			if p := pinned(st.from); p != "" {
				t.Errorf("FROM %s: %s", st.from, p)
			}
		}
		names[st.name] = true
	}

	build, final := stages[0], stages[len(stages)-1]
	t.Run("the build stage compiles slogate with cgo on the go.mod's Go", func(t *testing.T) {
		mod, err := os.ReadFile("../go.mod")
		if err != nil {
			t.Fatal(err)
		}
		goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
		if goVersion == nil {
			t.Fatal("no go directive in go.mod")
		}
		if want := "golang:" + string(goVersion[1]); !strings.HasPrefix(build.from, want) {
			t.Errorf("build stage FROM %s, want %s (go.mod says go %s)", build.from, want, goVersion[1])
		}
		var cgo, goBuild bool
		for _, in := range build.body {
			if (in.cmd == "ENV" || in.cmd == "RUN") && regexp.MustCompile(`\bCGO_ENABLED=1\b`).MatchString(in.args) {
				cgo = true
			}
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") && strings.Contains(in.args, "./cmd/slogate") {
				goBuild = true
			}
			if in.cmd == "RUN" && strings.Contains(in.args, "CGO_ENABLED=0") {
				t.Errorf("line %d: CGO_ENABLED=0: SQLite (mattn/go-sqlite3) needs cgo", in.line)
			}
		}
		if !cgo || !goBuild {
			t.Errorf("build stage: CGO_ENABLED=1 %v, go build ./cmd/slogate %v; want both", cgo, goBuild)
		}
		if !strings.Contains(build.from, "bookworm") || !strings.Contains(final.from, "debian12") && !strings.Contains(final.from, "bookworm") {
			t.Errorf("build FROM %s, runtime FROM %s: a cgo binary needs the runtime's glibc to match the builder's (Debian 12, bookworm)", build.from, final.from)
		}
	})

	t.Run("the runtime stage runs slogate as a non-root user", func(t *testing.T) {
		users := final.find("USER")
		if len(users) == 0 {
			t.Fatal("runtime stage: no USER; the image would run as root")
		}
		u := strings.Split(users[len(users)-1].args, ":")[0]
		if u == "root" || u == "0" {
			t.Errorf("runtime stage: USER %s, want a non-root user", users[len(users)-1].args)
		}
		expose := final.find("EXPOSE")
		if len(expose) != 1 || expose[0].args != "8080" {
			t.Errorf("runtime stage: EXPOSE %+v, want 8080", expose)
		}
		eps := final.find("ENTRYPOINT")
		if len(eps) != 1 {
			t.Fatalf("runtime stage: %d ENTRYPOINTs, want 1", len(eps))
		}
		ep := execForm(t, eps[0])
		var copied bool
		for _, c := range final.find("COPY") {
			f := strings.Fields(c.args)
			if strings.Contains(c.args, "--from=") && f[len(f)-1] == ep[0] {
				copied = true
			}
		}
		if !copied {
			t.Errorf("ENTRYPOINT %v: no COPY --from puts the binary at %s", ep, ep[0])
		}
		cmds := final.find("CMD")
		if len(cmds) != 1 {
			t.Fatalf("runtime stage: %d CMDs, want 1", len(cmds))
		}
		cmd := execForm(t, cmds[0])
		if i := slices.Index(cmd, "--config"); len(cmd) == 0 || cmd[0] != "serve" || i < 0 || i+1 >= len(cmd) || cmd[i+1] != "/etc/slogate/slogate.yaml" {
			t.Errorf("CMD %v, want serve --config /etc/slogate/slogate.yaml", cmd)
		}
	})

	t.Run("the ignore file keeps out what the build does not need and nothing it does", func(t *testing.T) {
		data, err := os.ReadFile(file + ".dockerignore")
		if err != nil {
			t.Fatal(err)
		}
		var patterns []string
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				patterns = append(patterns, l)
			}
		}
		for _, p := range []string{"go.mod", "go.sum", "cmd/slogate/main.go", "ui/index.html", "ui/static/css/app.css", "budget/store/migrations/0001.sql", "slo/load.go"} {
			if pat := ignoredBy(patterns, p); pat != "" {
				t.Errorf("%s is ignored by %q, and the build needs it", p, pat)
			}
		}
		for _, p := range []string{".git/HEAD", "budget.test", ".run/slogate.db", "bin/slogate"} {
			if ignoredBy(patterns, p) == "" {
				t.Errorf("%s is sent to the build context; want it ignored", p)
			}
		}
	})
}

// ignoredBy returns the .dockerignore pattern that excludes p, or "". It
// knows the forms the file uses: plain paths and globs, a leading **/, and
// a directory excluding what is below it.
func ignoredBy(patterns []string, p string) string {
	for _, pat := range patterns {
		candidates := []string{p}
		if rest, ok := strings.CutPrefix(pat, "**/"); ok {
			pat = rest
			parts := strings.Split(p, "/")
			for i := 1; i < len(parts); i++ {
				candidates = append(candidates, strings.Join(parts[i:], "/"))
			}
		}
		for _, c := range candidates {
			for d := c; d != "." && d != ""; d = path.Dir(d) {
				if ok, _ := path.Match(pat, d); ok {
					return pat
				}
				if !strings.Contains(d, "/") {
					break
				}
			}
		}
	}
	return ""
}

type composeService struct {
	Image string
	Build *struct {
		Context    string
		Dockerfile string
	}
	Command     []string
	Ports       []string
	Volumes     []string
	DependsOn   []string          `yaml:"depends_on"`
	Environment map[string]string `yaml:"environment"`
}

type composeFile struct {
	Name     string
	Services map[string]composeService
	Volumes  map[string]any
}

const composeDir = "compose"

func readCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	readYAML(t, filepath.Join(composeDir, "compose.yaml"), &c)
	return c
}

// splitVolume splits a short-syntax volume into source, target and mode.
func splitVolume(v string) (src, dst, mode string) {
	parts := strings.Split(v, ":")
	src, dst = parts[0], parts[1]
	if len(parts) > 2 {
		mode = parts[2]
	}
	return src, dst, mode
}

func isBindMount(src string) bool { return strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") }

func TestCompose(t *testing.T) {
	c := readCompose(t)
	for _, want := range []string{"slogate", "prometheus", "alertmanager", "grafana"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no service %q", want)
		}
	}
	for name, s := range c.Services {
		if s.Image == "" {
			t.Errorf("service %s: no image", name)
		} else if p := pinned(s.Image); p != "" {
			t.Errorf("service %s: %s", name, p)
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(composeDir, s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("service %s: build: %v", name, err)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := splitVolume(v)
			if isBindMount(src) {
				if _, err := os.Stat(filepath.Join(composeDir, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %q, which volumes: does not declare", name, src)
			}
		}
		for _, d := range s.DependsOn {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("service %s depends on %q, which is not a service", name, d)
			}
		}
	}

	t.Run("slogate's config loads as mounted, with the demo, and talks to the stack", func(t *testing.T) {
		s := c.Services["slogate"]
		if !slices.Contains(s.Command, "--demo") {
			t.Errorf("command %v: want --demo, the stack's workload", s.Command)
		}
		root := t.TempDir()
		dataDir := ""
		for _, v := range s.Volumes {
			src, dst, mode := splitVolume(v)
			if isBindMount(src) {
				if mode != "ro" {
					t.Errorf("volume %s: mount config and specs read-only", v)
				}
				copyInto(t, filepath.Join(composeDir, src), filepath.Join(root, dst))
			} else {
				dataDir = dst
			}
		}
		i := slices.Index(s.Command, "--config")
		if i < 0 || i+1 >= len(s.Command) {
			t.Fatalf("command %v: no --config", s.Command)
		}
		cat, err := slo.Load(filepath.Join(root, s.Command[i+1]))
		if err != nil {
			t.Fatalf("slo.Load of the mounted config: %v", err)
		}
		cfg := cat.Config
		if dataDir == "" || !under(cfg.Storage, dataDir) {
			t.Errorf("storage %s is not on the named volume (mounted at %q): the database would be lost with the container", cfg.Storage, dataDir)
		}
		if cfg.Listen != ":8080" && cfg.Listen != "0.0.0.0:8080" {
			t.Errorf("listen %q: want :8080, reachable from the other containers", cfg.Listen)
		}
		if !slices.Contains(s.Ports, "127.0.0.1:8080:8080") {
			t.Errorf("ports %v: want 127.0.0.1:8080:8080", s.Ports)
		}
		var demo bool
		for _, sc := range cfg.Sources.Scrape {
			demo = demo || sc.URL == "http://127.0.0.1:8081/metrics"
		}
		if !demo {
			t.Error("no scrape target for the demo on 127.0.0.1:8081 (serve's --demo-listen default)")
		}
		var am bool
		for _, r := range cfg.Receivers {
			am = am || r.Type == "alertmanager" && r.URL == "http://alertmanager:9093"
		}
		if !am {
			t.Error("no alertmanager receiver at http://alertmanager:9093: the stack's Alertmanager would get no SLO alerts")
		}
		if len(cat.Services) == 0 {
			t.Error("no services loaded from the mounted specs")
		}
	})
}
