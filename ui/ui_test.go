package ui

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/slogate/slogate/ui/api"
)

// newServer serves the UI next to two API routes, with the API's error
// handler, over loopback.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	e := echo.New()
	e.HTTPErrorHandler = api.ErrorHandler(nil)
	e.GET("/api/v1/services", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"services": []any{}})
	})
	e.GET("/api/v1/services/:service", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"name": c.Param("service")})
	})
	e.GET("/api/v1/services/:service/slos/:slo", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"name": c.Param("slo")})
	})
	Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestServeAppOnEveryRoute(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/", "/services/checkout", "/services/checkout/slos/availability", "/alerts", "/deploys", "/oncall"} {
		t.Run(path+" serves the app's page", func(t *testing.T) {
			resp, body := get(t, srv.URL+path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/html; charset=utf-8", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
			if resp.Header.Get("Content-Security-Policy") == "" {
				t.Error("no Content-Security-Policy")
			}
			for _, want := range []string{`<nav`, `id="theme-toggle"`, `id="range"`, `id="refresh"`, `/static/js/main.js`} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
		})
	}
}

func TestServeAssetsWithTheirTypesAndCaching(t *testing.T) {
	srv := newServer(t)
	cases := []struct {
		path, contentType, cache string
	}{
		{"/static/js/main.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/static/js/pages/service.js", "text/javascript; charset=utf-8", "no-cache"},
		{"/static/css/app.css", "text/css; charset=utf-8", "no-cache"},
		{"/static/img/favicon.svg", "image/svg+xml", "no-cache"},
		{"/static/vendor/uplot/uPlot.iife.min.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/static/vendor/uplot/uPlot.min.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"/static/vendor/uplot/LICENSE", "text/plain; charset=utf-8", "public, max-age=31536000, immutable"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp, body := get(t, srv.URL+c.path, nil)
			if resp.StatusCode != http.StatusOK || body == "" {
				t.Fatalf("status = %d with %d bytes, want 200 with a body", resp.StatusCode, len(body))
			}
			if got := resp.Header.Get("Content-Type"); got != c.contentType {
				t.Errorf("Content-Type = %q, want %q", got, c.contentType)
			}
			if got := resp.Header.Get("Cache-Control"); got != c.cache {
				t.Errorf("Cache-Control = %q, want %q", got, c.cache)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again, _ := get(t, srv.URL+c.path, map[string]string{"If-None-Match": etag})
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation with the ETag: status = %d, want 304", again.StatusCode)
			}
		})
	}
}

func TestServeLeavesUnknownPathsToTheAPIErrorHandler(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/api/v1/nope", "/api/v1/services/checkout/nope", "/api", "/static/js/nope.js", "/static/js/", "/nope"} {
		t.Run(path+" is a JSON 404", func(t *testing.T) {
			resp, body := get(t, srv.URL+path, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status = %d, want 404", resp.StatusCode)
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("body = %q, want a JSON error", body)
			}
		})
	}
	t.Run("API routes keep precedence over the app's", func(t *testing.T) {
		resp, body := get(t, srv.URL+"/api/v1/services/checkout", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"checkout"`) {
			t.Errorf("got %d %q, want the API's answer", resp.StatusCode, body)
		}
	})
}

// The page references vendored files with ?v=<version> so they can be
// cached for good; an upgrade that forgets the reference would serve stale
// files from caches.
func TestServedPageReferencesTheVendoredUPlotVersion(t *testing.T) {
	version, err := os.ReadFile("static/vendor/uplot/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(version))
	page, err := os.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`/static/vendor/uplot/[^"?]+\?v=([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) != 2 {
		t.Fatalf("found %d references to uPlot files, want 2 (script and stylesheet)", len(refs))
	}
	for _, r := range refs {
		if r[1] != v {
			t.Errorf("index.html references uPlot ?v=%s, want %s (static/vendor/uplot/VERSION)", r[1], v)
		}
	}
}

// The page preloads every module so the browser fetches the module graph
// at once rather than level by level; every import must name a file that
// is embedded, or the page would fail in the browser only.
func TestServedModulesResolveAndArePreloaded(t *testing.T) {
	page, err := files.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	preloaded := map[string]bool{}
	for _, m := range regexp.MustCompile(`<link rel="modulepreload" href="/([^"]+)">`).FindAllStringSubmatch(string(page), -1) {
		preloaded[m[1]] = true
	}
	imports := regexp.MustCompile(`(?m)\sfrom '(\.{1,2}/[^']+)';$`)
	err = fs.WalkDir(files, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch path.Base(p) {
		case "main.js", "theme-init.js": // loaded by <script> tags
		default:
			if !preloaded[p] {
				t.Errorf("index.html does not preload %s", p)
			}
			delete(preloaded, p)
		}
		src, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range imports.FindAllStringSubmatch(string(src), -1) {
			target := path.Join(path.Dir(p), m[1])
			if _, err := fs.Stat(files, target); err != nil {
				t.Errorf("%s imports %s, which is not embedded", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range preloaded {
		t.Errorf("index.html preloads %s, which is not embedded", p)
	}
}
