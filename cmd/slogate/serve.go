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
	"sync"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/spf13/cobra"

	"github.com/slogate/slogate/alerting/state"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/cmd/slogate/demo"
	gatestore "github.com/slogate/slogate/gate/store"
	"github.com/slogate/slogate/slo"
	"github.com/slogate/slogate/slo/source"
	"github.com/slogate/slogate/slo/specstore"
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
	// watch is how often the config file and spec paths are checked for
	// changes; 0 does not watch them.
	watch time.Duration
	// reload, when set, asks for a reload on every receive (SIGHUP).
	reload <-chan os.Signal
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
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			o.reload = hup
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
	f.DurationVar(&o.watch, "watch-interval", time.Second, "how often to check the config file and spec paths for changes to reload; 0 disables (SIGHUP and POST /-/reload still reload)")
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
		return invalidConfiguration(err)
	}
	cfg := cat.Config
	listen := cfg.Listen
	if o.listen != "" {
		listen = o.listen
	}
	log.Info("configuration loaded", "config", cfg.File, "services", len(cat.Services), "storage", cfg.Storage)

	if err := os.MkdirAll(filepath.Dir(cfg.Storage), 0o755); err != nil {
		return fmt.Errorf("create storage directory: %w", err)
	}
	p := &process{ctx: ctx, o: o, log: log, now: now, listen: cfg.Listen, storage: cfg.Storage,
		set: metrics.NewSet(), sink: &switchSink{}, fatal: make(chan error, 1)}
	if p.st, err = store.Open(ctx, cfg.Storage); err != nil {
		return err
	}
	defer p.st.Close()
	if p.gst, err = gatestore.Open(ctx, cfg.Storage); err != nil {
		return err
	}
	defer p.gst.Close()
	if p.mem, err = state.Open(ctx, cfg.Storage); err != nil {
		return err
	}
	defer p.mem.Close()
	if p.specs, err = specstore.Open(ctx, cfg.Storage); err != nil {
		return err
	}
	defer p.specs.Close()
	// The specs stored through the API are in the database the config
	// names, so only now can the whole catalog load.
	if cat, err = p.loadCatalog(ctx, nil, ""); err != nil {
		return invalidConfiguration(err)
	}
	if err := p.checkFixed(cat); err != nil { // the config changed in between
		return invalidConfiguration(err)
	}
	p.registerReloadMetrics()

	rt, err := p.prepare(cat)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		if rt.ob != nil {
			rt.ob.Close()
		}
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	defer ln.Close()
	p.addr = ln.Addr().String()
	// Until the first runtime has restored its history, p answers 503.
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "err", err)
		}
	}()
	log.Info("listening", "addr", p.addr)
	if started != nil {
		started(p.addr)
	}

	p.reloadMu.Lock()
	err = p.commit(rt, fromStart)
	p.seen = fingerprint(p.watched(cat))
	p.reloadMu.Unlock()
	if err != nil {
		shutdown(srv, log)
		rt.stop()
		if rt.ob != nil {
			rt.ob.Close()
		}
		return err
	}
	p.succeeded("start")
	defer func() {
		p.reloadMu.Lock()
		defer p.reloadMu.Unlock()
		p.cur.stop()
		if p.cur.ob != nil {
			p.cur.ob.Close()
		}
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
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
			PushURL: "http://" + p.addr + "/api/v1/events", PushSLOs: pushSLOs,
		})
		if err != nil {
			shutdown(srv, log)
			return fmt.Errorf("start demo: %w", err)
		}
		log.Info("demo workload running", "addr", d.Addr())
	}
	if o.watch > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.watch(runCtx, o.watch)
		}()
	}
	if o.reload != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-runCtx.Done():
					return
				case <-o.reload:
					_ = p.reload(fromSignal) // logged and shown in /readyz
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.pruneRecords(runCtx, recordsInterval)
	}()
	log.Info("ready")

	var failed error
	select {
	case <-ctx.Done():
	case failed = <-p.fatal:
		log.Error("stopping", "err", failed)
	}
	log.Info("shutting down")
	shutdown(srv, log)
	cancel()
	wg.Wait()
	log.Info("stopped")
	return failed
}

// invalidConfiguration prints a load's problems, one a line, and returns
// the error serve stops with.
func invalidConfiguration(err error) error {
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
	names   []string // of proms
}

// newSourceSet builds the scraper and the PromQL sources of cat without
// starting them.
func newSourceSet(cat *slo.Catalog, sk source.Sink, set *metrics.Set, log *slog.Logger, now func() time.Time) (*sourceSet, error) {
	s := &sourceSet{}
	cfg := cat.Config
	if len(cfg.Sources.Scrape) > 0 {
		sc, err := source.NewScraper(source.ScraperConfig{
			Targets: cfg.Sources.Scrape, Services: cat.Services, Sink: sk,
			Logger: log.With("component", "scraper"), Metrics: set, Now: now,
		})
		if err != nil {
			return nil, err
		}
		s.scraper = sc
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
			return nil, err
		}
		s.proms = append(s.proms, p)
		s.names = append(s.names, ps.Name)
	}
	return s, nil
}

// run starts the sources; they stop when ctx ends.
func (s *sourceSet) run(ctx context.Context, wg *sync.WaitGroup, log *slog.Logger) {
	if s.scraper != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.scraper.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("scraper stopped", "err", err)
			}
		}()
	}
	for i, p := range s.proms {
		name := s.names[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error("prometheus source stopped", "source", name, "err", err)
			}
		}()
	}
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
