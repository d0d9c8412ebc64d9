// Package api serves slogate's read-only JSON API over budgets: services,
// SLOs, their time series for charts and the health of the SLI sources. It
// answers from the monitor's latest snapshot and maps every error to a JSON
// body with a message that says what was wrong.
package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/budget/monitor"
)

// Error is an API error with its HTTP status; its message is shown to the
// client as is.
type Error struct {
	Status  int
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// ErrorHandler writes every error as {"error": message} with a status: an
// *Error keeps its own, echo's HTTP errors keep theirs, and anything else is
// logged by the caller and shown as "internal error" so no detail leaks.
func ErrorHandler(logf func(err error, c echo.Context)) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, msg := http.StatusInternalServerError, "internal error"
		var ae *Error
		var he *echo.HTTPError
		switch {
		case errors.As(err, &ae):
			status, msg = ae.Status, ae.Message
		case errors.As(err, &he):
			status = he.Code
			msg = strings.ToLower(http.StatusText(he.Code))
			if m, ok := he.Message.(string); ok && m != "" {
				msg = m
			}
		default:
			if logf != nil {
				logf(err, c)
			}
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, map[string]string{"error": msg})
	}
}

// Sources reports the health of the SLI sources for /api/v1/targets.
type Sources func() any

// Handler serves the budget API from a monitor.
type Handler struct {
	Monitor *monitor.Monitor
	// Sources, when set, is served at /api/v1/targets.
	Sources Sources
	// Now is the clock for default time ranges; default time.Now.
	Now func() time.Time
}

// Register adds the API's routes to g, which is mounted at /api/v1.
func (h *Handler) Register(g *echo.Group) {
	if h.Now == nil {
		h.Now = time.Now
	}
	g.GET("/services", h.services)
	g.GET("/services/:service", h.service)
	g.GET("/services/:service/slos/:slo", h.slo)
	g.GET("/services/:service/slos/:slo/series", h.series)
	g.GET("/targets", h.targets)
}

func (h *Handler) services(c echo.Context) error {
	snap := h.Monitor.Snapshot()
	team, state := c.QueryParam("team"), c.QueryParam("state")
	out := make([]*monitor.ServiceStatus, 0, len(snap.Services))
	for _, s := range snap.Services {
		if (team == "" || s.Team == team) && (state == "" || s.State == state) {
			out = append(out, s)
		}
	}
	switch sortBy := c.QueryParam("sort"); sortBy {
	case "", "name":
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	case "budget":
		sort.SliceStable(out, func(i, j int) bool { return lowest(out[i]) < lowest(out[j]) })
	default:
		return Errorf(http.StatusBadRequest, "sort: unknown value %q, expected name or budget", sortBy)
	}
	return c.JSON(http.StatusOK, map[string]any{"evaluatedAt": snap.At, "services": out})
}

func lowest(s *monitor.ServiceStatus) float64 {
	if s.LowestBudgetRemaining == nil {
		return math.Inf(1)
	}
	return *s.LowestBudgetRemaining
}

func (h *Handler) service(c echo.Context) error {
	name := c.Param("service")
	s := h.Monitor.Snapshot().Service(name)
	if s == nil {
		return Errorf(http.StatusNotFound, "service %q not found", name)
	}
	return c.JSON(http.StatusOK, s)
}

func (h *Handler) slo(c echo.Context) error {
	svc, name := c.Param("service"), c.Param("slo")
	snap := h.Monitor.Snapshot()
	if snap.Service(svc) == nil {
		return Errorf(http.StatusNotFound, "service %q not found", svc)
	}
	s := snap.SLO(svc, name)
	if s == nil {
		return Errorf(http.StatusNotFound, "service %q has no SLO %q", svc, name)
	}
	return c.JSON(http.StatusOK, s)
}

// defaultPoints is how many points a series has when no step is given.
const defaultPoints = 500

func (h *Handler) series(c echo.Context) error {
	now := h.Now()
	to, err := parseTime(c.QueryParam("to"), now, now)
	if err != nil {
		return Errorf(http.StatusBadRequest, "to: %v", err)
	}
	from, err := parseTime(c.QueryParam("from"), now, to.Add(-24*time.Hour))
	if err != nil {
		return Errorf(http.StatusBadRequest, "from: %v", err)
	}
	if !to.After(from) {
		return Errorf(http.StatusBadRequest, "from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	step := to.Sub(from) / defaultPoints
	if q := c.QueryParam("step"); q != "" {
		if step, err = parseStep(q); err != nil {
			return Errorf(http.StatusBadRequest, "step: %v", err)
		}
	}
	s, err := h.Monitor.Series(c.Param("service"), c.Param("slo"), from, to, step)
	switch {
	case errors.Is(err, monitor.ErrNotFound):
		return Errorf(http.StatusNotFound, "%s", strings.TrimSuffix(err.Error(), ": "+monitor.ErrNotFound.Error()))
	case errors.Is(err, monitor.ErrBadRange):
		return Errorf(http.StatusBadRequest, "%s", strings.TrimSuffix(err.Error(), ": "+monitor.ErrBadRange.Error()))
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (h *Handler) targets(c echo.Context) error {
	if h.Sources == nil {
		return c.JSON(http.StatusOK, map[string]any{})
	}
	return c.JSON(http.StatusOK, h.Sources())
}

// parseTime reads RFC 3339, Unix seconds (with fraction), or "now" and
// "now-<duration>" relative to now; empty gives def.
func parseTime(s string, now, def time.Time) (time.Time, error) {
	switch {
	case s == "":
		return def, nil
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "now-"):
		d, err := parseStep(s[len("now-"):])
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot parse %q: expected RFC 3339, Unix seconds, now or now-<duration>", s)
	}
	return t, nil
}

// parseStep reads a Prometheus duration ("5m", "1h30m", "2d") or a
// number of seconds.
func parseStep(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 {
			return 0, fmt.Errorf("must be positive, got %q", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	md, err := model.ParseDuration(s)
	d := time.Duration(md)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("cannot parse %q: expected a positive duration such as 5m, 1h or 2d", s)
	}
	return d, nil
}
