package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gateapi "github.com/slogate/slogate/gate/api"
)

// apiRequest sends body with content type ctype and an optional token and
// returns the status and the decoded body (nil when empty).
func apiRequest(t *testing.T, method, url, token, ctype, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if len(data) == 0 {
		return resp.StatusCode, nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object", method, url, data)
	}
	return resp.StatusCode, m
}

func TestSpecAPIManagesServicesThatSurviveRestarts(t *testing.T) {
	const specToken, readToken, dataToken = "spec-token", "read-token", "data-token"
	files := setupFiles("")
	files["slogate.yaml"] += fmt.Sprintf(`auth:
  tokens:
    - {name: team-payments, sha256: %s, scopes: [spec:write]}
    - {name: reader, sha256: %s, scopes: [read]}
    - {name: team-data, sha256: %s, scopes: [spec:write], teams: [data]}
`, gateapi.HashToken(specToken), gateapi.HashToken(readToken), gateapi.HashToken(dataToken))
	config := filepath.Join(writeFiles(t, files), "slogate.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, config)
	url := base + "/api/v1/specs/checkout"

	t.Run("a PUT without a token is a 401", func(t *testing.T) {
		if code, body := apiRequest(t, http.MethodPut, url, "", "application/yaml", checkoutSpec); code != http.StatusUnauthorized {
			t.Fatalf("got %d %v, want 401", code, body)
		}
	})

	t.Run("a PUT with a token lacking spec:write is a 403", func(t *testing.T) {
		if code, body := apiRequest(t, http.MethodPut, url, readToken, "application/yaml", checkoutSpec); code != http.StatusForbidden {
			t.Fatalf("got %d %v, want 403", code, body)
		}
	})

	t.Run("a broken spec is a 400 naming api:checkout, line and field", func(t *testing.T) {
		broken := strings.Replace(checkoutSpec, "objective: 99", "objective: 150", 1)
		code, body := apiRequest(t, http.MethodPut, url, specToken, "application/yaml", broken)
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["problems"]), "api:checkout:5: slos[0].objective:") {
			t.Fatalf("got %d %v, want 400 with api:checkout:5: slos[0].objective: ...", code, body)
		}
		if strings.Contains(servicesBody(t, base), `"checkout"`) {
			t.Fatal("the refused spec is served")
		}
	})

	t.Run("a spec whose name is not the URL's is a 400", func(t *testing.T) {
		code, body := apiRequest(t, http.MethodPut, base+"/api/v1/specs/payments", specToken, "application/yaml", checkoutSpec)
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["problems"]), "name") {
			t.Fatalf("got %d %v, want 400 naming the name", code, body)
		}
	})

	t.Run("a file-defined service is a 409 naming the file", func(t *testing.T) {
		spec := strings.Replace(checkoutSpec, "name: checkout", "name: export", 1)
		code, body := apiRequest(t, http.MethodPut, base+"/api/v1/specs/export", specToken, "application/yaml", spec)
		if code != http.StatusConflict || !strings.Contains(fmt.Sprint(body["error"]), filepath.Join("specs", "export.yaml")) {
			t.Fatalf("got %d %v, want 409 naming specs/export.yaml", code, body)
		}
		code, body = apiRequest(t, http.MethodDelete, base+"/api/v1/specs/export", specToken, "", "")
		if code != http.StatusConflict {
			t.Fatalf("DELETE: got %d %v, want 409", code, body)
		}
	})

	t.Run("POST /specs/validate checks without applying", func(t *testing.T) {
		code, body := apiRequest(t, http.MethodPost, base+"/api/v1/specs/validate", "", "application/yaml", checkoutSpec)
		if code != http.StatusOK || body["valid"] != true {
			t.Fatalf("got %d %v, want 200 valid", code, body)
		}
		broken := strings.Replace(checkoutSpec, "window: 7d", "window: 7x", 1)
		if code, body := apiRequest(t, http.MethodPost, base+"/api/v1/specs/validate", "", "application/yaml", broken); code != http.StatusBadRequest {
			t.Fatalf("broken: got %d %v, want 400", code, body)
		}
		if strings.Contains(servicesBody(t, base), `"checkout"`) {
			t.Fatal("a validated spec is served")
		}
	})

	t.Run("POST /specs/validate checks a file's service in the file's place", func(t *testing.T) {
		spec := strings.Replace(checkoutSpec, "name: checkout", "name: export", 1)
		code, body := apiRequest(t, http.MethodPost, base+"/api/v1/specs/validate", "", "application/yaml", spec)
		if code != http.StatusOK || body["valid"] != true ||
			!strings.Contains(fmt.Sprint(body["notices"]), "the owner changes from team data to team payments") {
			t.Fatalf("got %d %v, want 200 valid, with a notice that another team owns export", code, body)
		}
		broken := strings.Replace(spec, "objective: 99", "objective: 150", 1)
		code, body = apiRequest(t, http.MethodPost, base+"/api/v1/specs/validate", "", "application/yaml", broken)
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["problems"]), "api:export:5: slos[0].objective:") {
			t.Fatalf("got %d %v, want 400 with api:export:5: slos[0].objective: ...", code, body)
		}
	})

	t.Run("a PUT creates the service, served within 5s", func(t *testing.T) {
		code, body := apiRequest(t, http.MethodPut, url, specToken, "application/yaml", checkoutSpec)
		if code != http.StatusCreated || body["source"] != "api" || body["updatedBy"] != "team-payments" {
			t.Fatalf("got %d %v, want 201 from the api by team-payments", code, body)
		}
		waitFor(t, 5*time.Second, "checkout in /api/v1/services", func() bool {
			return strings.Contains(servicesBody(t, base), `"checkout"`)
		})
	})

	t.Run("a token limited to team data cannot change payments' spec or take it over", func(t *testing.T) {
		code, body := apiRequest(t, http.MethodPut, url, dataToken, "application/yaml", strings.Replace(checkoutSpec, "payments", "data", 1))
		if code != http.StatusForbidden || !strings.Contains(fmt.Sprint(body["error"]), "team payments owns the service") {
			t.Fatalf("got %d %v, want 403 saying payments owns checkout", code, body)
		}
		code, body = apiRequest(t, http.MethodPut, base+"/api/v1/specs/billing", dataToken, "application/yaml",
			strings.Replace(checkoutSpec, "name: checkout", "name: billing", 1))
		if code != http.StatusForbidden || !strings.Contains(fmt.Sprint(body["error"]), "give billing to team payments") {
			t.Fatalf("a new service for another team: got %d %v, want 403", code, body)
		}
		if code, body := apiRequest(t, http.MethodDelete, url, dataToken, "", ""); code != http.StatusForbidden {
			t.Fatalf("DELETE: got %d %v, want 403", code, body)
		}
		data := strings.Replace(strings.Replace(checkoutSpec, "name: checkout", "name: billing", 1), "payments", "data", 1)
		if code, body := apiRequest(t, http.MethodPut, base+"/api/v1/specs/billing", dataToken, "application/yaml", data); code != http.StatusCreated {
			t.Fatalf("its own team's service: got %d %v, want 201", code, body)
		}
		if code, body := apiRequest(t, http.MethodDelete, base+"/api/v1/specs/billing", dataToken, "", ""); code != http.StatusNoContent {
			t.Fatalf("DELETE of its own team's service: got %d %v, want 204", code, body)
		}
	})

	t.Run("a PUT of JSON replaces it", func(t *testing.T) {
		spec := `{"name": "checkout", "owner": {"team": "payments"},
 "slos": [{"name": "availability", "objective": 99.5, "window": "7d", "sli": {"push": {}}}]}`
		code, body := apiRequest(t, http.MethodPut, url, specToken, "application/json", spec)
		if code != http.StatusOK || !strings.Contains(fmt.Sprint(body["spec"]), "objective: 99.5") {
			t.Fatalf("got %d %v, want 200 with objective 99.5", code, body)
		}
	})

	t.Run("the history has who, when, from where and the diff", func(t *testing.T) {
		h := specHistory(t, base, "checkout")
		if len(h.Changes) != 2 {
			t.Fatalf("got %+v, want the creation and the JSON replacement", h.Changes)
		}
		c := h.Changes[0]
		if c.Action != "changed" || c.By != "team-payments" || c.Via != "api" || c.Remote != "127.0.0.1" ||
			c.Source != "api" || c.File != "api:checkout" || c.At.IsZero() ||
			!diffHas(c.Diff, '-', "objective: 99") || !diffHas(c.Diff, '+', "objective: 99.5") {
			t.Fatalf("got %+v, want a change by team-payments through the API from 127.0.0.1, objective 99 to 99.5", c)
		}
		if c := h.Changes[1]; c.Action != "created" || !strings.HasPrefix(c.Diff, "--- /dev/null\n") {
			t.Fatalf("got %+v, want the creation, diffed from nothing", c)
		}
		// The refused PUTs left no trace; the file's service was recorded at start.
		if h := specHistory(t, base, "export"); len(h.Changes) != 1 || h.Changes[0].Via != "start" || h.Changes[0].Source != "file" {
			t.Fatalf("export: got %+v, want its one record from the start", h.Changes)
		}
		if code := getJSON(t, base+"/api/v1/specs/nothing/history", nil); code != http.StatusNotFound {
			t.Fatalf("unknown service: got %d, want 404", code)
		}
		if code := getJSON(t, base+"/api/v1/specs/checkout/history?limit=0", nil); code != http.StatusBadRequest {
			t.Fatalf("limit=0: got %d, want 400", code)
		}
		var page historyJSON
		getJSON(t, base+"/api/v1/specs/checkout/history?limit=1&before="+strconv.FormatInt(c.ID, 10), &page)
		if len(page.Changes) != 1 || page.Changes[0].Action != "created" {
			t.Fatalf("page before the change: got %+v, want the creation", page.Changes)
		}
	})

	t.Run("GET shows where a spec comes from", func(t *testing.T) {
		code, body := apiRequest(t, http.MethodGet, url, "", "", "")
		if code != http.StatusOK || body["source"] != "api" || body["updatedAt"] == nil || body["updatedBy"] != "team-payments" {
			t.Fatalf("got %d %v, want 200 from the api with updatedAt and updatedBy", code, body)
		}
		code, body = apiRequest(t, http.MethodGet, base+"/api/v1/specs/export", "", "", "")
		if code != http.StatusOK || body["source"] != "file" || !strings.HasSuffix(fmt.Sprint(body["file"]), "export.yaml") {
			t.Fatalf("got %d %v, want 200 from specs/export.yaml", code, body)
		}
		if code, _ := apiRequest(t, http.MethodGet, base+"/api/v1/specs/nothing", "", "", ""); code != http.StatusNotFound {
			t.Fatalf("unknown service: got %d, want 404", code)
		}
	})

	stopServe(t, cancel, done)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	base, done = startServe(t, ctx, config)
	url = base + "/api/v1/specs/checkout"

	t.Run("after a restart the API spec is still served", func(t *testing.T) {
		if !strings.Contains(servicesBody(t, base), `"checkout"`) {
			t.Fatal("checkout is gone after the restart")
		}
		code, body := apiRequest(t, http.MethodGet, url, "", "", "")
		if code != http.StatusOK || body["source"] != "api" || !strings.Contains(fmt.Sprint(body["spec"]), "objective: 99.5") {
			t.Fatalf("got %d %v, want the stored spec with objective 99.5", code, body)
		}
	})

	t.Run("DELETE removes it", func(t *testing.T) {
		if code, body := apiRequest(t, http.MethodDelete, url, specToken, "", ""); code != http.StatusNoContent {
			t.Fatalf("got %d %v, want 204", code, body)
		}
		if strings.Contains(servicesBody(t, base), `"checkout"`) {
			t.Fatal("checkout is still served")
		}
		if code, body := apiRequest(t, http.MethodDelete, url, specToken, "", ""); code != http.StatusNotFound {
			t.Fatalf("second DELETE: got %d %v, want 404", code, body)
		}
		h := specHistory(t, base, "checkout")
		if len(h.Changes) != 3 || h.Changes[0].Action != "removed" || h.Changes[0].By != "team-payments" {
			t.Fatalf("got %+v, want the removal by team-payments on top of the 2 changes before the restart", h.Changes)
		}
	})

	t.Run("a spec file added later wins over the API's copy, even at a restart", func(t *testing.T) {
		if code, body := apiRequest(t, http.MethodPut, url, specToken, "application/yaml", checkoutSpec); code != http.StatusCreated {
			t.Fatalf("PUT: got %d %v, want 201", code, body)
		}
		file := filepath.Join(filepath.Dir(config), "specs", "checkout.yaml")
		writeFile(t, file, strings.Replace(checkoutSpec, "objective: 99", "objective: 98", 1))
		if code, body := postJSON(t, base+"/-/reload", ""); code != http.StatusOK {
			t.Fatalf("reload: got %d %v, want 200", code, body)
		}
		stopServe(t, cancel, done)
		ctx, cancel = context.WithCancel(context.Background())
		base, done = startServe(t, ctx, config)
		url = base + "/api/v1/specs/checkout"
		code, body := apiRequest(t, http.MethodGet, url, "", "", "")
		if code != http.StatusOK || body["source"] != "file" || body["file"] != file || !strings.Contains(fmt.Sprint(body["spec"]), "objective: 98") {
			t.Fatalf("got %d %v, want the file's spec", code, body)
		}
		if code, body := apiRequest(t, http.MethodDelete, url, specToken, "", ""); code != http.StatusNoContent {
			t.Fatalf("DELETE of the shadowed copy: got %d %v, want 204", code, body)
		}
		if code, body := apiRequest(t, http.MethodDelete, url, specToken, "", ""); code != http.StatusConflict {
			t.Fatalf("second DELETE: got %d %v, want 409 for the file's service", code, body)
		}
		if code, _ := apiRequest(t, http.MethodGet, url, "", "", ""); code != http.StatusOK {
			t.Fatalf("GET after the DELETE: got %d, want the file's service still served", code)
		}
	})

	stopServe(t, cancel, done)
}
