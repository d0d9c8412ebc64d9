package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/alerting/state"
	"github.com/slogate/slogate/httpapi"
	"github.com/slogate/slogate/slo"
)

// SilenceHandler serves silences, which keep a service's alerts (or one
// SLO's) from being sent for a while, and acknowledgements, which say that
// someone took charge of an alert.
type SilenceHandler struct {
	// Store keeps silences and acknowledgements. Required.
	Store *state.Store
	// Actor names who the request's bearer token belongs to; it becomes
	// the author of a silence, who expired it, or who acknowledged an
	// alert. Required.
	Actor func(echo.Context) string
	// Services are the specs by name: a silence can only be set on one of
	// them and its SLOs.
	Services map[string]*slo.Service
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Register adds the routes to grp, mounted at /api/v1: reads behind read,
// changes behind write. It panics without a Store or an Actor, a wiring
// mistake better found at start than at the first silence.
func (h *SilenceHandler) Register(grp *echo.Group, read, write echo.MiddlewareFunc) {
	if h.Store == nil || h.Actor == nil {
		panic("api: SilenceHandler needs a Store and an Actor")
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	grp.POST("/silences", h.addSilence, write)
	grp.GET("/silences", h.listSilences, read)
	grp.GET("/silences/:id", h.getSilence, read)
	grp.DELETE("/silences/:id", h.expireSilence, write)
	grp.POST("/acks", h.acknowledge, write)
	grp.GET("/acks", h.getAck, read)
}

// silenceJSON is a silence as the API shows it: with its state when
// answered.
type silenceJSON struct {
	state.Silence
	// State shadows Silence's method of the same name, whose result it
	// holds.
	State string `json:"state"`
}

func silenceAt(s state.Silence, now time.Time) silenceJSON {
	return silenceJSON{Silence: s, State: s.State(now)}
}

// silenceRequest is the body of POST /silences.
type silenceRequest struct {
	Service string `json:"service"`
	// SLO is empty to silence every SLO of the service.
	SLO string `json:"slo"`
	// StartsAt is RFC 3339; empty for now.
	StartsAt string `json:"startsAt"`
	// EndsAt is RFC 3339. Exactly one of EndsAt and Duration is given.
	EndsAt string `json:"endsAt"`
	// Duration is counted from the start: "90m", "2h", "1d".
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

func (h *SilenceHandler) addSilence(c echo.Context) error {
	var r silenceRequest
	if err := httpapi.Decode(c, &r); err != nil {
		return err
	}
	now := h.Now().UTC()
	if r.Service == "" {
		return httpapi.BadRequest("service", "required")
	}
	if err := h.knownServiceSLO(r.Service, r.SLO); err != nil {
		return err
	}
	sil := state.Silence{Service: r.Service, SLO: r.SLO, Reason: r.Reason, Author: h.Actor(c)}
	if r.StartsAt != "" {
		t, err := time.Parse(time.RFC3339, r.StartsAt)
		if err != nil {
			return httpapi.BadRequest("startsAt", "must be an RFC 3339 time such as 2026-11-25T10:00:00Z, got %q", r.StartsAt)
		}
		sil.StartsAt = t
	}
	switch {
	case r.EndsAt != "" && r.Duration != "":
		return httpapi.BadRequest("duration", "cannot be given with endsAt; give one of them")
	case r.EndsAt == "" && r.Duration == "":
		return httpapi.BadRequest("endsAt", "required: give endsAt as an RFC 3339 time, or duration such as 2h or 1d")
	case r.EndsAt != "":
		t, err := time.Parse(time.RFC3339, r.EndsAt)
		if err != nil {
			return httpapi.BadRequest("endsAt", "must be an RFC 3339 time such as 2026-11-25T12:00:00Z, got %q", r.EndsAt)
		}
		sil.EndsAt = t
	default:
		d, err := parsePositiveDuration(r.Duration)
		if err != nil {
			return httpapi.BadRequest("duration", "must be a positive duration such as 90m, 2h or 1d, got %q", r.Duration)
		}
		from := now // as the store does: a silence starts now at the earliest
		if sil.StartsAt.After(now) {
			from = sil.StartsAt
		}
		sil.EndsAt = from.Add(d)
	}
	sil, err := h.Store.AddSilence(c.Request().Context(), sil, now)
	if err != nil {
		return silenceError(err, 0)
	}
	return c.JSON(http.StatusCreated, silenceAt(sil, now))
}

// parsePositiveDuration reads a Go duration ("1h30m", "1.5h") or a
// Prometheus one, which also knows days and weeks ("1d", "1w").
func parsePositiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		md, merr := model.ParseDuration(s)
		if merr != nil {
			return 0, merr
		}
		d = time.Duration(md)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %s is not positive", s)
	}
	return d, nil
}

// silenceStates are the values ?state= takes.
var silenceStates = []string{state.StateActive, state.StatePending, state.StateExpired, "all"}

// listSilences answers the silences newest first, each with its state:
// ?service=&state=active|pending|expired|all&limit=.
func (h *SilenceHandler) listSilences(c echo.Context) error {
	f := state.SilenceFilter{Service: c.QueryParam("service"), Limit: state.DefaultLimit}
	if f.Service != "" {
		if err := h.knownServiceSLO(f.Service, ""); err != nil {
			return err
		}
	}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > state.MaxLimit {
			return httpapi.BadRequest("limit", "must be a whole number from 1 to %d, got %q", state.MaxLimit, s)
		}
		f.Limit = n
	}
	now := h.Now()
	switch st := c.QueryParam("state"); st {
	case "", "all":
	case state.StateActive:
		f.ActiveAt = now
	case state.StatePending:
		f.PendingAt = now
	case state.StateExpired:
		f.ExpiredAt = now
	default:
		return httpapi.BadRequest("state", "must be one of %s, got %q", strings.Join(silenceStates, ", "), st)
	}
	ss, err := h.Store.ListSilences(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]silenceJSON, len(ss))
	for i, s := range ss {
		out[i] = silenceAt(s, now)
	}
	return c.JSON(http.StatusOK, map[string]any{"silences": out})
}

func (h *SilenceHandler) getSilence(c echo.Context) error {
	id, err := silenceID(c)
	if err != nil {
		return err
	}
	s, err := h.Store.Silence(c.Request().Context(), id)
	if err != nil {
		return silenceError(err, id)
	}
	return c.JSON(http.StatusOK, silenceAt(s, h.Now()))
}

// expireSilence ends a silence now, recording who did.
func (h *SilenceHandler) expireSilence(c echo.Context) error {
	id, err := silenceID(c)
	if err != nil {
		return err
	}
	now := h.Now()
	s, err := h.Store.ExpireSilence(c.Request().Context(), id, h.Actor(c), now)
	if err != nil {
		return silenceError(err, id)
	}
	return c.JSON(http.StatusOK, silenceAt(s, now))
}

func silenceID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, httpapi.BadRequest("id", "must be a silence's number, got %q", c.Param("id"))
	}
	return id, nil
}

// silenceError maps the state store's errors about silence id to statuses.
func silenceError(err error, id int64) error {
	var ie *state.InvalidError
	switch {
	case errors.As(err, &ie):
		return echo.NewHTTPError(http.StatusBadRequest, ie.Error())
	case errors.Is(err, state.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("silence %d not found", id))
	case errors.Is(err, state.ErrExpired):
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("silence %d has already expired", id))
	}
	return err
}

// ackRequest is the body of POST /acks. Dedup keys hold slashes
// ("checkout/page/1764000000"), hence a body rather than a path.
type ackRequest struct {
	Key     string `json:"key"`
	Comment string `json:"comment"`
}

// acknowledge records that the caller took charge of an alert. Doing it
// again changes nothing and answers the first acknowledgement.
func (h *SilenceHandler) acknowledge(c echo.Context) error {
	var r ackRequest
	if err := httpapi.Decode(c, &r); err != nil {
		return err
	}
	if strings.TrimSpace(r.Key) == "" {
		return httpapi.BadRequest("key", "required: the dedup key of the alert, such as checkout/page/1764000000")
	}
	a, err := h.Store.Acknowledge(c.Request().Context(), r.Key, h.Actor(c), r.Comment, h.Now())
	if err != nil {
		return silenceError(err, 0)
	}
	return c.JSON(http.StatusOK, map[string]any{"ack": a})
}

// getAck answers the acknowledgement of the alert ?key=.
func (h *SilenceHandler) getAck(c echo.Context) error {
	key := c.QueryParam("key")
	if key == "" {
		return httpapi.BadRequest("key", "required: the dedup key of the alert, such as checkout/page/1764000000")
	}
	a, err := h.Store.Acked(c.Request().Context(), key)
	if err != nil {
		return err
	}
	if a == nil {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("alert %q is not acknowledged", key))
	}
	return c.JSON(http.StatusOK, map[string]any{"ack": a})
}

// knownServiceSLO is a 400 unless service is one of Services and sloName
// is empty or one of its SLOs, with the names meant when they are close.
func (h *SilenceHandler) knownServiceSLO(service, sloName string) error {
	svc := h.Services[service]
	if svc == nil {
		names := make([]string, 0, len(h.Services))
		for n := range h.Services {
			names = append(names, n)
		}
		sort.Strings(names)
		return httpapi.BadRequest("service", "unknown service %q%s", service, didYouMean(service, names, "known services"))
	}
	if sloName == "" {
		return nil
	}
	names := make([]string, len(svc.SLOs))
	for i, s := range svc.SLOs {
		names[i] = s.Name
	}
	if !slices.Contains(names, sloName) {
		return httpapi.BadRequest("slo", "service %q has no SLO %q%s", service, sloName, didYouMean(sloName, names, "its SLOs"))
	}
	return nil
}

// didYouMean suggests the names in known closest to name, or lists them
// under label when none is close and they are few; "" otherwise.
func didYouMean(name string, known []string, label string) string {
	if hint := slo.DidYouMean(name, known); hint != "" {
		return hint
	}
	if len(known) > 0 && len(known) <= 10 {
		return "; " + label + ": " + strings.Join(known, ", ")
	}
	return ""
}
