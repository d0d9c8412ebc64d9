package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	gateapi "github.com/slogate/slogate/gate/api"
	"github.com/slogate/slogate/httpapi"
	"github.com/slogate/slogate/slo"
	"github.com/slogate/slogate/slo/specstore"
)

// apiFilePrefix starts the pseudo file name an API-managed spec is loaded,
// and its problems reported, under: "api:checkout".
const apiFilePrefix = "api:"

func apiFile(service string) string { return apiFilePrefix + service }

// loadCatalog loads the config, its spec files and the specs stored
// through the API, after edit (when not nil) has changed the stored ones
// by service name. Only the catalog sees the edit; the store is untouched.
// The edited spec of the service named replace, if any, takes the place of
// a spec file's service of that name, as a pull request changing the file
// would.
func (p *process) loadCatalog(ctx context.Context, edit func(map[string]specstore.Spec), replace string) (*slo.Catalog, error) {
	if p.specs == nil {
		return slo.Load(p.o.config)
	}
	list, err := p.specs.List(ctx)
	if err != nil {
		return nil, err
	}
	if edit != nil {
		byName := map[string]specstore.Spec{}
		for _, sp := range list {
			byName[sp.Service] = sp
		}
		edit(byName)
		list = list[:0]
		for _, sp := range byName {
			list = append(list, sp)
		}
	}
	if len(list) == 0 {
		return slo.Load(p.o.config)
	}
	// Sorted, so problems and load order do not depend on map order.
	sources := make([]slo.SpecSource, 0, len(list))
	for _, sp := range list {
		sources = append(sources, slo.SpecSource{File: apiFile(sp.Service), Data: []byte(sp.Text),
			Replaces: replace != "" && sp.Service == replace})
	}
	slices.SortFunc(sources, func(a, b slo.SpecSource) int { return strings.Compare(a.File, b.File) })
	return slo.LoadWithSources(p.o.config, sources)
}

// problemJSON is one validation problem as the spec API shows it.
type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
	// Text is the problem as `validate` prints it.
	Text string `json:"text"`
}

func problemsJSON(ps slo.Problems) []problemJSON {
	out := make([]problemJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, problemJSON{File: p.File, Line: p.Line, Field: p.Field, Message: p.Message,
			Warning: p.Warning, Text: p.String()})
	}
	return out
}

// invalidSpec answers 400 with the problems of err when it is a load's
// Problems, and returns err otherwise. Of the warnings it keeps those of
// file, the spec sent: the others' are not the sender's to fix.
func invalidSpec(c echo.Context, err error, file string) error {
	var ps slo.Problems
	if errors.As(err, &ps) {
		ps = slices.DeleteFunc(slices.Clone(ps), func(p slo.Problem) bool { return p.Warning && p.File != file })
		return c.JSON(http.StatusBadRequest, map[string]any{"error": "invalid spec", "problems": problemsJSON(ps)})
	}
	var re *refusedError
	if errors.As(err, &re) {
		return c.JSON(http.StatusBadRequest, map[string]any{"error": "invalid spec",
			"problems": []problemJSON{{Message: re.msg, Text: re.msg}}})
	}
	return err
}

// specJSON is a spec as slogate runs it and where it came from.
type specJSON struct {
	Service string `json:"service"`
	// Source is "file" or "api".
	Source string `json:"source"`
	// File is the spec file, for a file's spec.
	File      string     `json:"file,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
	UpdatedBy string     `json:"updatedBy,omitempty"`
	// Spec is the spec as slogate runs it, defaults filled in, in YAML.
	Spec string `json:"spec"`
	// Text is the spec as it was sent, for an API spec.
	Text string `json:"text,omitempty"`
	// Notices say what a change does beyond its diff, in a PUT's answer.
	Notices []string `json:"notices,omitempty"`
}

func newSpecJSON(svc *slo.Service, stored *specstore.Spec) (specJSON, error) {
	text, err := renderSpec(svc)
	if err != nil {
		return specJSON{}, err
	}
	out := specJSON{Service: svc.Name, Spec: text, Source: specSource(svc)}
	if stored != nil {
		at := stored.UpdatedAt
		out.UpdatedAt, out.UpdatedBy, out.Text = &at, stored.UpdatedBy, stored.Text
	} else {
		out.File = svc.File
	}
	return out, nil
}

func findService(cat *slo.Catalog, name string) *slo.Service {
	for _, svc := range cat.Services {
		if svc.Name == name {
			return svc
		}
	}
	return nil
}

// fileDefining returns the spec file defining service in cat, or "" when
// none does.
func fileDefining(cat *slo.Catalog, service string) string {
	if svc := findService(cat, service); svc != nil && specSource(svc) == "file" {
		return svc.File
	}
	return ""
}

func definedInFile(service, file string) error {
	return echo.NewHTTPError(http.StatusConflict,
		fmt.Sprintf("service %q is defined in the spec file %s: change it there, the API cannot overwrite it", service, file))
}

// readSpecBody reads a spec sent as YAML or JSON (which is YAML too).
func readSpecBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	isJSON := false
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return nil, echo.NewHTTPError(http.StatusUnsupportedMediaType, "cannot read content type "+ct)
		case mt == echo.MIMEApplicationJSON:
			isJSON = true
		case mt == "application/yaml", mt == "application/x-yaml", mt == "text/yaml", mt == "text/x-yaml", mt == "text/plain":
		default:
			return nil, echo.NewHTTPError(http.StatusUnsupportedMediaType,
				"body must be application/yaml or application/json, got "+ct)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, httpapi.MaxBody+1))
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "body: cannot read: "+err.Error())
	}
	if len(body) > httpapi.MaxBody {
		return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", httpapi.MaxBody))
	}
	if isJSON && !json.Valid(body) {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "body: invalid JSON")
	}
	return body, nil
}

// parseSpecBody reads the request's spec and checks it on its own: its
// name must be service's.
func parseSpecBody(c echo.Context, service string) (*slo.Service, []byte, error) {
	body, err := readSpecBody(c)
	if err != nil {
		return nil, nil, err
	}
	svc, err := slo.ParseService(apiFile(service), body)
	if err != nil {
		return nil, nil, invalidSpec(c, err, apiFile(service))
	}
	if svc.Name != service {
		return nil, nil, invalidSpec(c, slo.Problems{{File: apiFile(service), Field: "name",
			Message: fmt.Sprintf("must be %q, the service in the URL, got %q", service, svc.Name)}}, apiFile(service))
	}
	return svc, body, nil
}

// specRoutes registers the spec API on g: reads with read, writes with
// write; cat is the catalog the routes' runtime runs.
func (p *process) specRoutes(g *echo.Group, cat *slo.Catalog, read, write echo.MiddlewareFunc) {
	g.GET("/specs/:service", func(c echo.Context) error { return p.getSpec(c, cat) }, read)
	g.GET("/specs/:service/history", func(c echo.Context) error { return p.specHistory(c, cat) }, read)
	g.PUT("/specs/:service", p.putSpec, write)
	g.DELETE("/specs/:service", p.deleteSpec, write)
	g.POST("/specs/validate", p.validateSpec, read)
}

func (p *process) getSpec(c echo.Context, cat *slo.Catalog) error {
	name := c.Param("service")
	svc := findService(cat, name)
	if svc == nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %q: not found", name))
	}
	var stored *specstore.Spec
	if specSource(svc) == "api" {
		sp, err := p.specs.Get(c.Request().Context(), name)
		if errors.Is(err, specstore.ErrNotFound) { // removed since cat was loaded
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %q: not found", name))
		}
		if err != nil {
			return err
		}
		stored = &sp
	}
	out, err := newSpecJSON(svc, stored)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// putSpec stores a spec and reloads, when the catalog with it is valid.
func (p *process) putSpec(c echo.Context) error {
	name := c.Param("service")
	sent, body, err := parseSpecBody(c, name)
	if err != nil || c.Response().Committed {
		return err
	}
	ctx := c.Request().Context()
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if f := fileDefining(p.cur.cat, name); f != "" {
		return definedInFile(name, f)
	}
	if running := findService(p.cur.cat, name); running != nil {
		if err := gateapi.ForTeam(c, running.Owner.Team, "change the spec of "+name); err != nil {
			return err
		}
	}
	if err := gateapi.ForTeam(c, sent.Owner.Team, "give "+name+" to team "+sent.Owner.Team); err != nil {
		return err
	}
	sp := specstore.Spec{Service: name, Text: string(body), UpdatedAt: p.now(), UpdatedBy: gateapi.Actor(c)}
	cat, err := p.loadCatalog(ctx, func(m map[string]specstore.Spec) { m[name] = sp }, "")
	if err == nil {
		err = p.checkFixed(cat)
	}
	if err != nil {
		return invalidSpec(c, err, apiFile(name))
	}
	prev, prevErr := p.specs.Get(ctx, name)
	if prevErr != nil && !errors.Is(prevErr, specstore.ErrNotFound) {
		return prevErr
	}
	stored, created, err := p.specs.Put(ctx, sp)
	if err != nil {
		return err
	}
	notices := changeNotices(findService(p.cur.cat, name), findService(cat, name))
	if err := p.reloadLocked(apiOrigin(c), cat); err != nil {
		// Refused (or failed) after all: the store goes back to what runs.
		ctx := context.WithoutCancel(ctx)
		if prevErr == nil {
			_, _, _ = p.specs.Put(ctx, prev)
		} else {
			_ = p.specs.Delete(ctx, name)
		}
		return invalidSpec(c, err, apiFile(name))
	}
	p.log.Info("spec stored through the API", "service", name, "by", sp.UpdatedBy, "created", created)
	out, err := newSpecJSON(findService(cat, name), &stored)
	if err != nil {
		return err
	}
	out.Notices = notices
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	return c.JSON(code, out)
}

// deleteSpec removes an API spec and reloads without it. It also removes
// an API copy that a spec file of the same name shadows.
func (p *process) deleteSpec(c echo.Context) error {
	name := c.Param("service")
	ctx := c.Request().Context()
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	prev, err := p.specs.Get(ctx, name)
	if errors.Is(err, specstore.ErrNotFound) {
		if f := fileDefining(p.cur.cat, name); f != "" {
			return definedInFile(name, f)
		}
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %q: no spec stored through the API", name))
	}
	if err != nil {
		return err
	}
	if running := findService(p.cur.cat, name); running != nil {
		if err := gateapi.ForTeam(c, running.Owner.Team, "remove the spec of "+name); err != nil {
			return err
		}
	}
	cat, err := p.loadCatalog(ctx, func(m map[string]specstore.Spec) { delete(m, name) }, "")
	if err == nil {
		err = p.checkFixed(cat)
	}
	if err != nil {
		return invalidSpec(c, err, apiFile(name))
	}
	if err := p.specs.Delete(ctx, name); err != nil {
		return err
	}
	if err := p.reloadLocked(apiOrigin(c), cat); err != nil {
		_, _, _ = p.specs.Put(context.WithoutCancel(ctx), prev)
		return invalidSpec(c, err, apiFile(name))
	}
	p.log.Info("spec removed through the API", "service", name, "by", gateapi.Actor(c))
	return c.NoContent(http.StatusNoContent)
}

// validateSpec checks a spec against the running config and the other
// specs without storing or applying it. A spec for a service defined in a
// file is checked in that file's place.
func (p *process) validateSpec(c echo.Context) error {
	body, err := readSpecBody(c)
	if err != nil {
		return err
	}
	var head struct {
		Name string `yaml:"name"`
	}
	_ = yaml.Unmarshal(body, &head) // ParseService reports what is wrong
	name := head.Name
	if name == "" {
		name = "spec"
	}
	svc, err := slo.ParseService(apiFile(name), body)
	if err != nil {
		return invalidSpec(c, err, apiFile(name))
	}
	// A file's service is checked as the file would be with this spec in
	// it: the pull-request check of a repository of spec files.
	cat, err := p.loadCatalog(c.Request().Context(),
		func(m map[string]specstore.Spec) { m[name] = specstore.Spec{Service: name, Text: string(body)} }, name)
	if err != nil {
		return invalidSpec(c, err, apiFile(name))
	}
	var warnings slo.Problems
	for _, w := range cat.Warnings {
		if w.File == apiFile(name) {
			warnings = append(warnings, w)
		}
	}
	p.reloadMu.Lock()
	old := findService(p.cur.cat, svc.Name)
	p.reloadMu.Unlock()
	checked := findService(cat, svc.Name)
	text, err := renderSpec(checked)
	if err != nil {
		return err
	}
	notices := changeNotices(old, checked)
	if notices == nil {
		notices = []string{}
	}
	return c.JSON(http.StatusOK, map[string]any{"valid": true, "warnings": problemsJSON(warnings), "notices": notices, "spec": text})
}
