// Package api serves the alerting side of slogate over HTTP: who is on
// call for a team, and a dry run of where an alert would be routed.
package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

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
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Register adds the routes to grp, mounted at /api/v1, behind read.
func (h *Handler) Register(grp *echo.Group, read echo.MiddlewareFunc) {
	if h.Now == nil {
		h.Now = time.Now
	}
	grp.GET("/oncall/:team", h.onCall, read)
	grp.GET("/route", h.route, read)
	grp.GET("/notifications", h.notifications, read)
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
