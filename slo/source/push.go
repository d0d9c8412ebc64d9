package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/slogate/slogate/slo"
)

const (
	// MaxPushBody is the largest request body the push intake reads.
	MaxPushBody = 1 << 20
	// DefaultPushMaxAge is how old a pushed event may be when
	// PushConfig.MaxAge is zero.
	DefaultPushMaxAge = 24 * time.Hour
	// maxPushFuture is how far in the future a pushed timestamp may be, to
	// allow for clock skew.
	maxPushFuture = 5 * time.Minute
)

// PushConfig configures a Push intake.
type PushConfig struct {
	// Services are validated specs; only their SLOs with a push SLI accept
	// events.
	Services []*slo.Service
	// Sink stores the events. Required.
	Sink Sink
	// Logger receives storage failures; nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxAge is how old an event's timestamp may be; default
	// DefaultPushMaxAge. Set it to the retention to allow backfills.
	MaxAge time.Duration
}

// Push is the push intake: an http.Handler for POST /api/v1/events that
// accepts good and total counts of push SLOs. It answers only after the
// counts are stored, so an acknowledged event is never lost. It is safe for
// concurrent use.
//
// The body is one JSON event or an array of them:
//
//	{"service":"nightly-export","slo":"success","good":97,"total":100,"timestamp":"2026-11-25T10:00:00Z"}
//
// The timestamp is optional and defaults to now. A batch is stored
// atomically: if one event is invalid, none is stored. Success is 200 with
// {"accepted":N}; errors are 4xx with {"error":"..."} saying what is wrong.
type Push struct {
	sink   Sink
	log    *slog.Logger
	now    func() time.Time
	maxAge time.Duration
	slos   atomic.Pointer[map[string]map[string]bool] // service → slo → is push
}

// NewPush validates cfg and returns the intake.
func NewPush(cfg PushConfig) (*Push, error) {
	if cfg.Sink == nil {
		return nil, errors.New("new push intake: sink is required")
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("new push intake: max age must not be negative, got %v", cfg.MaxAge)
	}
	p := &Push{sink: cfg.Sink, log: discardLogger(cfg.Logger), now: cfg.Now, maxAge: cfg.MaxAge}
	if p.now == nil {
		p.now = time.Now
	}
	if p.maxAge == 0 {
		p.maxAge = DefaultPushMaxAge
	}
	p.SetServices(cfg.Services)
	return p, nil
}

// SetServices replaces the services whose SLOs accept events.
func (p *Push) SetServices(services []*slo.Service) {
	m := make(map[string]map[string]bool, len(services))
	for _, svc := range services {
		if svc == nil {
			continue
		}
		slos := make(map[string]bool, len(svc.SLOs))
		for _, o := range svc.SLOs {
			slos[o.Name] = o.SLI.Push != nil
		}
		m[svc.Name] = slos
	}
	p.slos.Store(&m)
}

// pushEvent is one event as posted. Pointers tell missing fields apart.
type pushEvent struct {
	Service   string   `json:"service"`
	SLO       string   `json:"slo"`
	Good      *float64 `json:"good"`
	Total     *float64 `json:"total"`
	Timestamp *string  `json:"timestamp"`
}

// pushError is an error answered to the client with its status.
type pushError struct {
	status int
	msg    string
}

func (e *pushError) Error() string { return e.msg }

func badRequest(format string, args ...any) *pushError {
	return &pushError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// ServeHTTP handles POST /api/v1/events.
func (p *Push) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed; use POST"})
		return
	}
	incs, err := p.decode(w, r)
	if err != nil {
		var pe *pushError
		if !errors.As(err, &pe) {
			pe = badRequest("%v", err)
		}
		writeJSON(w, pe.status, map[string]string{"error": pe.msg})
		return
	}
	if err := p.sink.Record(r.Context(), incs, nil); err != nil {
		p.log.Error("cannot store pushed events", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error: events not stored, retry later"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(incs)})
}

// decode reads, validates and converts the request's events.
func (p *Push) decode(w http.ResponseWriter, r *http.Request) ([]Increase, error) {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return nil, &pushError{http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q is not supported; want application/json", ct)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPushBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &pushError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", MaxPushBody)}
		}
		return nil, badRequest("cannot read body: %v", err)
	}
	return p.parse(body)
}

// parse validates body and returns one Increase per event.
func (p *Push) parse(body []byte) ([]Increase, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	batch := len(trimmed) > 0 && trimmed[0] == '['
	var events []pushEvent
	var err error
	if batch {
		err = decodeStrict(body, &events)
	} else {
		events = make([]pushEvent, 1)
		err = decodeStrict(body, &events[0])
	}
	if err != nil {
		return nil, badRequest("invalid JSON: %v", err)
	}
	if len(events) == 0 {
		return nil, badRequest("no events: the array is empty")
	}
	now := p.now()
	slos := *p.slos.Load()
	incs := make([]Increase, 0, len(events))
	for i, ev := range events {
		inc, err := p.check(ev, now, slos)
		if err != nil {
			if batch {
				err.msg = fmt.Sprintf("event %d: %s", i, err.msg)
			}
			return nil, err
		}
		incs = append(incs, inc)
	}
	return incs, nil
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// check validates one event.
func (p *Push) check(ev pushEvent, now time.Time, slos map[string]map[string]bool) (Increase, *pushError) {
	switch {
	case ev.Service == "":
		return Increase{}, badRequest("service is required")
	case ev.SLO == "":
		return Increase{}, badRequest("slo is required")
	}
	svc, ok := slos[ev.Service]
	if !ok {
		return Increase{}, &pushError{http.StatusNotFound, fmt.Sprintf("unknown service %q", ev.Service)}
	}
	isPush, ok := svc[ev.SLO]
	if !ok {
		return Increase{}, &pushError{http.StatusNotFound, fmt.Sprintf("service %q has no slo %q", ev.Service, ev.SLO)}
	}
	if !isPush {
		return Increase{}, &pushError{http.StatusConflict, fmt.Sprintf("slo %q of service %q does not take pushed events (its sli is not push)", ev.SLO, ev.Service)}
	}
	if ev.Good == nil {
		return Increase{}, badRequest("good is required")
	}
	if ev.Total == nil {
		return Increase{}, badRequest("total is required")
	}
	good, total := *ev.Good, *ev.Total
	for _, f := range []struct {
		name string
		v    float64
	}{{"good", good}, {"total", total}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return Increase{}, badRequest("%s is %v; want a finite number >= 0", f.name, f.v)
		}
	}
	if good > total {
		return Increase{}, badRequest("good %v is greater than total %v", good, total)
	}
	ts := now
	if ev.Timestamp != nil {
		t, err := time.Parse(time.RFC3339Nano, *ev.Timestamp)
		if err != nil {
			return Increase{}, badRequest("timestamp %q is not RFC 3339 (e.g. 2026-11-25T10:00:00Z)", *ev.Timestamp)
		}
		if t.After(now.Add(maxPushFuture)) {
			return Increase{}, badRequest("timestamp %s is more than %v in the future", *ev.Timestamp, maxPushFuture)
		}
		if t.Before(now.Add(-p.maxAge)) {
			return Increase{}, badRequest("timestamp %s is older than the maximum age %v", *ev.Timestamp, p.maxAge)
		}
		ts = t
	}
	return Increase{
		Service: ev.Service,
		SLO:     ev.SLO,
		Minute:  ts.UTC().Truncate(time.Minute),
		Good:    good,
		Total:   total,
	}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
