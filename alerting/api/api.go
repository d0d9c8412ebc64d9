// Package api serves the alerting side of slogate over HTTP: open and
// recent alerts, who is on call for each team, the burn-rate rules each
// SLO is evaluated with, a dry run of where an alert would be routed, the
// notification log, silences and acknowledgements.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/alerting"
	"github.com/slogate/slogate/alerting/dispatch"
	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/alerting/outbox"
	"github.com/slogate/slogate/slo"
)

// Handler serves the on-call and routing endpoints.
type Handler struct {
	// Directory knows people, teams, rotations and receivers. Required.
	Directory *oncall.Directory
	// Services are the specs by name. Required.
	Services map[string]*slo.Service
	// Suspect returns the author of a service's suspect deploy, or "" when
	// it has none; may be nil.
	Suspect func(ctx context.Context, service string) (string, error)
	// Outbox lists notifications; may be nil.
	Outbox *outbox.Outbox
	// Alerts returns the open and recently resolved alerts; may be nil.
	Alerts func() []dispatch.Alert
	// Metrics writes the alert metrics to /metrics; may be nil.
	Metrics func(w io.Writer)
	// Silences serves silences and acknowledgements; may be nil.
	Silences *SilenceHandler
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Register adds the routes to grp, mounted at /api/v1: reads behind read,
// changes (silences, acknowledgements) behind write.
func (h *Handler) Register(grp *echo.Group, read, write echo.MiddlewareFunc) {
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Silences != nil {
		if h.Silences.Now == nil {
			h.Silences.Now = h.Now
		}
		h.Silences.Register(grp, read, write)
	}
	grp.GET("/alerts", h.alerts, read)
	grp.GET("/oncall", h.teams, read)
	grp.GET("/oncall/:team", h.onCall, read)
	grp.GET("/rules/:service", h.rules, read)
	grp.GET("/route", h.route, read)
	grp.GET("/notifications", h.notifications, read)
}

// WriteMetrics writes the alert metrics, if alerts are evaluated.
func (h *Handler) WriteMetrics(w io.Writer) {
	if h.Metrics != nil {
		h.Metrics(w)
	}
}

// alerts lists the open alerts, pages first, then the recently resolved
// ones, newest first: ?service=&state=firing|silenced|resolved.
func (h *Handler) alerts(c echo.Context) error {
	out := []dispatch.Alert{}
	if h.Alerts == nil {
		return c.JSON(http.StatusOK, map[string]any{"alerts": out})
	}
	svc, st := c.QueryParam("service"), c.QueryParam("state")
	switch st {
	case "", "firing", "silenced", "resolved":
	default:
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("state: must be firing, silenced or resolved, got %q", st))
	}
	if svc != "" && h.Services[svc] == nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %q not found", svc))
	}
	for _, a := range h.Alerts() {
		if (svc == "" || a.Service == svc) && (st == "" || a.State == st) {
			out = append(out, a)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"alerts": out})
}

// notifications lists every notification, newest first, with its
// receiver, dedup key, status, attempt count and last error:
// ?receiver=&dedup_key=&status=&limit=.
func (h *Handler) notifications(c echo.Context) error {
	if h.Outbox == nil {
		return c.JSON(http.StatusOK, map[string]any{"notifications": []any{}})
	}
	f := outbox.Filter{Receiver: c.QueryParam("receiver"), DedupKey: c.QueryParam("dedup_key"),
		Status: outbox.Status(c.QueryParam("status")), Limit: 100}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("limit: must be a whole number from 1 to 1000, got %q", s))
		}
		f.Limit = n
	}
	ns, err := h.Outbox.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if ns == nil {
		ns = []outbox.Notification{}
	}
	return c.JSON(http.StatusOK, map[string]any{"notifications": ns})
}

func (h *Handler) onCall(c echo.Context) error {
	oc, err := h.Directory.OnCall(c.Param("team"), h.Now())
	switch {
	case errors.Is(err, oncall.ErrUnknownTeam):
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("team %q not found", c.Param("team")))
	case errors.Is(err, oncall.ErrNoRotation):
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("team %q has no rotation", c.Param("team")))
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, oc)
}

// teamJSON is one team in GET /oncall.
type teamJSON struct {
	Team    string   `json:"team"`
	Members []string `json:"members"`
	// Channel names the team's channel receiver, "" when it has none.
	Channel string `json:"channel"`
	// OnCall is what GET /oncall/{team} answers; null without a rotation.
	OnCall *oncall.OnCall `json:"onCall"`
}

// teams lists every team, sorted by name, with who is on call now.
func (h *Handler) teams(c echo.Context) error {
	now := h.Now()
	out := []teamJSON{}
	for _, t := range h.Directory.Teams() {
		tj := teamJSON{Team: t.Name, Members: t.Members, Channel: t.Channel}
		if t.HasRotation {
			oc, err := h.Directory.OnCall(t.Name, now)
			if err != nil {
				return err
			}
			tj.OnCall = &oc
		}
		out = append(out, tj)
	}
	return c.JSON(http.StatusOK, map[string][]teamJSON{"teams": out})
}

// rulesJSON is the answer of GET /rules/{service}.
type rulesJSON struct {
	Service string         `json:"service"`
	SLOs    []sloRulesJSON `json:"slos"`
}

// sloRulesJSON is how one SLO is alerted on.
type sloRulesJSON struct {
	SLO string `json:"slo"`
	// MinBadEvents is the low-traffic guard; 0 means none.
	MinBadEvents float64    `json:"minBadEvents"`
	Rules        []ruleJSON `json:"rules"`
}

// ruleJSON is an alerting.Rule with its windows written as in specs.
type ruleJSON struct {
	Severity string  `json:"severity"`
	Long     string  `json:"long"`
	Short    string  `json:"short"`
	Burn     float64 `json:"burn"`
}

// rules answers the burn-rate rules each of a service's SLOs is evaluated
// with: its spec's, or the defaults scaled to its window, exactly as
// alerting.Config.Effective gives them to the evaluator.
func (h *Handler) rules(c echo.Context) error {
	name := c.Param("service")
	svc := h.Services[name]
	if svc == nil {
		return h.unknownService(name)
	}
	cfg, err := alerting.ConfigFor(svc).Effective()
	if err != nil {
		return fmt.Errorf("alerting rules of %s: %w", name, err)
	}
	out := rulesJSON{Service: name, SLOs: []sloRulesJSON{}}
	for _, s := range cfg.SLOs {
		sj := sloRulesJSON{SLO: s.Name, MinBadEvents: max(s.MinBadEvents, 0), Rules: []ruleJSON{}}
		for _, r := range s.Rules {
			sj.Rules = append(sj.Rules, ruleJSON{Severity: r.Severity, Long: model.Duration(r.Long).String(),
				Short: model.Duration(r.Short).String(), Burn: r.Burn})
		}
		out.SLOs = append(out.SLOs, sj)
	}
	return c.JSON(http.StatusOK, out)
}

// unknownService is a 404 for a service with no spec, naming the closest
// known ones.
func (h *Handler) unknownService(name string) error {
	known := make([]string, 0, len(h.Services))
	for n := range h.Services {
		known = append(known, n)
	}
	slices.Sort(known)
	return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %q not found%s", name, slo.DidYouMean(name, known)))
}

// route answers who would be told of an alert: ?service=&slo=&severity=.
func (h *Handler) route(c echo.Context) error {
	name, sloName, sev := c.QueryParam("service"), c.QueryParam("slo"), c.QueryParam("severity")
	svc := h.Services[name]
	switch {
	case name == "":
		return echo.NewHTTPError(http.StatusBadRequest, "service: required")
	case svc == nil:
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %q not found", name))
	case sev == "":
		sev = oncall.SeverityPage
	}
	if sloName != "" && !hasSLO(svc, sloName) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("service %q has no SLO %q", name, sloName))
	}
	author := ""
	if h.Suspect != nil {
		a, err := h.Suspect(c.Request().Context(), name)
		if err != nil {
			return err
		}
		author = a
	}
	r, err := h.Directory.Route(svc, sev, author, h.Now())
	if errors.Is(err, oncall.ErrUnknownSeverity) {
		return echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("severity: must be page or ticket, got %q", sev))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func hasSLO(svc *slo.Service, name string) bool {
	for _, s := range svc.SLOs {
		if s.Name == name {
			return true
		}
	}
	return false
}
