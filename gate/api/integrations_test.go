package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/monitor"
	bstore "github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/gate/store"
	"github.com/slogate/slogate/slo"
)

// The tests in this file drive the gate as Flagger and Argo Rollouts do,
// with the manifests in deploy/: a real Gate over real SQLite files and a
// monitor fed through Record, served over loopback HTTP.

// Tokens of the integration setup.
const (
	integOverrideToken = "override-secret-1"
	integReadToken     = "argo-read-secret-1"
)

// Paths of the manifests the tests read, relative to this package.
var (
	flaggerCanaryFile = filepath.Join("..", "..", "deploy", "flagger", "canary.yaml")
	argoTemplateFile  = filepath.Join("..", "..", "deploy", "argo", "analysistemplate.yaml")
	argoRolloutFile   = filepath.Join("..", "..", "deploy", "argo", "rollout.yaml")
)

// integFirstEvaluation is when the integration setup is first evaluated;
// the tests' clock is fixed, so answers do not depend on when they run.
var integFirstEvaluation = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// integration is a gate served over HTTP, judged on two evaluations:
//
//   - checkout has budget left (ship);
//   - payments has spent its budget (slow down);
//   - search has spent its budget too, but its spec sets gate.enforce false
//     (shadow mode);
//   - orders had budget left at the first evaluation and had spent it by the
//     second, three minutes later (ship, then slow down).
type integration struct {
	base string // the server's URL
	gate *Gate
	cfg  Config
	mon  *monitor.Monitor
	now  time.Time // the second evaluation, and the gate's clock
}

// newIntegration builds the setup described on integration.
func newIntegration(t testing.TB) *integration {
	t.Helper()
	ctx := context.Background()
	cat := loadIntegrationCatalog(t)

	bst, err := bstore.Open(ctx, cat.Config.Storage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bst.Close() })
	gst, err := store.Open(ctx, cat.Config.Storage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gst.Close() })
	mon, err := monitor.New(monitor.Config{Catalog: cat, Store: bst})
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.Restore(ctx, integFirstEvaluation); err != nil {
		t.Fatal(err)
	}

	t0 := integFirstEvaluation
	now := t0.Add(3 * time.Minute)
	cfg := Config{
		Catalog: cat, Monitor: mon, Store: gst, Auth: NewAuth(cat.Config.Auth),
		Now: func() time.Time { return now }, ExternalURL: cat.Config.ExternalURL,
	}
	g, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}

	// An hour of 100 events a minute before the first evaluation: none bad
	// for checkout and orders, 10% bad for payments and search, ten times
	// what a 99% objective allows.
	for _, svc := range []struct {
		name string
		bad  float64
	}{{"checkout", 0}, {"orders", 0}, {"payments", 10}, {"search", 10}} {
		recordEvents(t, mon, svc.name, t0.Add(-time.Hour), t0, 100, svc.bad)
	}
	g.Update(mon.Evaluate(t0))
	// Then two minutes of nothing but errors for orders.
	recordEvents(t, mon, "orders", t0, t0.Add(2*time.Minute), 100, 100)
	g.Update(mon.Evaluate(now))

	return &integration{base: integServe(t, g), gate: g, cfg: cfg, mon: mon, now: now}
}

// loadIntegrationCatalog writes the setup's config and specs to a temporary
// directory and loads them as serve does.
func loadIntegrationCatalog(t testing.TB) *slo.Catalog {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "specs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []struct{ name, gate string }{
		{"checkout", ""}, {"payments", ""}, {"orders", ""}, {"search", "gate: {enforce: false}\n"},
	} {
		spec := fmt.Sprintf("name: %s\nowner: {team: shop}\n%sslos:\n  - name: availability\n    objective: 99\n    window: 7d\n    sli: {push: {}}\n",
			svc.name, svc.gate)
		if err := os.WriteFile(filepath.Join(dir, "specs", svc.name+".yaml"), []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := fmt.Sprintf(`storage: data/slogate.db
specs: [specs]
externalURL: https://slogate.example.com
auth:
  tokens:
    - {name: oncall, sha256: %s, scopes: [gate:override]}
    - {name: argo-rollouts, sha256: %s, scopes: [read]}
`, HashToken(integOverrideToken), HashToken(integReadToken))
	path := filepath.Join(dir, "slogate.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := slo.Load(path)
	if err != nil {
		t.Fatalf("load the integration config: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(cat.Config.Storage), 0o755); err != nil {
		t.Fatal(err)
	}
	return cat
}

// recordEvents records total events a minute, bad of them bad, for the
// service's availability SLO over [from, to).
func recordEvents(t testing.TB, mon *monitor.Monitor, service string, from, to time.Time, total, bad float64) {
	t.Helper()
	var adds []monitor.Add
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		adds = append(adds, monitor.Add{
			SLO: monitor.Key(service, "availability"), Minute: budget.MinuteOf(m),
			Counts: budget.Counts{Good: total - bad, Total: total},
		})
	}
	if err := mon.Record(context.Background(), adds, nil); err != nil {
		t.Fatalf("record events of %s: %v", service, err)
	}
}

// integServe serves g's routes under /api/v1 on a loopback server and
// returns its URL. Errors are written as {"error": message}, as slogate's
// server does (the gate cannot import ui/api's handler).
func integServe(t testing.TB, g *Gate) string {
	t.Helper()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, msg := http.StatusInternalServerError, "internal error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status, msg = he.Code, http.StatusText(he.Code)
			if m, ok := he.Message.(string); ok && m != "" {
				msg = m
			}
		} else {
			t.Logf("%s %s failed: %v", c.Request().Method, c.Request().URL, err)
		}
		_ = c.JSON(status, map[string]string{"error": msg})
	}
	g.Register(e.Group("/api/v1"))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// integSend makes a request and returns the status, the response headers
// and the body decoded as a JSON object.
func integSend(t *testing.T, method, target string, header http.Header, body []byte) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object", method, target, data)
	}
	return resp.StatusCode, resp.Header, m
}

// answerReasons returns an answer's reasons joined by "; ".
func answerReasons(answer map[string]any) string {
	rs, _ := answer["reasons"].([]any)
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprint(r))
	}
	return strings.Join(out, "; ")
}

// flaggerCanary is the part of a Flagger Canary that the gate depends on.
type flaggerCanary struct {
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Analysis struct {
			Webhooks []flaggerHook `yaml:"webhooks"`
		} `yaml:"analysis"`
	} `yaml:"spec"`
}

type flaggerHook struct {
	Name     string            `yaml:"name"`
	Type     string            `yaml:"type"`
	URL      string            `yaml:"url"`
	Metadata map[string]string `yaml:"metadata"`
}

// slogateHooks reads deploy/flagger's Canary and returns it with its
// webhooks that call the gate.
func slogateHooks(t *testing.T) (*flaggerCanary, []flaggerHook) {
	t.Helper()
	data, err := os.ReadFile(flaggerCanaryFile)
	if err != nil {
		t.Fatal(err)
	}
	var c flaggerCanary
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", flaggerCanaryFile, err)
	}
	var hooks []flaggerHook
	var types []string
	for _, h := range c.Spec.Analysis.Webhooks {
		if u, err := url.Parse(h.URL); err == nil && u.Path == "/api/v1/hooks/flagger" {
			hooks = append(hooks, h)
			types = append(types, h.Type)
		}
	}
	if want := []string{"pre-rollout", "confirm-promotion"}; !slices.Equal(types, want) {
		t.Fatalf("%s: webhooks calling /api/v1/hooks/flagger have types %v, want %v", flaggerCanaryFile, types, want)
	}
	return &c, hooks
}

// flaggerBody is the body Flagger posts to a webhook, as its documentation
// shows it: name, namespace, phase, checksum and the hook's metadata.
func flaggerBody(t *testing.T, c *flaggerCanary, metadata map[string]string, extra map[string]any) []byte {
	t.Helper()
	body := map[string]any{
		"name": c.Metadata.Name, "namespace": c.Metadata.Namespace, "phase": "Progressing",
		"checksum": "85d557f47b", "metadata": metadata,
	}
	maps.Copy(body, extra)
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// integPostFlagger posts the webhook h of canary c to the gate at base, with the
// hook's metadata changed by set (a value "-" deletes the key).
func integPostFlagger(t *testing.T, base string, c *flaggerCanary, h flaggerHook, set map[string]string, extra map[string]any) (int, map[string]any) {
	t.Helper()
	md := maps.Clone(h.Metadata)
	for k, v := range set {
		if v == "-" {
			delete(md, k)
		} else {
			md[k] = v
		}
	}
	u, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Flagger sends JSON without saying so in a Content-Type header.
	status, _, answer := integSend(t, http.MethodPost, base+u.Path, nil, flaggerBody(t, c, md, extra))
	return status, answer
}

func TestFlaggerWebhook(t *testing.T) {
	it := newIntegration(t)
	canary, hooks := slogateHooks(t)
	cases := []struct {
		name     string
		set      map[string]string // changes to the manifest's metadata
		extra    map[string]any    // fields added to Flagger's body
		status   int
		decision string // the answer's decision; "" for an error
		contains string // in the reasons, or in the error
	}{
		{name: "a service with budget left proceeds", status: 200, decision: "ship"},
		{name: "a feature halts while the budget is spent, with the reasons in the body",
			set:    map[string]string{"service": "payments", "message": "feat(cart): one-click checkout"},
			status: 403, decision: "slow_down", contains: "availability has spent 1000% of its 7d budget"},
		{name: "a change of unknown type halts while the budget is spent",
			set: map[string]string{"service": "payments"}, status: 403, decision: "slow_down", contains: "availability"},
		{name: "a fix given as change_type proceeds during a slow-down",
			set: map[string]string{"service": "payments", "change_type": "fix"}, status: 200, decision: "slow_down"},
		{name: "a fix commit message proceeds during a slow-down",
			set:    map[string]string{"service": "payments", "message": "fix(cart): round totals half-even"},
			status: 200, decision: "slow_down"},
		{name: "a git revert proceeds during a slow-down",
			set:    map[string]string{"service": "payments", "message": "Revert \"feat(cart): one-click checkout\"\n\nThis reverts commit 3f2c1a9."},
			status: 200, decision: "slow_down"},
		{name: "a breaking fix halts during a slow-down",
			set:    map[string]string{"service": "payments", "message": "fix(api)!: drop the v1 cart endpoint"},
			status: 403, decision: "slow_down", contains: "availability"},
		{name: "an environment that is not gated proceeds during a slow-down",
			set: map[string]string{"service": "payments", "env": "staging"}, status: 200, decision: "ship"},
		{name: "a service in shadow mode proceeds though it would slow down",
			set: map[string]string{"service": "search"}, status: 200, decision: "slow_down", contains: "availability"},
		{name: "an unknown service halts, and the error names the closest",
			set: map[string]string{"service": "chekout"}, status: 404, contains: `did you mean "checkout"`},
		{name: "a malformed environment halts, and the error names the field",
			set: map[string]string{"env": "Prod uction"}, status: 400, contains: "env:"},
		{name: "without metadata the canary's name is the service",
			set: map[string]string{"service": "-", "env": "-", "change_type": "-", "message": "-", "version": "-"}, status: 200, decision: "ship"},
		{name: "fields Flagger may add to its body are ignored",
			extra: map[string]any{"type": "pre-rollout", "annotations": map[string]string{"a": "b"}}, status: 200, decision: "ship"},
	}
	for _, h := range hooks {
		for _, c := range cases {
			t.Run(h.Type+": "+c.name, func(t *testing.T) {
				status, answer := integPostFlagger(t, it.base, canary, h, c.set, c.extra)
				got := answerReasons(answer)
				if c.decision == "" {
					got, _ = answer["error"].(string)
				}
				if status != c.status || answer["decision"] != jsonOrNil(c.decision) || !strings.Contains(got, c.contains) {
					t.Fatalf("got %d, decision %v, %q; want %d, decision %q, mentioning %q (answer %v)",
						status, answer["decision"], got, c.status, c.decision, c.contains, answer)
				}
				// Flagger proceeds on 2xx only: the answer's allowed must agree.
				if c.decision != "" && answer["allowed"] != (status == 200) {
					t.Errorf("got allowed %v with status %d; want allowed exactly when 200", answer["allowed"], status)
				}
			})
		}
	}
}

// jsonOrNil returns s, or nil for "" (as a missing JSON field decodes).
func jsonOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestFlaggerWebhookOverride(t *testing.T) {
	it := newIntegration(t)
	canary, hooks := slogateHooks(t)
	feat := map[string]string{"service": "payments", "message": "feat(cart): one-click checkout"}
	auth := http.Header{"Authorization": {"Bearer " + integOverrideToken}, "Content-Type": {"application/json"}}

	status, _, o := integSend(t, http.MethodPost, it.base+"/api/v1/gate/payments/overrides", auth,
		[]byte(`{"reason":"INC-4711: the checkout fix needs the new cart flag","by":"alice","env":"production","duration":"30m"}`))
	if status != http.StatusCreated {
		t.Fatalf("create override: got %d %v, want 201", status, o)
	}
	id := int64(o["id"].(float64))

	status, answer := integPostFlagger(t, it.base, canary, hooks[0], feat, nil)
	ov, _ := answer["override"].(map[string]any)
	if status != 200 || answer["decision"] != "slow_down" || ov["by"] != "alice" {
		t.Fatalf("with an override: got %d, decision %v, override %v; want 200, slow_down, the override by alice", status, answer["decision"], ov)
	}

	status, _, ended := integSend(t, http.MethodDelete, fmt.Sprintf("%s/api/v1/gate/payments/overrides/%d", it.base, id), auth, nil)
	if status != 200 || ended["ended_at"] == nil {
		t.Fatalf("end override: got %d %v, want 200 with ended_at", status, ended)
	}
	if status, answer := integPostFlagger(t, it.base, canary, hooks[0], feat, nil); status != 403 {
		t.Fatalf("after the override ended: got %d %v, want 403", status, answer)
	}

	status, _, audit := integSend(t, http.MethodGet, it.base+"/api/v1/audit?service=payments", nil, nil)
	var actions []string
	entries, _ := audit["entries"].([]any)
	for _, e := range entries {
		actions = append(actions, fmt.Sprint(e.(map[string]any)["action"], " by ", e.(map[string]any)["actor"]))
	}
	if want := []string{"override.end by oncall", "override.create by oncall"}; status != 200 || !slices.Equal(actions, want) {
		t.Fatalf("audit: got %d %v, want %v", status, actions, want)
	}
}

func TestFlaggerWebhookBeforeFirstEvaluation(t *testing.T) {
	it := newIntegration(t)
	canary, hooks := slogateHooks(t)
	fresh, err := New(context.Background(), it.cfg) // no Update yet
	if err != nil {
		t.Fatal(err)
	}
	base := integServe(t, fresh)
	u, _ := url.Parse(hooks[0].URL)
	status, header, answer := integSend(t, http.MethodPost, base+u.Path, nil, flaggerBody(t, canary, hooks[0].Metadata, nil))
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
		t.Fatalf("got %d, Retry-After %q, %v; want 503 with Retry-After, which halts the canary until a later try",
			status, header.Get("Retry-After"), answer)
	}
}

// analysisTemplate is an Argo Rollouts AnalysisTemplate, as far as
// deploy/argo's templates use it. Decoding is strict, so a misspelt field
// in a template fails the test rather than being dropped.
type analysisTemplate struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Args    []analysisArg    `yaml:"args"`
		Metrics []analysisMetric `yaml:"metrics"`
	} `yaml:"spec"`
}

type analysisArg struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type analysisMetric struct {
	Name                  string `yaml:"name"`
	Count                 int    `yaml:"count"`
	FailureLimit          int    `yaml:"failureLimit"`
	InconclusiveLimit     int    `yaml:"inconclusiveLimit"`
	ConsecutiveErrorLimit int    `yaml:"consecutiveErrorLimit"`
	SuccessCondition      string `yaml:"successCondition"`
	FailureCondition      string `yaml:"failureCondition"`
	Provider              struct {
		Web *struct {
			Method         string `yaml:"method"`
			URL            string `yaml:"url"`
			TimeoutSeconds int    `yaml:"timeoutSeconds"`
			Headers        []struct {
				Key   string `yaml:"key"`
				Value string `yaml:"value"`
			} `yaml:"headers"`
			JSONPath string `yaml:"jsonPath"`
		} `yaml:"web"`
	} `yaml:"provider"`
}

// readAnalysisTemplates decodes every document of deploy/argo's template
// file.
func readAnalysisTemplates(t *testing.T) map[string]*analysisTemplate {
	t.Helper()
	f, err := os.Open(argoTemplateFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	out := map[string]*analysisTemplate{}
	for {
		var at analysisTemplate
		if err := dec.Decode(&at); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", argoTemplateFile, err)
		}
		if at.APIVersion != "argoproj.io/v1alpha1" || at.Kind != "AnalysisTemplate" || len(at.Spec.Metrics) != 1 ||
			at.Spec.Metrics[0].Provider.Web == nil {
			t.Fatalf("%s: %s/%s %q is not an AnalysisTemplate with one web metric", argoTemplateFile, at.APIVersion, at.Kind, at.Metadata.Name)
		}
		out[at.Metadata.Name] = &at
	}
	return out
}

// argPlaceholder is how templates refer to arguments; Argo accepts spaces
// inside the braces.
var argPlaceholder = regexp.MustCompile(`\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}`)

// argoResolveArgs returns the template's arguments as Argo resolves them for
// an AnalysisRun: the values given (by a Rollout) over the template's
// defaults, and secrets from secrets["<secret>/<key>"]. A required argument
// left without a value is an error, as in Argo.
func argoResolveArgs(t *testing.T, at *analysisTemplate, given, secrets map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range at.Spec.Args {
		switch v, ok := given[a.Name]; {
		case ok:
			out[a.Name] = v
		case a.Value != nil:
			out[a.Name] = *a.Value
		case a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil:
			ref := a.ValueFrom.SecretKeyRef
			s, ok := secrets[ref.Name+"/"+ref.Key]
			if !ok {
				t.Fatalf("template %s: arg %s reads secret %s key %s, which the test does not supply", at.Metadata.Name, a.Name, ref.Name, ref.Key)
			}
			out[a.Name] = s
		default:
			t.Fatalf("template %s: args.%s was not resolved: the Rollout must give it", at.Metadata.Name, a.Name)
		}
	}
	for k := range given {
		if _, ok := out[k]; !ok {
			t.Fatalf("template %s has no argument %s", at.Metadata.Name, k)
		}
	}
	return out
}

// argoSubstitute replaces {{args.NAME}} in s with the argument's value.
func argoSubstitute(t *testing.T, s string, args map[string]string) string {
	t.Helper()
	return argPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		name := argPlaceholder.FindStringSubmatch(m)[1]
		v, ok := args[name]
		if !ok {
			t.Fatalf("%q refers to args.%s, which the template does not declare", s, name)
		}
		return v
	})
}

// Phases of an Argo Rollouts measurement.
const (
	phaseSuccessful   = "Successful"
	phaseFailed       = "Failed"
	phaseInconclusive = "Inconclusive"
	phaseError        = "Error"
)

// argoMeasure takes the template's one measurement against the gate as Argo's
// web provider does: the request the template describes; a non-2xx answer
// is an Error; jsonPath picks the result from the JSON answer, and the
// conditions decide the phase. It returns the phase and the result.
func argoMeasure(t *testing.T, at *analysisTemplate, args map[string]string) (string, any) {
	t.Helper()
	m := at.Spec.Metrics[0]
	web := m.Provider.Web
	method := cmp.Or(web.Method, http.MethodGet)
	req, err := http.NewRequest(method, argoSubstitute(t, web.URL, args), nil)
	if err != nil {
		t.Fatalf("template %s: %v", at.Metadata.Name, err)
	}
	for _, h := range web.Headers {
		req.Header.Set(h.Key, argoSubstitute(t, h.Value, args))
	}
	timeout := 10 * time.Second // Argo's default
	if web.TimeoutSeconds > 0 {
		timeout = time.Duration(web.TimeoutSeconds) * time.Second
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return phaseError, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return phaseError, err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return phaseError, fmt.Sprintf("received non 2xx response code: %d: %s", resp.StatusCode, data)
	}
	var body any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("template %s: the answer %q is not JSON", at.Metadata.Name, data)
	}
	result, ok := argoJSONPath(t, web.JSONPath, body)
	if !ok {
		return phaseError, "could not find JSONPath " + web.JSONPath + " in the answer"
	}
	return argoEvaluateResult(t, result, m.SuccessCondition, m.FailureCondition), result
}

// argoJSONPath evaluates a Kubernetes JSONPath of the simple form
// {$.field.field} on a decoded JSON value.
func argoJSONPath(t *testing.T, path string, v any) (any, bool) {
	t.Helper()
	inner, ok := strings.CutPrefix(path, "{$")
	inner, ok2 := strings.CutSuffix(inner, "}")
	if !ok || !ok2 || (inner != "" && !strings.HasPrefix(inner, ".")) {
		t.Fatalf("jsonPath %q: this test evaluates only {$.a.b} paths", path)
	}
	for _, f := range strings.Split(strings.TrimPrefix(inner, "."), ".") {
		if f == "" {
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[f]; !ok {
			return nil, false
		}
	}
	return v, true
}

// argoEvaluateResult decides a measurement's phase from its conditions as Argo
// Rollouts does: a failure condition that holds fails; without a failure
// condition a success condition that does not hold fails, and without a
// success condition a failure condition that does not hold succeeds;
// neither condition holding is inconclusive.
func argoEvaluateResult(t *testing.T, result any, success, failure string) string {
	t.Helper()
	ok := success != "" && argoCondition(t, success, result)
	failed := failure != "" && argoCondition(t, failure, result)
	switch {
	case success == "" && failure == "":
		return phaseSuccessful
	case failure == "":
		failed = !ok
	case success == "":
		ok = !failed
	}
	switch {
	case failed:
		return phaseFailed
	case !ok:
		return phaseInconclusive
	}
	return phaseSuccessful
}

// argoCondition evaluates the few expressions the templates use; any other
// fails the test, so a template cannot drift from what is tested.
func argoCondition(t *testing.T, expr string, result any) bool {
	t.Helper()
	switch strings.Join(strings.Fields(expr), " ") {
	case "result == true":
		return result == true
	case "result == false":
		return result == false
	case "true":
		return true
	case "false":
		return false
	}
	t.Fatalf("condition %q: this test evaluates only result == true|false, true and false", expr)
	return false
}

func TestArgoAnalysisTemplate(t *testing.T) {
	it := newIntegration(t)
	templates := readAnalysisTemplates(t)
	secrets := map[string]string{"slogate-token/token": integReadToken}
	cases := []struct {
		name string
		args map[string]string
		want map[string]string // phase by template
	}{
		{"a service with budget left succeeds",
			map[string]string{"service": "checkout"},
			map[string]string{"slogate-gate": phaseSuccessful, "slogate-gate-pause": phaseSuccessful}},
		{"a spent budget fails the analysis, or leaves it inconclusive to pause",
			map[string]string{"service": "payments", "change-type": "feat"},
			map[string]string{"slogate-gate": phaseFailed, "slogate-gate-pause": phaseInconclusive}},
		{"a change of unknown type is held back like a feature",
			map[string]string{"service": "payments"},
			map[string]string{"slogate-gate": phaseFailed, "slogate-gate-pause": phaseInconclusive}},
		{"a fix succeeds during a slow-down",
			map[string]string{"service": "payments", "change-type": "fix", "version": "6d4f8b9c7d"},
			map[string]string{"slogate-gate": phaseSuccessful, "slogate-gate-pause": phaseSuccessful}},
		{"a service in shadow mode succeeds though it would slow down",
			map[string]string{"service": "search"},
			map[string]string{"slogate-gate": phaseSuccessful, "slogate-gate-pause": phaseSuccessful}},
		{"an environment that is not gated succeeds during a slow-down",
			map[string]string{"service": "payments", "env": "staging"},
			map[string]string{"slogate-gate": phaseSuccessful, "slogate-gate-pause": phaseSuccessful}},
		{"a service that has spent its budget since the last evaluation fails",
			map[string]string{"service": "orders"},
			map[string]string{"slogate-gate": phaseFailed, "slogate-gate-pause": phaseInconclusive}},
		{"an unknown service is a measurement error",
			map[string]string{"service": "chekout"},
			map[string]string{"slogate-gate": phaseError, "slogate-gate-pause": phaseError}},
		{"a malformed environment is a measurement error",
			map[string]string{"service": "checkout", "env": "Production"},
			map[string]string{"slogate-gate": phaseError, "slogate-gate-pause": phaseError}},
	}
	if got := slices.Sorted(maps.Keys(templates)); !slices.Equal(got, []string{"slogate-gate", "slogate-gate-pause"}) {
		t.Fatalf("%s holds templates %v, want slogate-gate and slogate-gate-pause", argoTemplateFile, got)
	}
	for _, c := range cases {
		for _, name := range slices.Sorted(maps.Keys(c.want)) {
			t.Run(name+": "+c.name, func(t *testing.T) {
				at := templates[name]
				given := maps.Clone(c.args)
				given["slogate-url"] = it.base // as a Rollout pointing at this server would
				phase, result := argoMeasure(t, at, argoResolveArgs(t, at, given, secrets))
				if phase != c.want[name] {
					t.Fatalf("got %s (result %v), want %s", phase, result, c.want[name])
				}
			})
		}
	}
}

func TestArgoAnalysisTemplatePolicy(t *testing.T) {
	templates := readAnalysisTemplates(t)
	for _, name := range slices.Sorted(maps.Keys(templates)) {
		t.Run(name+" asks once, fails on the first refusal and gives up after three errors in a row", func(t *testing.T) {
			m := templates[name].Spec.Metrics[0]
			got := fmt.Sprintf("count %d, failureLimit %d, inconclusiveLimit %d, consecutiveErrorLimit %d, jsonPath %s, success %q",
				m.Count, m.FailureLimit, m.InconclusiveLimit, m.ConsecutiveErrorLimit, m.Provider.Web.JSONPath, m.SuccessCondition)
			want := `count 1, failureLimit 0, inconclusiveLimit 0, consecutiveErrorLimit 3, jsonPath {$.allowed}, success "result == true"`
			if got != want {
				t.Fatalf("got %s\nwant %s", got, want)
			}
		})
	}
}

func TestArgoAnalysisTemplateWhenReadsNeedAToken(t *testing.T) {
	it := newIntegration(t)
	templates := readAnalysisTemplates(t)
	canary, hooks := slogateHooks(t)
	cfg := it.cfg
	cfg.Auth = NewAuth(slo.Auth{Tokens: it.cfg.Catalog.Config.Auth.Tokens, ReadsNeedToken: true})
	locked, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	locked.Update(it.mon.Snapshot())
	base := integServe(t, locked)
	at := templates["slogate-gate"]
	given := map[string]string{"service": "checkout", "slogate-url": base}

	cases := []struct {
		name  string
		token string
		want  string
	}{
		{"the template's bearer header with a read token succeeds", integReadToken, phaseSuccessful},
		{"a token that is not configured is a measurement error", "not-a-token", phaseError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := argoResolveArgs(t, at, given, map[string]string{"slogate-token/token": c.token})
			if phase, result := argoMeasure(t, at, args); phase != c.want {
				t.Fatalf("got %s (%v), want %s", phase, result, c.want)
			}
		})
	}
	t.Run("Flagger without a token in its metadata is refused and so halts", func(t *testing.T) {
		if status, answer := integPostFlagger(t, base, canary, hooks[0], nil, nil); status != http.StatusUnauthorized {
			t.Fatalf("got %d %v, want 401", status, answer)
		}
	})
	t.Run("Flagger with a read token in its metadata is answered", func(t *testing.T) {
		md := map[string]string{"token": integReadToken}
		if status, answer := integPostFlagger(t, base, canary, hooks[0], md, nil); status != http.StatusOK {
			t.Fatalf("got %d %v, want 200", status, answer)
		}
	})
}

func TestArgoRolloutExample(t *testing.T) {
	templates := readAnalysisTemplates(t)
	data, err := os.ReadFile(argoRolloutFile)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Strategy struct {
				Canary struct {
					Steps []struct {
						Analysis *struct {
							Templates []struct {
								TemplateName string `yaml:"templateName"`
							} `yaml:"templates"`
							Args []struct {
								Name      string         `yaml:"name"`
								Value     *string        `yaml:"value"`
								ValueFrom map[string]any `yaml:"valueFrom"`
							} `yaml:"args"`
						} `yaml:"analysis"`
					} `yaml:"steps"`
				} `yaml:"canary"`
			} `yaml:"strategy"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", argoRolloutFile, err)
	}
	steps := r.Spec.Strategy.Canary.Steps
	if r.Kind != "Rollout" || len(steps) == 0 || steps[0].Analysis == nil {
		t.Fatalf("%s: got kind %q with %d steps; want a Rollout whose first step is the gate's analysis", argoRolloutFile, r.Kind, len(steps))
	}
	a := steps[0].Analysis
	given := map[string]bool{}
	for _, arg := range a.Args {
		given[arg.Name] = arg.Value != nil || len(arg.ValueFrom) > 0
	}
	for _, ref := range a.Templates {
		t.Run("the first step's template "+ref.TemplateName+" exists and gets its required arguments", func(t *testing.T) {
			at := templates[ref.TemplateName]
			if at == nil {
				t.Fatalf("got no template %q in %s", ref.TemplateName, argoTemplateFile)
			}
			for _, arg := range at.Spec.Args {
				if arg.Value == nil && arg.ValueFrom == nil && !given[arg.Name] {
					t.Errorf("required argument %s: got no value in %s", arg.Name, argoRolloutFile)
				}
			}
			for name := range given {
				if !slices.ContainsFunc(at.Spec.Args, func(x analysisArg) bool { return x.Name == name }) {
					t.Errorf("argument %s: given in %s but not declared by %s", name, argoRolloutFile, ref.TemplateName)
				}
			}
		})
	}
}

func TestGateAnswersEnforcedAndInShadowMode(t *testing.T) {
	it := newIntegration(t)
	cases := []struct {
		name                         string
		path                         string
		decision                     string
		allowed, wouldBlock, enforce bool
	}{
		{"a service with budget left ships", "/api/v1/gate/checkout?change_type=feat", "ship", true, false, true},
		{"an enforced slow-down blocks a feature", "/api/v1/gate/payments?change_type=feat", "slow_down", false, true, true},
		{"an enforced slow-down lets a fix through", "/api/v1/gate/payments?change_type=fix", "slow_down", true, false, true},
		{"shadow mode allows a feature but says it would block", "/api/v1/gate/search?change_type=feat", "slow_down", true, true, false},
		{"shadow mode lets a fix through without a block", "/api/v1/gate/search?change_type=fix", "slow_down", true, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, a := integSend(t, http.MethodGet, it.base+c.path, nil, nil)
			got := fmt.Sprintf("%d %v allowed=%v would_block=%v enforced=%v", status, a["decision"], a["allowed"], a["would_block"], a["enforced"])
			want := fmt.Sprintf("200 %s allowed=%v would_block=%v enforced=%v", c.decision, c.allowed, c.wouldBlock, c.enforce)
			if got != want {
				t.Fatalf("got %s, want %s (answer %v)", got, want, a)
			}
			if c.decision == "slow_down" && !strings.Contains(answerReasons(a), "availability has spent") {
				t.Errorf("got reasons %q, want the SLO named with its numbers", answerReasons(a))
			}
		})
	}
}

func TestGateDecisionHistory(t *testing.T) {
	it := newIntegration(t)
	type change struct{ at, from, to, reasons string }
	cases := []struct {
		name    string
		service string
		want    []change // latest first; reasons is a substring of them
	}{
		{"a service that went from ship to slow down lists both changes with the reasons", "orders", []change{
			{it.now.Format(time.RFC3339), "ship", "slow_down", "availability has spent"},
			{integFirstEvaluation.Format(time.RFC3339), "unknown", "ship", ""},
		}},
		{"a service that has shipped all along lists its first decision only", "checkout", []change{
			{integFirstEvaluation.Format(time.RFC3339), "unknown", "ship", ""},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := integSend(t, http.MethodGet, it.base+"/api/v1/gate/"+c.service+"/history", nil, nil)
			entries, _ := body["history"].([]any)
			var got []change
			for _, e := range entries {
				m := e.(map[string]any)
				got = append(got, change{fmt.Sprint(m["at"]), fmt.Sprint(m["from"]), fmt.Sprint(m["to"]), answerReasons(m)})
			}
			ok := status == 200 && body["service"] == c.service && len(got) == len(c.want)
			for i := 0; ok && i < len(got); i++ {
				w := c.want[i]
				ok = got[i].at == w.at && got[i].from == w.from && got[i].to == w.to && strings.Contains(got[i].reasons, w.reasons)
				if w.reasons == "" {
					ok = ok && got[i].reasons == ""
				}
			}
			if !ok {
				t.Fatalf("got %d %+v, want 200 %+v", status, got, c.want)
			}
		})
	}
	t.Run("an unknown service's history is a 404 naming the closest", func(t *testing.T) {
		status, _, body := integSend(t, http.MethodGet, it.base+"/api/v1/gate/order/history", nil, nil)
		if msg, _ := body["error"].(string); status != 404 || !strings.Contains(msg, `did you mean "orders"`) {
			t.Fatalf("got %d %q, want 404 suggesting orders", status, msg)
		}
	})
}
