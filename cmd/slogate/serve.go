package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/spf13/cobra"

	alertapi "github.com/slogate/slogate/alerting/api"
	"github.com/slogate/slogate/alerting/dispatch"
	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/alerting/outbox"
	"github.com/slogate/slogate/alerting/state"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/cmd/slogate/demo"
	gateapi "github.com/slogate/slogate/gate/api"
	gatestore "github.com/slogate/slogate/gate/store"
	"github.com/slogate/slogate/slo"
	"github.com/slogate/slogate/slo/source"
)

type serveOptions struct {
	config    string
	listen    string
	logLevel  string
	logFormat string
	demo      bool
	// now is the clock; time.Now when nil. Tests run a faster one to
	// play hours of incidents in seconds.
	now      func() time.Time
	demoAddr string
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Collect SLIs, compute error budgets and serve the API",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if os.Getenv("GOGC") == "" {
				go tuneGC(ctx, 10*time.Second)
			}
			return serve(ctx, o, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "slogate.yaml", "server config file")
	f.StringVar(&o.listen, "listen", "", "listen address; overrides the config's listen")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&o.demo, "demo", false, "also run the built-in demo service and traffic generator")
	f.StringVar(&o.demoAddr, "demo-listen", "127.0.0.1:8081", "listen address of the demo service")
	return cmd
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: expected debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: expected text or json", format)
}

// serve runs slogate until ctx ends. started, when set, receives the
// listener's address once it accepts connections (for tests).
func serve(ctx context.Context, o serveOptions, started func(addr string)) error {
	log, err := newLogger(o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	now := o.now
	if now == nil {
		now = time.Now
	}
	cat, err := slo.Load(o.config)
	if err != nil {
		var ps slo.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				fmt.Fprintln(os.Stderr, p.String())
			}
			n, _ := ps.Count()
			return fmt.Errorf("invalid configuration: %d problem(s)", n)
		}
		return err
	}
	for _, w := range cat.Warnings {
		log.Warn("configuration warning", "problem", w.String())
	}
	cfg := cat.Config
	if o.listen != "" {
		cfg.Listen = o.listen
	}
	nSLOs := 0
	for _, s := range cat.Services {
		nSLOs += len(s.SLOs)
	}
	log.Info("configuration loaded", "config", cfg.File, "services", len(cat.Services), "slos", nSLOs,
		"storage", cfg.Storage)

	if err := os.MkdirAll(filepath.Dir(cfg.Storage), 0o755); err != nil {
		return fmt.Errorf("create storage directory: %w", err)
	}
	st, err := store.Open(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	defer st.Close()

	gst, err := gatestore.Open(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	defer gst.Close()

	set := metrics.NewSet()
	srcs := &sourceSet{}
	var gt *gateapi.Gate          // set before the monitor's loop starts
	var disp *dispatch.Dispatcher // likewise
	mon, err := monitor.New(monitor.Config{
		Catalog: cat, Store: st, Logger: log.With("component", "monitor"),
		SourceStatus: srcs.status,
		OnEvaluate: func(s *monitor.Snapshot) {
			gt.Update(s)
			if disp != nil {
				// Finish this evaluation's writes even when shutting down.
				disp.Update(context.WithoutCancel(ctx), s)
			}
		},
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	defer ln.Close()
	external := cfg.ExternalURL
	if strings.HasSuffix(external, ":0") { // port picked at listen time
		external = "http://" + ln.Addr().String()
	}
	auth := gateapi.NewAuth(cfg.Auth)
	gt, err = gateapi.New(ctx, gateapi.Config{
		Catalog: cat, Monitor: mon, Store: gst, Auth: auth,
		Logger: log.With("component", "gate"), ExternalURL: strings.TrimRight(external, "/"), Now: now,
		OnDeploy: func(ctx context.Context, d gatestore.Deploy) {
			disp.Change(ctx, d.Service, notify.Deploy{Version: d.Version, Commit: d.Commit, Author: d.Author,
				At: d.StartedAt, Impact: d.ImpactClass}, now())
		},
	})
	if err != nil {
		return err
	}

	dir, err := oncall.New(cfg)
	if err != nil {
		return err
	}
	services := map[string]*slo.Service{}
	for _, svc := range cat.Services {
		services[svc.Name] = svc
	}
	suspect := func(ctx context.Context, service string) (*notify.Deploy, error) {
		d, err := gst.LatestDegraded(ctx, service)
		if errors.Is(err, gatestore.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &notify.Deploy{Version: d.Version, Commit: d.Commit, Author: d.Author, At: d.StartedAt, Impact: d.ImpactClass}, nil
	}
	notifiers, skipped, err := dispatch.Notifiers(cfg, os.Getenv)
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		log.Warn("receivers without a notifier (email needs the smtp section)", "receivers", skipped)
	}
	mem, err := state.Open(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	defer mem.Close()
	// Without receivers there is no one to tell: alerts are evaluated and
	// listed, but no outbox delivers them.
	var ob *outbox.Outbox
	var enqueue dispatch.Enqueuer
	if len(notifiers) > 0 {
		if ob, err = outbox.Open(ctx, outbox.Config{Path: cfg.Storage, Notifiers: notifiers, Metrics: set,
			Fallback: cfg.Alerting.Fallback, Deadline: time.Duration(cfg.Alerting.Deadline), Now: now,
			Logger: log.With("component", "outbox")}); err != nil {
			return err
		}
		defer ob.Close()
		enqueue = ob
	} else {
		log.Info("no receivers configured: alerts are evaluated and listed, nobody is notified")
	}
	if disp, err = dispatch.New(ctx, dispatch.Config{Catalog: cat, Directory: dir, Outbox: enqueue, Receivers: notifiers,
		Memory: mem, Suspect: suspect, ExternalURL: external, RepeatInterval: time.Duration(cfg.Alerting.RepeatInterval),
		HoldDown: time.Duration(cfg.Alerting.HoldDown),
		Logger:   log.With("component", "alerting")}); err != nil {
		return err
	}
	defer disp.Wait()
	alerts := &alertapi.Handler{Directory: dir, Services: services, Outbox: ob, Alerts: disp.Alerts, Metrics: disp.WriteMetrics, Now: now,
		Silences: &alertapi.SilenceHandler{Store: mem, Actor: gateapi.Actor, Services: services},
		Suspect: func(ctx context.Context, service string) (string, error) {
			d, err := suspect(ctx, service)
			if d == nil || err != nil {
				return "", err
			}
			return d.Author, nil
		}}

	push, err := source.NewPush(source.PushConfig{
		Services: cat.Services, Sink: sink{mon}, Now: now, MaxAge: monitor.Retention(cat),
	})
	if err != nil {
		return err
	}

	e := newHTTPServer(log, set, mon, gt, alerts, auth, push, srcs)
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "err", err)
		}
	}()
	log.Info("listening", "addr", ln.Addr().String())
	if started != nil {
		started(ln.Addr().String())
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := mon.Restore(ctx, now()); err != nil {
		shutdown(srv, log)
		return err
	}
	if o.demo {
		var pushSLOs []demo.PushSLO
		for _, svc := range cat.Services {
			for _, s := range svc.SLOs {
				if s.SLI.Push != nil {
					pushSLOs = append(pushSLOs, demo.PushSLO{Service: svc.Name, SLO: s.Name})
				}
			}
		}
		d, err := demo.Start(runCtx, demo.Config{
			Listen: o.demoAddr, Logger: log.With("component", "demo"),
			PushURL: "http://" + ln.Addr().String() + "/api/v1/events", PushSLOs: pushSLOs,
		})
		if err != nil {
			shutdown(srv, log)
			return fmt.Errorf("start demo: %w", err)
		}
		log.Info("demo workload running", "addr", d.Addr())
	}

	if err := srcs.start(runCtx, &wg, cat, sink{mon}, set, log, now); err != nil {
		shutdown(srv, log)
		return err
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		mon.Run(runCtx, time.Duration(cfg.EvaluationInterval), now)
	}()
	go func() {
		defer wg.Done()
		gt.Run(runCtx, time.Duration(cfg.EvaluationInterval))
	}()
	if ob != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ob.Run(runCtx); err != nil && runCtx.Err() == nil {
				log.Error("outbox stopped", "err", err)
			}
		}()
	}
	log.Info("ready")

	<-ctx.Done()
	log.Info("shutting down")
	shutdown(srv, log)
	cancel()
	wg.Wait()
	log.Info("stopped")
	return nil
}

func shutdown(srv *http.Server, log *slog.Logger) {
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
}

// sourceSet holds the running sources so the API and the monitor can ask
// about their health.
type sourceSet struct {
	mu      sync.Mutex
	scraper *source.Scraper
	proms   []*source.Prom
}

func (s *sourceSet) start(ctx context.Context, wg *sync.WaitGroup, cat *slo.Catalog, sk source.Sink, set *metrics.Set, log *slog.Logger, now func() time.Time) error {
	cfg := cat.Config
	if len(cfg.Sources.Scrape) > 0 {
		sc, err := source.NewScraper(source.ScraperConfig{
			Targets: cfg.Sources.Scrape, Services: cat.Services, Sink: sk,
			Logger: log.With("component", "scraper"), Metrics: set, Now: now,
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.scraper = sc
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sc.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("scraper stopped", "err", err)
			}
		}()
	}
	for _, ps := range cfg.Sources.Prometheus {
		var svcs []*slo.Service
		for _, svc := range cat.Services {
			for _, o := range svc.SLOs {
				if o.SLI.Source == ps.Name && o.SLI.Push == nil {
					svcs = append(svcs, svc)
					break
				}
			}
		}
		p, err := source.NewProm(source.PromConfig{
			Source: ps, Services: svcs, Sink: sk, Logger: log.With("component", "prometheus", "source", ps.Name),
			Metrics: set, Now: now, Retention: monitor.Retention(cat),
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.proms = append(s.proms, p)
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("prometheus source stopped", "source", ps.Name, "err", err)
			}
		}()
	}
	return nil
}

// status tells the monitor what the PromQL sources know about each SLO.
func (s *sourceSet) status() map[string]monitor.SourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]monitor.SourceStatus{}
	if s.scraper != nil {
		for _, h := range s.scraper.Health() {
			if h.Up || h.LastScrape.IsZero() {
				continue
			}
			for _, key := range h.SLOs {
				out[key] = monitor.SourceStatus{Error: fmt.Sprintf("scrape target %s is down: %s", h.Name, h.LastError)}
			}
		}
	}
	for _, p := range s.proms {
		for _, st := range p.Status() {
			out[monitor.Key(st.Service, st.SLO)] = monitor.SourceStatus{
				PartialSince: st.HistorySince, Backfilling: st.Backfilling, Error: st.LastError,
			}
		}
	}
	return out
}

// health is served at /api/v1/targets.
func (s *sourceSet) health() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{"scrape": []source.TargetHealth{}, "prometheus": []source.PromSLOStatus{}}
	if s.scraper != nil {
		out["scrape"] = s.scraper.Health()
	}
	var ps []source.PromSLOStatus
	for _, p := range s.proms {
		ps = append(ps, p.Status()...)
	}
	if ps != nil {
		out["prometheus"] = ps
	}
	return out
}
