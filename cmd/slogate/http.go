package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	alertapi "github.com/slogate/slogate/alerting/api"
	"github.com/slogate/slogate/budget/monitor"
	gateapi "github.com/slogate/slogate/gate/api"
	"github.com/slogate/slogate/slo"
	"github.com/slogate/slogate/ui"
	"github.com/slogate/slogate/ui/api"
)

// newHTTPServer wires every HTTP route: the JSON API, the push intake,
// health and readiness, /metrics, POST /-/reload, the spec API and the web
// UI. cat is the catalog of the runtime the routes serve.
func newHTTPServer(log *slog.Logger, set *metrics.Set, mon *monitor.Monitor, gt *gateapi.Gate, alerts *alertapi.Handler, auth *gateapi.Auth, push http.Handler, srcs *sourceSet, proc *process, cat *slo.Catalog) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = api.ErrorHandler(func(err error, c echo.Context) {
		log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	})
	e.Use(middleware.Recover())
	e.Use(instrument(set, log))

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		if !mon.Ready() {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "restoring history"})
		}
		// Ready even after a refused reload: the running config serves.
		return c.JSON(http.StatusOK, map[string]any{"status": "ready", "config": proc.status.Load()})
	})
	reload, reloadAuth := proc.reloadRoute(auth)
	e.POST("/-/reload", reload, reloadAuth)
	e.GET("/metrics", func(c echo.Context) error {
		w := c.Response()
		w.Header().Set(echo.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		metrics.WriteProcessMetrics(w)
		set.WritePrometheus(w)
		mon.WriteMetrics(w)
		gt.WriteMetrics(w)
		alerts.WriteMetrics(w)
		return nil
	})

	v1 := e.Group("/api/v1")
	(&api.Handler{Monitor: mon, Sources: srcs.health}).Register(e.Group("/api/v1", auth.Read()))
	v1.POST("/events", echo.WrapHandler(push))
	gt.Register(v1)
	alerts.Register(v1, auth.Read(), auth.Require(slo.ScopeAlertsWrite))
	proc.specRoutes(v1, cat, auth.Read(), auth.Require(slo.ScopeSpecWrite))
	ui.Register(e)
	return e
}

// instrument counts requests by route, method and status code, and records
// their durations, in set; it logs each request at debug level. The metric
// objects are looked up once per route, method and code: formatting their
// names on every request would cost more than a gate answer.
func instrument(set *metrics.Set, log *slog.Logger) echo.MiddlewareFunc {
	type key struct {
		route, method string
		code          int
	}
	type pair struct {
		count *metrics.Counter
		dur   *metrics.Histogram
	}
	var cache sync.Map // key -> *pair
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			k := key{route: c.Path(), method: c.Request().Method, code: c.Response().Status}
			if k.route == "" {
				k.route = "other"
			}
			v, ok := cache.Load(k)
			if !ok {
				v, _ = cache.LoadOrStore(k, &pair{
					count: set.GetOrCreateCounter(fmt.Sprintf(`slogate_http_requests_total{handler=%q,method=%q,code="%d"}`, k.route, k.method, k.code)),
					dur:   set.GetOrCreateHistogram(fmt.Sprintf(`slogate_http_request_duration_seconds{handler=%q}`, k.route)),
				})
			}
			p := v.(*pair)
			p.count.Inc()
			p.dur.UpdateDuration(start)
			if log.Enabled(c.Request().Context(), slog.LevelDebug) {
				log.Debug("http request", "method", k.method, "path", c.Request().URL.Path, "status", k.code,
					"duration", time.Since(start))
			}
			return nil
		}
	}
}
