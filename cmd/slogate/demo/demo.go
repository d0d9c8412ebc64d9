// Package demo is the built-in demo workload that `slogate serve --demo`
// (and so `make run`) starts: an example web shop with /checkout, /invoices
// and /search endpoints that take real HTTP requests from a built-in traffic
// generator and fail in realistic bursts, so a new user sees budgets move.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Config holds the demo's settings.
type Config struct {
	// Listen is the demo service's address; default 127.0.0.1:8081.
	Listen string
	// RequestsPerSecond is the generated traffic across all endpoints;
	// default 20.
	RequestsPerSecond float64
	// Logger receives start and stop messages; default discards.
	Logger *slog.Logger
	// Seed makes the traffic and failures reproducible; 0 picks one.
	Seed uint64
	// PushURL is slogate's push intake (http://.../api/v1/events); with
	// PushSLOs, the demo also plays a batch job that posts its counts there.
	PushURL string
	// PushSLOs are the SLOs with a push SLI the batch job reports on.
	PushSLOs []PushSLO
	// PushInterval is how often the batch job runs; default 30s.
	PushInterval time.Duration
}

// PushSLO names an SLO fed by the push intake.
type PushSLO struct{ Service, SLO string }

// endpoint is one demo handler with its normal behaviour.
type endpoint struct {
	path string
	// share of the traffic
	weight float64
	// errorRate is the normal fraction of 5xx answers.
	errorRate float64
	// median latency in seconds
	median float64
}

var endpoints = []endpoint{
	{path: "/checkout", weight: 0.3, errorRate: 0.0005, median: 0.06},
	{path: "/invoices", weight: 0.2, errorRate: 0.001, median: 0.05},
	{path: "/search", weight: 0.5, errorRate: 0.002, median: 0.03},
}

// Demo is a running demo service and traffic generator.
type Demo struct {
	addr string
	set  *metrics.Set
	mu   sync.Mutex
	rnd  *rand.Rand
	// incident, when active, raises an endpoint's error rate or latency.
	incidents []incident
}

type incident struct {
	path       string
	start, end time.Time
	errorRate  float64
	slowdown   float64
}

// Addr is the demo service's listen address.
func (d *Demo) Addr() string { return d.addr }

// Start runs the demo service and its traffic generator until ctx ends.
func Start(ctx context.Context, cfg Config) (*Demo, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8081"
	}
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	d := &Demo{addr: ln.Addr().String(), set: metrics.NewSet(), rnd: rand.New(rand.NewPCG(seed, seed>>1|1))}
	mux := http.NewServeMux()
	for _, ep := range endpoints {
		mux.HandleFunc(ep.path, d.handler(ep))
		// Create the series up front so the first request is counted, not
		// taken as a counter's baseline.
		for _, code := range []string{"200", "500"} {
			d.set.GetOrCreateCounter(requestsName(ep.path, "GET", code))
		}
		d.set.GetOrCreatePrometheusHistogramExt(durationName(ep.path, "GET"), buckets)
	}
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		d.set.WritePrometheus(w)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Logger.Error("demo server failed", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go d.generate(ctx, cfg.RequestsPerSecond, cfg.Logger)
	if cfg.PushURL != "" && len(cfg.PushSLOs) > 0 {
		if cfg.PushInterval <= 0 {
			cfg.PushInterval = 30 * time.Second
		}
		go d.batch(ctx, cfg)
	}
	return d, nil
}

// batch plays a batch job: every interval it "delivers" 20 files per push
// SLO, each failing now and then, and posts the counts to slogate.
func (d *Demo) batch(ctx context.Context, cfg Config) {
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(cfg.PushInterval)
	defer tick.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		var events []map[string]any
		d.mu.Lock()
		for _, p := range cfg.PushSLOs {
			const files = 20
			good := 0
			for range files {
				if d.rnd.Float64() >= 0.004 {
					good++
				}
			}
			events = append(events, map[string]any{"service": p.Service, "slo": p.SLO, "good": good, "total": files})
		}
		d.mu.Unlock()
		body, _ := json.Marshal(events)
		resp, err := client.Post(cfg.PushURL, "application/json", bytes.NewReader(body))
		if err != nil {
			cfg.Logger.Warn("demo batch job could not push", "err", err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			cfg.Logger.Warn("demo batch job push refused", "status", resp.StatusCode)
		}
	}
}

var buckets = []float64{.05, .1, .2, .3, .5, 1, 2, 5}

func requestsName(path, method, code string) string {
	return fmt.Sprintf(`http_requests_total{handler=%q,method=%q,code=%q}`, path, method, code)
}

func durationName(path, method string) string {
	return fmt.Sprintf(`http_request_duration_seconds{handler=%q,method=%q}`, path, method)
}

// handler answers like a real service would: after a log-normal latency,
// with an error at the endpoint's current error rate.
func (d *Demo) handler(ep endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		errRate, slow := d.conditions(ep, start)
		d.mu.Lock()
		lat := ep.median * slow * math.Exp(0.6*d.rnd.NormFloat64())
		fail := d.rnd.Float64() < errRate
		d.mu.Unlock()
		time.Sleep(time.Duration(min(lat, 3) * float64(time.Second)))
		code := http.StatusOK
		if fail {
			code = http.StatusInternalServerError
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "%s %d\n", ep.path, code)
		d.set.GetOrCreateCounter(requestsName(ep.path, r.Method, fmt.Sprint(code))).Inc()
		d.set.GetOrCreatePrometheusHistogramExt(durationName(ep.path, r.Method), buckets).UpdateDuration(start)
	}
}

// conditions returns the error rate and latency factor in force for ep at
// t, including any running incident.
func (d *Demo) conditions(ep endpoint, t time.Time) (errRate, slowdown float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	errRate, slowdown = ep.errorRate, 1
	for _, in := range d.incidents {
		if in.path == ep.path && !t.Before(in.start) && t.Before(in.end) {
			errRate = max(errRate, in.errorRate)
			slowdown = max(slowdown, in.slowdown)
		}
	}
	return errRate, slowdown
}

// generate sends Poisson-distributed requests and, now and then, starts an
// incident: an error burst or a slowdown of one endpoint for a few minutes.
func (d *Demo) generate(ctx context.Context, rps float64, log *slog.Logger) {
	client := &http.Client{Timeout: 10 * time.Second}
	sem := make(chan struct{}, 64)
	nextIncident := time.Now().Add(2 * time.Minute)
	for {
		d.mu.Lock()
		wait := time.Duration(d.rnd.ExpFloat64() / rps * float64(time.Second))
		pick := d.rnd.Float64()
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if now := time.Now(); now.After(nextIncident) {
			in := d.newIncident(now)
			log.Info("demo incident", "endpoint", in.path, "error_rate", in.errorRate, "slowdown", in.slowdown,
				"until", in.end.Format(time.TimeOnly))
			d.mu.Lock()
			d.incidents = append(d.incidents[:0:0], in)
			nextIncident = now.Add(time.Duration(8+d.rnd.IntN(12)) * time.Minute)
			d.mu.Unlock()
		}
		ep := endpoints[len(endpoints)-1]
		for _, e := range endpoints {
			if pick < e.weight {
				ep = e
				break
			}
			pick -= e.weight
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // the demo is saturated: drop rather than pile up
		}
		go func() {
			defer func() { <-sem }()
			resp, err := client.Get("http://" + d.addr + ep.path)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
}

func (d *Demo) newIncident(now time.Time) incident {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep := endpoints[d.rnd.IntN(len(endpoints))]
	in := incident{path: ep.path, start: now, end: now.Add(time.Duration(2+d.rnd.IntN(4)) * time.Minute), slowdown: 1}
	if d.rnd.IntN(3) == 0 {
		in.slowdown = 4 + 4*d.rnd.Float64()
	} else {
		in.errorRate = 0.02 + 0.1*d.rnd.Float64()
	}
	return in
}
