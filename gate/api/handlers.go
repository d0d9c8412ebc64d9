package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/gate"
	"github.com/slogate/slogate/gate/store"
	"github.com/slogate/slogate/httpapi"
	"github.com/slogate/slogate/slo"
)

// Register adds the gate's routes to grp, which is mounted at /api/v1.
func (g *Gate) Register(grp *echo.Group) {
	a := g.cfg.Auth
	grp.GET("/gate", g.all, a.Read())
	grp.GET("/gate/:service", g.check, a.Read())
	grp.POST("/gate/:service", g.check, a.Read())
	grp.GET("/gate/:service/history", g.history, a.Read())
	grp.GET("/gate/:service/overrides", g.listOverrides, a.Read())
	grp.GET("/gate/:service/suspect", g.suspect, a.Read())
	grp.POST("/gate/:service/overrides", g.addOverride, a.Require(slo.ScopeGateOverride))
	grp.DELETE("/gate/:service/overrides/:id", g.endOverride, a.Require(slo.ScopeGateOverride))
	grp.POST("/hooks/flagger", g.flagger)
	grp.POST("/deploys", g.addDeploy, a.Require(slo.ScopeDeployWrite))
	grp.GET("/deploys", g.listDeploys, a.Read())
	grp.GET("/deploys/:id", g.getDeploy, a.Read())
	grp.GET("/audit", g.audit, a.Read())
}

// validEnv reports whether s is an environment name: 1 to 63 of a-z, 0-9,
// '_', '.' and '-', starting with a letter or digit. (A loop rather than a
// regexp: it runs on every gate request.)
func validEnv(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

func validChangeType(s string) bool {
	_, _, err := gate.NormalizeChangeType(s)
	return err == nil
}

// checkRequest is the body of POST /gate/{service}; GET takes the same
// fields as query parameters.
type checkRequest struct {
	Env        string `json:"env"`
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	ChangeType string `json:"change_type"`
	Message    string `json:"message"`
}

func (r *checkRequest) validate() error {
	switch {
	case r.Env != "" && !validEnv(r.Env):
		return httpapi.BadRequest("env", "must be lowercase letters, digits, '.', '-' and '_', got %q", r.Env)
	case r.ChangeType != "" && !validChangeType(r.ChangeType):
		return httpapi.BadRequest("change_type", "must be a word such as fix, revert or feat (feat! for a breaking change), got %q", r.ChangeType)
	case len(r.Version) > 256:
		return httpapi.BadRequest("version", "at most 256 bytes, got %d", len(r.Version))
	case len(r.Commit) > 256:
		return httpapi.BadRequest("commit", "at most 256 bytes, got %d", len(r.Commit))
	case len(r.Message) > 64<<10:
		return httpapi.BadRequest("message", "at most 64 KiB, got %d bytes", len(r.Message))
	}
	return nil
}

func (g *Gate) unknownService(name string) error {
	msg := fmt.Sprintf("service %q not found", name)
	if hint := slo.DidYouMean(name, g.names); hint != "" {
		msg += hint
	} else if len(g.names) > 0 && len(g.names) <= 10 {
		msg += "; known services: " + strings.Join(g.names, ", ")
	}
	return echo.NewHTTPError(http.StatusNotFound, msg)
}

// answer decides for req and writes the answer with status.
func (g *Gate) answer(c echo.Context, req *gate.Request, status func(*gate.Answer) int) error {
	sc := g.answers.Get().(*scratch)
	defer g.answers.Put(sc)
	out := &sc.a
	vj, err := g.decide(req, g.cfg.Now(), out)
	switch {
	case errors.Is(err, errUnknownService):
		return g.unknownService(req.Service)
	case errors.Is(err, errNotReady):
		return notReady(c)
	case err != nil:
		return err
	}
	sc.buf = appendAnswer(sc.buf[:0], out, vj)
	return c.JSONBlob(status(out), sc.buf)
}

// notReady is the answer before the first evaluation: 503, retry soon.
func notReady(c echo.Context) error {
	c.Response().Header().Set("Retry-After", "5")
	return echo.NewHTTPError(http.StatusServiceUnavailable, "the gate has no evaluation yet; retry in a few seconds")
}

// verdictSummary is one service in GET /gate.
type verdictSummary struct {
	Service string `json:"service"`
	// Decision, Allowed, Enforced and Reasons are what GET /gate/{service}
	// without parameters answers: the decision for the policy's first
	// gated environment, and whether a change of no particular type may
	// ship (freezes and active overrides included).
	Decision    string    `json:"decision"`
	Allowed     bool      `json:"allowed"`
	Enforced    bool      `json:"enforced"`
	Reasons     []string  `json:"reasons"`
	EvaluatedAt time.Time `json:"evaluatedAt"`
}

// all answers every service's current decision in one list, sorted by
// service, from the same evaluation; 503 before the first. Services the
// evaluation did not judge are left out.
func (g *Gate) all(c echo.Context) error {
	out, ok := g.summaries()
	if !ok {
		return notReady(c)
	}
	return c.JSON(http.StatusOK, map[string][]verdictSummary{"services": out})
}

// summaries answers a plain request for every service from one
// evaluation; ok is false before the first.
func (g *Gate) summaries() (out []verdictSummary, ok bool) {
	verdicts, overrides := *g.verdicts.Load(), *g.overrides.Load()
	if verdicts == nil {
		return nil, false
	}
	now := g.cfg.Now()
	out = make([]verdictSummary, 0, len(g.names))
	var a gate.Answer
	for _, name := range g.names {
		req := gate.Request{Service: name}
		if _, err := g.decideFrom(verdicts, overrides, &req, now, &a); err != nil {
			continue
		}
		out = append(out, verdictSummary{Service: name, Decision: a.Decision, Allowed: a.Allowed,
			Enforced: a.Enforced, Reasons: a.Reasons, EvaluatedAt: a.EvaluatedAt})
	}
	return out, true
}

// WriteMetrics writes the gate's current answer for every service, as a
// plain request without a change type would get it:
// slogate_gate_decision{service,team,decision} is 1 for the decision
// (ship or slow_down) and 0 for the other, and
// slogate_gate_allowed{service,team} is 1 when such a deploy may go out
// (shipping, overridden or in shadow mode). Nothing is written before
// the first evaluation.
func (g *Gate) WriteMetrics(w io.Writer) {
	out, ok := g.summaries()
	if !ok {
		return
	}
	fmt.Fprintln(w, "# HELP slogate_gate_decision 1 for the gate's current decision for the service (ship or slow_down), 0 for the other.")
	fmt.Fprintln(w, "# TYPE slogate_gate_decision gauge")
	for _, s := range out {
		team := strconv.Quote(g.services[s.Service].Owner.Team)
		for _, d := range []string{gate.Ship, gate.SlowDown} {
			fmt.Fprintf(w, "slogate_gate_decision{service=%s,team=%s,decision=%q} %d\n", strconv.Quote(s.Service), team, d, b2i(s.Decision == d))
		}
	}
	fmt.Fprintln(w, "# HELP slogate_gate_allowed 1 when a deploy of the service without a change type may go out now, else 0.")
	fmt.Fprintln(w, "# TYPE slogate_gate_allowed gauge")
	for _, s := range out {
		fmt.Fprintf(w, "slogate_gate_allowed{service=%s,team=%s} %d\n", strconv.Quote(s.Service),
			strconv.Quote(g.services[s.Service].Owner.Team), b2i(s.Allowed))
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ok200(*gate.Answer) int { return http.StatusOK }

func (g *Gate) check(c echo.Context) error {
	var r checkRequest
	if c.Request().Method == http.MethodPost {
		if err := httpapi.Decode(c, &r); err != nil {
			return err
		}
	} else {
		q := c.QueryParams()
		for k := range q {
			switch k {
			case "env", "version", "commit", "change_type", "message":
			default:
				return httpapi.BadRequest(k, "unknown parameter; expected env, version, commit, change_type or message")
			}
		}
		r = checkRequest{Env: q.Get("env"), Version: q.Get("version"), Commit: q.Get("commit"),
			ChangeType: q.Get("change_type"), Message: q.Get("message")}
	}
	if err := r.validate(); err != nil {
		return err
	}
	req := gate.Request{Service: c.Param("service"), Env: r.Env, Version: r.Version, Commit: r.Commit,
		ChangeType: r.ChangeType, Message: r.Message}
	return g.answer(c, &req, ok200)
}

// flaggerWebhook is the body Flagger posts to its webhooks.
type flaggerWebhook struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Type      string            `json:"type"`
	Metadata  map[string]string `json:"metadata"`
}

// flagger answers Flagger's pre-rollout (or confirm-promotion) webhook: 200
// lets the canary proceed, 403 with the reasons halts it. The service is
// metadata.service or the canary's name; env, change_type and message come
// from metadata too. Flagger cannot send headers, so when reads need a token
// it may come as metadata.token instead of an Authorization header.
func (g *Gate) flagger(c echo.Context) error {
	var w flaggerWebhook
	r := c.Request()
	dec := json.NewDecoder(io.LimitReader(r.Body, httpapi.MaxBody))
	if err := dec.Decode(&w); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "body: invalid Flagger webhook JSON: "+err.Error())
	}
	if tok := w.Metadata["token"]; tok != "" && r.Header.Get("Authorization") == "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	if err := g.cfg.Auth.Read()(func(echo.Context) error { return nil })(c); err != nil {
		return err
	}
	svc := w.Metadata["service"]
	if svc == "" {
		svc = w.Name
	}
	if svc == "" {
		return httpapi.BadRequest("metadata.service", "required (or the canary's name)")
	}
	cr := checkRequest{Env: w.Metadata["env"], Version: w.Metadata["version"], Commit: w.Metadata["commit"],
		ChangeType: w.Metadata["change_type"], Message: w.Metadata["message"]}
	if cr.Commit == "" {
		cr.Commit = w.Checksum
	}
	if err := cr.validate(); err != nil {
		return err
	}
	req := gate.Request{Service: svc, Env: cr.Env, Version: cr.Version, Commit: cr.Commit,
		ChangeType: cr.ChangeType, Message: cr.Message}
	return g.answer(c, &req, func(a *gate.Answer) int {
		if a.Allowed {
			return http.StatusOK
		}
		return http.StatusForbidden
	})
}

// limitParam reads ?limit=, default 100, at most 1000.
func limitParam(c echo.Context) (int, error) {
	s := c.QueryParam("limit")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, httpapi.BadRequest("limit", "must be a whole number from 1 to 1000, got %q", s)
	}
	return n, nil
}

// sinceParam reads ?since= as RFC 3339 or a duration back from now.
func sinceParam(c echo.Context, now time.Time) (time.Time, error) {
	s := c.QueryParam("since")
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return now.Add(-time.Duration(d)), nil
	}
	return time.Time{}, httpapi.BadRequest("since", "must be RFC 3339 or a duration such as 24h or 7d, got %q", s)
}

func (g *Gate) knownService(c echo.Context) (string, error) {
	name := c.Param("service")
	if g.policies[name] == nil {
		return "", g.unknownService(name)
	}
	return name, nil
}

func (g *Gate) history(c echo.Context) error {
	return listFor(g, c, "history", g.cfg.Store.DecisionHistory)
}

// listFor answers a known service's records from list, newest first, at
// most ?limit= of them, under key.
func listFor[T any](g *Gate, c echo.Context, key string, list func(context.Context, string, int) ([]T, error)) error {
	name, err := g.knownService(c)
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	rs, err := list(c.Request().Context(), name, limit)
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []T{}
	}
	return c.JSON(http.StatusOK, map[string]any{"service": name, key: rs})
}

// suspect answers the service's suspect deploy: the latest one whose
// impact was classified degraded.
func (g *Gate) suspect(c echo.Context) error {
	name, err := g.knownService(c)
	if err != nil {
		return err
	}
	d, err := g.cfg.Store.LatestDegraded(c.Request().Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %s has no deploy classified degraded", name))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (g *Gate) listOverrides(c echo.Context) error {
	return listFor(g, c, "overrides", g.cfg.Store.Overrides)
}

// overrideRequest is the body of POST /gate/{service}/overrides.
type overrideRequest struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
	Env    string `json:"env"`
	// Duration is how long the override lasts, e.g. "2h"; default 1h.
	Duration string `json:"duration"`
}

// defaultOverride is how long an override lasts unless the request says.
const defaultOverride = time.Hour

func (g *Gate) addOverride(c echo.Context) error {
	name, err := g.knownService(c)
	if err != nil {
		return err
	}
	if err := ForTeam(c, g.services[name].Owner.Team, "override the gate of "+name); err != nil {
		return err
	}
	var r overrideRequest
	if err := httpapi.Decode(c, &r); err != nil {
		return err
	}
	r.Reason = strings.TrimSpace(r.Reason)
	p := g.policies[name]
	d := defaultOverride
	switch {
	case r.Reason == "":
		return httpapi.BadRequest("reason", "required: say why the gate is overridden (it is kept in the audit log)")
	case len(r.Reason) > 4096:
		return httpapi.BadRequest("reason", "at most 4096 bytes")
	case r.Env != "" && !validEnv(r.Env):
		return httpapi.BadRequest("env", "must be lowercase letters, digits, '.', '-' and '_', got %q", r.Env)
	case len(r.By) > 256:
		return httpapi.BadRequest("by", "at most 256 bytes")
	}
	if r.Duration != "" {
		md, err := model.ParseDuration(r.Duration)
		if err != nil || md <= 0 {
			return httpapi.BadRequest("duration", "must be a positive duration such as 30m or 2h, got %q", r.Duration)
		}
		d = time.Duration(md)
	}
	if d > p.MaxOverride {
		return httpapi.BadRequest("duration", "at most %s for service %s, got %s", model.Duration(p.MaxOverride), name, model.Duration(d))
	}
	actor := Actor(c)
	by := r.By
	if by == "" {
		by = actor
	}
	now := g.cfg.Now().UTC()
	o := store.Override{Service: name, Env: r.Env, Reason: r.Reason, By: by, Token: actor, CreatedAt: now, ExpiresAt: now.Add(d)}
	detail, _ := json.Marshal(map[string]any{"reason": r.Reason, "by": by, "env": r.Env, "expires_at": o.ExpiresAt})
	o, err = g.cfg.Store.AddOverride(c.Request().Context(), o, store.AuditEntry{
		At: now, Actor: actor, Action: "override.create", Service: name, Detail: detail, Remote: c.RealIP(),
	})
	if err != nil {
		return err
	}
	if err := g.refreshOverrides(c.Request().Context()); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, o)
}

func (g *Gate) endOverride(c echo.Context) error {
	name, err := g.knownService(c)
	if err != nil {
		return err
	}
	if err := ForTeam(c, g.services[name].Owner.Team, "end an override of "+name); err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return httpapi.BadRequest("id", "must be a number, got %q", c.Param("id"))
	}
	// Look first, so that an override of another service is neither
	// ended nor audited through this one's path.
	if o, err := g.cfg.Store.Override(c.Request().Context(), id); errors.Is(err, store.ErrNotFound) || (err == nil && o.Service != name) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %s has no override %d", name, id))
	} else if err != nil {
		return err
	}
	actor := Actor(c)
	now := g.cfg.Now().UTC()
	detail, _ := json.Marshal(map[string]any{"id": id})
	o, err := g.cfg.Store.EndOverride(c.Request().Context(), id, actor, now, store.AuditEntry{
		At: now, Actor: actor, Action: "override.end", Service: name, Target: fmt.Sprintf("override/%d", id),
		Detail: detail, Remote: c.RealIP(),
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %s has no override %d", name, id))
	case errors.Is(err, store.ErrNotActive):
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("override %d has already ended or expired", id))
	case err != nil:
		return err
	}
	if err := g.refreshOverrides(c.Request().Context()); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// deployRequest is the body of POST /deploys.
type deployRequest struct {
	Service    string     `json:"service"`
	Env        string     `json:"env"`
	Version    string     `json:"version"`
	Commit     string     `json:"commit"`
	Author     string     `json:"author"`
	Message    string     `json:"message"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Status     string     `json:"status"`
	URL        string     `json:"url"`
}

// deployStatuses are the accepted deploy statuses.
var deployStatuses = []string{"succeeded", "failed", "started", "rolled_back"}

func (g *Gate) addDeploy(c echo.Context) error {
	var r deployRequest
	if err := httpapi.Decode(c, &r); err != nil {
		return err
	}
	now := g.cfg.Now().UTC()
	switch {
	case r.Service == "":
		return httpapi.BadRequest("service", "required")
	case g.policies[r.Service] == nil:
		return httpapi.BadRequest("service", "unknown service %q%s", r.Service, slo.DidYouMean(r.Service, g.names))
	case r.Env != "" && !validEnv(r.Env):
		return httpapi.BadRequest("env", "must be lowercase letters, digits, '.', '-' and '_', got %q", r.Env)
	case r.Version == "" && r.Commit == "":
		return httpapi.BadRequest("version", "required unless commit is given")
	case len(r.Version) > 256 || len(r.Commit) > 256 || len(r.Author) > 256 || len(r.URL) > 2048:
		return httpapi.BadRequest("version", "version, commit and author at most 256 bytes, url at most 2048")
	case len(r.Message) > 64<<10:
		return httpapi.BadRequest("message", "at most 64 KiB")
	case r.Status != "" && !slices.Contains(deployStatuses, r.Status):
		return httpapi.BadRequest("status", "must be one of %s, got %q", strings.Join(deployStatuses, ", "), r.Status)
	case r.StartedAt != nil && r.StartedAt.After(now.Add(5*time.Minute)):
		return httpapi.BadRequest("started_at", "is in the future: %s", r.StartedAt.Format(time.RFC3339))
	case r.StartedAt != nil && r.FinishedAt != nil && r.FinishedAt.Before(*r.StartedAt):
		return httpapi.BadRequest("finished_at", "is before started_at")
	}
	d := store.Deploy{
		Service: r.Service, Env: r.Env, Version: r.Version, Commit: r.Commit, Author: r.Author,
		Message: r.Message, Status: r.Status, URL: r.URL, StartedAt: now, CreatedAt: now,
	}
	if d.Env == "" {
		d.Env = "production"
	}
	if d.Status == "" {
		d.Status = "succeeded"
	}
	if r.StartedAt != nil {
		d.StartedAt = r.StartedAt.UTC()
	}
	if r.FinishedAt != nil {
		f := r.FinishedAt.UTC()
		d.FinishedAt = &f
	}
	actor := Actor(c)
	detail, _ := json.Marshal(map[string]any{"env": d.Env, "version": d.Version, "commit": d.Commit, "author": d.Author, "status": d.Status})
	d, err := g.cfg.Store.AddDeploy(c.Request().Context(), d, store.AuditEntry{
		At: now, Actor: actor, Action: "deploy.create", Service: d.Service, Detail: detail, Remote: c.RealIP(),
	})
	if err != nil {
		return err
	}
	if g.cfg.OnDeploy != nil {
		g.cfg.OnDeploy(c.Request().Context(), d)
	}
	return c.JSON(http.StatusCreated, d)
}

// listDeploys answers ?service=&env=&author=&since=&limit=: author keeps
// the deploys whose author contains it, ignoring case (see
// store.DeployFilter).
func (g *Gate) listDeploys(c echo.Context) error {
	f := store.DeployFilter{Service: c.QueryParam("service"), Env: c.QueryParam("env"), Author: c.QueryParam("author")}
	if f.Service != "" && g.policies[f.Service] == nil {
		return g.unknownService(f.Service)
	}
	if len(f.Author) > 256 {
		return httpapi.BadRequest("author", "at most 256 bytes, got %d", len(f.Author))
	}
	var err error
	if f.Since, err = sinceParam(c, g.cfg.Now()); err != nil {
		return err
	}
	if f.Limit, err = limitParam(c); err != nil {
		return err
	}
	ds, err := g.cfg.Store.Deploys(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []store.Deploy{}
	}
	return c.JSON(http.StatusOK, map[string]any{"deploys": ds})
}

func (g *Gate) getDeploy(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return httpapi.BadRequest("id", "must be a number, got %q", c.Param("id"))
	}
	d, err := g.cfg.Store.Deploy(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("deploy %d not found", id))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (g *Gate) audit(c echo.Context) error {
	f := store.AuditFilter{Service: c.QueryParam("service")}
	var err error
	if f.Since, err = sinceParam(c, g.cfg.Now()); err != nil {
		return err
	}
	if f.Limit, err = limitParam(c); err != nil {
		return err
	}
	es, err := g.cfg.Store.Audit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if es == nil {
		es = []store.AuditEntry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": es})
}
