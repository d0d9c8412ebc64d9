// Package ui serves slogate's web UI: one HTML page for every app route and
// the static assets it loads (plain ES modules, CSS and the vendored uPlot
// chart library), all embedded in the binary so the UI works offline and
// needs no build step. The page reads everything it shows from the JSON API
// under /api/v1; this package holds no business logic.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

//go:embed index.html static
var files embed.FS

// appRoutes are the paths that answer with the app's page; its script
// picks the view from the path. Only these: an unknown path, and above all
// an unknown /api path, must stay a 404 from the API's error handler.
var appRoutes = []string{
	"/",
	"/services/:service",
	"/services/:service/slos/:slo",
	"/alerts",
	"/deploys",
	"/oncall",
}

// Cache policies. Vendored files are referenced with their version in the
// query string (see index.html), so a new version is a new URL and the old
// one may be cached for good; the app's own files and the page change with
// every build, so browsers revalidate them (cheaply, by ETag).
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// contentSecurityPolicy allows only slogate's own scripts, styles and API.
// Inline styles are allowed because the page sets bar widths and chart
// marker positions in style attributes.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	name        string
	body        []byte
	etag        string
	contentType string
	cache       string
}

// Register adds to e the app's page at each of its routes (/, /alerts,
// /deploys, /oncall, /services/{service} and /services/{service}/slos/{slo})
// and the assets under /static/. API routes registered on e before or after
// keep their precedence: nothing here matches a path under /api. Call it
// once, before e serves; the handlers it adds are safe for concurrent use.
func Register(e *echo.Echo) {
	assets, err := loadAssets()
	if err != nil {
		// The files are compiled in: failing to read them is a build
		// mistake, better found at start.
		panic("ui: " + err.Error())
	}
	index := assets["index.html"]
	page := func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Referrer-Policy", "same-origin")
		return serveAsset(c, index)
	}
	for _, r := range appRoutes {
		e.GET(r, page)
		e.HEAD(r, page)
	}
	static := func(c echo.Context) error {
		a := assets[path.Join("static", c.Param("*"))]
		if a == nil || strings.HasSuffix(c.Param("*"), "/") {
			return echo.ErrNotFound
		}
		return serveAsset(c, a)
	}
	e.GET("/static/*", static)
	e.HEAD("/static/*", static)
}

// loadAssets reads every embedded file with its content type, ETag and
// cache policy, keyed by its path in files.
func loadAssets() (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{
			name: p, body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`,
			contentType: contentType(p), cache: cacheRevalidate,
		}
		if strings.HasPrefix(p, "static/vendor/") {
			a.cache = cacheImmutable
		}
		out[p] = a
		return nil
	})
	return out, err
}

// contentTypes fixes the types of the files the UI is made of, so they do
// not depend on the host's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".txt":  "text/plain; charset=utf-8",
	"":      "text/plain; charset=utf-8", // LICENSE, VERSION
}

func contentType(name string) string {
	ext := path.Ext(name)
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// serveAsset writes a with its headers; http.ServeContent answers
// If-None-Match with a 304 and HEAD without a body.
func serveAsset(c echo.Context, a *asset) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, a.contentType)
	h.Set("Cache-Control", a.cache)
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Response(), c.Request(), a.name, time.Time{}, bytes.NewReader(a.body))
	return nil
}
