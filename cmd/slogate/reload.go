package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/labstack/echo/v4"

	alertapi "github.com/slogate/slogate/alerting/api"
	"github.com/slogate/slogate/alerting/dispatch"
	"github.com/slogate/slogate/alerting/notify"
	"github.com/slogate/slogate/alerting/oncall"
	"github.com/slogate/slogate/alerting/outbox"
	"github.com/slogate/slogate/alerting/state"
	"github.com/slogate/slogate/budget/monitor"
	"github.com/slogate/slogate/budget/store"
	gateapi "github.com/slogate/slogate/gate/api"
	gatestore "github.com/slogate/slogate/gate/store"
	"github.com/slogate/slogate/slo"
	"github.com/slogate/slogate/slo/source"
	"github.com/slogate/slogate/slo/specstore"
)

// process is what lives as long as `serve`: the stores, the listener, the
// metrics set and the running runtime, which a reload replaces as a whole.
type process struct {
	ctx      context.Context
	o        serveOptions
	log      *slog.Logger
	now      func() time.Time
	listen   string // the config's listen and storage at start: a reload
	storage  string // cannot change them
	addr     string // the listener's address
	set      *metrics.Set
	st       *store.Store
	gst      *gatestore.Store
	mem      *state.Store
	specs    *specstore.Store // the specs managed through the API
	sink     *switchSink
	handler  atomic.Pointer[http.Handler]
	fatal    chan error // a reload that failed half-way stops serve
	reloadMu sync.Mutex // serialises reloads; guards cur and seen
	cur      *runtime
	seen     string // fingerprint of the watched files at the last reload
	status   atomic.Pointer[reloadStatus]
}

// runtime is everything built from one catalog. Its goroutines run until
// stop; the stores it uses belong to the process.
type runtime struct {
	cat       *slo.Catalog
	dir       *oncall.Directory
	notifiers map[string]notify.Notifier
	mon       *monitor.Monitor
	gt        *gateapi.Gate
	disp      *dispatch.Dispatcher
	ob        *outbox.Outbox
	srcs      *sourceSet
	push      *source.Push
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// reloadStatus is the outcome of the last configuration load, shown in
// /readyz.
type reloadStatus struct {
	// LastReload is "success" or "failed".
	LastReload string `json:"lastReload"`
	// Trigger is what asked for it: start, signal, http, watch or api (a
	// spec changed through the API).
	Trigger string    `json:"trigger"`
	At      time.Time `json:"at"`
	// Error holds the problems, one FILE:LINE: FIELD: MESSAGE a line.
	Error       string    `json:"error,omitempty"`
	LastSuccess time.Time `json:"lastSuccess"`
}

// ServeHTTP serves the current runtime's routes. Until the first runtime
// has restored its history, /healthz answers 200 and everything else 503.
func (p *process) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := p.handler.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/healthz" { // alive while restoring, as before the first runtime existed
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"status":"not ready","reason":"restoring history"}` + "\n"))
}

// registerReloadMetrics adds the reload gauges, under Prometheus' names, to
// the process's set.
func (p *process) registerReloadMetrics() {
	p.set.NewGauge("slogate_config_last_reload_successful", func() float64 {
		if s := p.status.Load(); s != nil && s.LastReload == "success" {
			return 1
		}
		return 0
	})
	p.set.NewGauge("slogate_config_last_reload_success_timestamp_seconds", func() float64 {
		if s := p.status.Load(); s != nil && !s.LastSuccess.IsZero() {
			return float64(s.LastSuccess.UnixMilli()) / 1000
		}
		return 0
	})
}

// problemsText turns a load error into the text shown to users: one
// problem a line, as `validate` prints them, leaving out warnings (they do
// not refuse a reload).
func problemsText(err error) string {
	var ps slo.Problems
	if errors.As(err, &ps) {
		lines := make([]string, 0, len(ps))
		for _, p := range ps {
			if !p.Warning {
				lines = append(lines, p.String())
			}
		}
		return strings.Join(lines, "\n")
	}
	return err.Error()
}

// Origins of the reloads that no person asks for directly.
var (
	fromStart   = specstore.Origin{By: "startup", Via: "start"}
	fromWatcher = specstore.Origin{By: "file watcher", Via: "watch"}
	fromSignal  = specstore.Origin{By: "SIGHUP", Via: "signal"}
)

// reload loads the config and specs again and, when they are valid, swaps
// in a runtime built from them; o says who asked, for the spec history. A
// refused reload returns the problems and changes nothing. It is safe for
// concurrent use: reloads run one at a time.
func (p *process) reload(o specstore.Origin) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	return p.reloadLocked(o, nil)
}

// reloadLocked is reload with reloadMu held. It applies cat when given, a
// catalog loaded the moment before, instead of loading one.
func (p *process) reloadLocked(o specstore.Origin, cat *slo.Catalog) error {
	trigger := o.Via
	if p.ctx.Err() != nil {
		return errors.New("cannot reload: shutting down")
	}
	p.seen = fingerprint(p.watched(p.cur.cat))
	start := time.Now()
	var err error
	if cat == nil {
		cat, err = p.loadCatalog(p.ctx, nil, "")
	}
	if err == nil {
		err = p.checkFixed(cat)
	}
	var rt *runtime
	if err == nil {
		rt, err = p.prepare(cat)
	}
	if err != nil {
		msg := problemsText(err)
		prev := p.status.Load()
		p.status.Store(&reloadStatus{LastReload: "failed", Trigger: trigger, At: p.now(), Error: msg,
			LastSuccess: prev.LastSuccess})
		p.log.Error("configuration reload refused: the running configuration stays", "trigger", trigger,
			"problems", msg)
		return &refusedError{msg: msg}
	}
	if err := p.commit(rt, o); err != nil {
		rt.stop()
		if rt.ob != nil {
			rt.ob.Close()
		}
		err = fmt.Errorf("cannot apply reloaded configuration: %w", err)
		select {
		case p.fatal <- err:
		default:
		}
		return err
	}
	p.succeeded(trigger)
	p.log.Info("configuration reloaded", "trigger", trigger, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// refusedError is a reload refused because of the configuration.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return "configuration refused:\n" + e.msg }

func (p *process) succeeded(trigger string) {
	now := p.now()
	p.status.Store(&reloadStatus{LastReload: "success", Trigger: trigger, At: now, LastSuccess: now})
}

// checkFixed refuses changes that only a restart can apply.
func (p *process) checkFixed(cat *slo.Catalog) error {
	var ps slo.Problems
	if p.o.listen == "" && cat.Config.Listen != p.listen {
		ps = append(ps, slo.Problem{File: cat.Config.File, Field: "listen",
			Message: fmt.Sprintf("changed from %q to %q: a reload cannot move the listener; restart slogate", p.listen, cat.Config.Listen)})
	}
	if cat.Config.Storage != p.storage {
		ps = append(ps, slo.Problem{File: cat.Config.File, Field: "storage",
			Message: fmt.Sprintf("changed from %q to %q: a reload cannot change the database; restart slogate", p.storage, cat.Config.Storage)})
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

// prepare builds a runtime from cat without touching the running one: all
// that can fail because of the configuration fails here.
func (p *process) prepare(cat *slo.Catalog) (_ *runtime, err error) {
	for _, w := range cat.Warnings {
		p.log.Warn("configuration warning", "problem", w.String())
	}
	cfg := cat.Config
	rt := &runtime{cat: cat}
	if rt.dir, err = oncall.New(cfg); err != nil {
		return nil, err
	}
	notifiers, skipped, err := dispatch.Notifiers(cfg, os.Getenv)
	if err != nil {
		return nil, err
	}
	rt.notifiers = notifiers
	if len(skipped) > 0 {
		p.log.Warn("receivers without a notifier (email needs the smtp section)", "receivers", skipped)
	}
	// A dry run without memory checks every service's alerting rules; the
	// real dispatcher restores open alerts once the old one has stopped.
	if _, err := dispatch.New(p.ctx, dispatch.Config{Catalog: cat, Directory: rt.dir,
		HoldDown: time.Duration(cfg.Alerting.HoldDown), RepeatInterval: time.Duration(cfg.Alerting.RepeatInterval)}); err != nil {
		return nil, err
	}
	if rt.srcs, err = newSourceSet(cat, p.sink, p.set, p.log, p.now); err != nil {
		return nil, err
	}
	if rt.mon, err = monitor.New(monitor.Config{
		Catalog: cat, Store: p.st, Logger: p.log.With("component", "monitor"),
		SourceStatus: rt.srcs.status,
		OnEvaluate: func(s *monitor.Snapshot) {
			rt.gt.Update(s)
			// Finish this evaluation's writes even when shutting down.
			rt.disp.Update(context.WithoutCancel(p.ctx), s)
		},
	}); err != nil {
		return nil, err
	}
	if rt.push, err = source.NewPush(source.PushConfig{
		Services: cat.Services, Sink: p.sink, Now: p.now, MaxAge: monitor.Retention(cat),
	}); err != nil {
		return nil, err
	}
	// Without receivers there is no one to tell: alerts are evaluated and
	// listed, but no outbox delivers them.
	if len(notifiers) > 0 {
		if rt.ob, err = outbox.Open(p.ctx, outbox.Config{Path: cfg.Storage, Notifiers: notifiers, Metrics: p.set,
			Fallback: cfg.Alerting.Fallback, Deadline: time.Duration(cfg.Alerting.Deadline), Now: p.now,
			Logger: p.log.With("component", "outbox")}); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

// commit stops the running runtime, restores rt's history from the store,
// waits for its first evaluation and swaps its routes in. The old routes
// keep answering, from their last evaluation, until the swap. An SLO whose
// SLI changed starts a new history first. The spec history then records
// what changed, as asked by o. An error here is not the configuration's
// fault (the store failed) and leaves no runtime running.
func (p *process) commit(rt *runtime, o specstore.Origin) error {
	old := p.cur
	if old != nil {
		// Its sources and evaluations stop before rt restores, so rt
		// sees every count they stored and the dispatcher's saved alerts.
		old.stop()
	}
	cfg := rt.cat.Config
	// Pushes wait while rt restores: one recorded in between would be in
	// the store but not in rt's memory.
	// Histories the old runtime holds are copied from its memory, which
	// is much faster than reading them back; the others come from the
	// store.
	var notes map[string][]string
	if err := p.sink.swap(rt.mon, func() error {
		var fresh map[string]bool
		var err error
		if notes, fresh, err = p.startNewHistories(rt.cat); err != nil {
			return err
		}
		if old == nil {
			return rt.mon.Restore(p.ctx, p.now())
		}
		return rt.mon.RestoreFrom(p.ctx, old.mon, p.now(), func(key string) bool { return fresh[key] })
	}); err != nil {
		return err
	}
	external := cfg.ExternalURL
	if strings.HasSuffix(external, ":0") { // port picked at listen time
		external = "http://" + p.addr
	}
	auth := gateapi.NewAuth(cfg.Auth)
	gst := p.gst
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
	var err error
	if rt.gt, err = gateapi.New(p.ctx, gateapi.Config{
		Catalog: rt.cat, Monitor: rt.mon, Store: gst, Auth: auth,
		Logger: p.log.With("component", "gate"), ExternalURL: strings.TrimRight(external, "/"), Now: p.now,
		OnDeploy: func(ctx context.Context, d gatestore.Deploy) {
			rt.disp.Change(ctx, d.Service, notify.Deploy{Version: d.Version, Commit: d.Commit, Author: d.Author,
				At: d.StartedAt, Impact: d.ImpactClass}, p.now())
		},
	}); err != nil {
		return err
	}
	var enqueue dispatch.Enqueuer
	if rt.ob != nil {
		enqueue = rt.ob
	} else {
		p.log.Info("no receivers configured: alerts are evaluated and listed, nobody is notified")
	}
	if rt.disp, err = dispatch.New(p.ctx, dispatch.Config{Catalog: rt.cat, Directory: rt.dir, Outbox: enqueue,
		Receivers: rt.notifiers, Memory: p.mem, Suspect: suspect, ExternalURL: external,
		RepeatInterval: time.Duration(cfg.Alerting.RepeatInterval), HoldDown: time.Duration(cfg.Alerting.HoldDown),
		Logger: p.log.With("component", "alerting")}); err != nil {
		return err
	}
	services := map[string]*slo.Service{}
	for _, svc := range rt.cat.Services {
		services[svc.Name] = svc
	}
	alerts := &alertapi.Handler{Directory: rt.dir, Services: services, Outbox: rt.ob, Alerts: rt.disp.Alerts,
		Metrics: rt.disp.WriteMetrics, Now: p.now,
		Silences: &alertapi.SilenceHandler{Store: p.mem, Actor: gateapi.Actor, Services: services},
		Suspect: func(ctx context.Context, service string) (string, error) {
			d, err := suspect(ctx, service)
			if d == nil || err != nil {
				return "", err
			}
			return d.Author, nil
		}}
	var h http.Handler = newHTTPServer(p.log, p.set, rt.mon, rt.gt, alerts, auth, rt.push, rt.srcs, p, rt.cat)

	runCtx, cancel := context.WithCancel(p.ctx)
	rt.cancel = cancel
	interval := time.Duration(cfg.EvaluationInterval)
	rt.wg.Add(2)
	go func() {
		defer rt.wg.Done()
		rt.mon.Run(runCtx, interval, p.now)
	}()
	go func() {
		defer rt.wg.Done()
		rt.gt.Run(runCtx, interval)
	}()
	for !rt.mon.Ready() { // Run evaluates at once
		select {
		case <-runCtx.Done():
			rt.stop()
			return runCtx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.handler.Store(&h)
	p.cur = rt
	rt.srcs.run(runCtx, &rt.wg, p.log)
	if rt.ob != nil {
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			if err := rt.ob.Run(runCtx); err != nil && runCtx.Err() == nil {
				p.log.Error("outbox stopped", "err", err)
			}
		}()
	}
	if old != nil && old.ob != nil {
		// Closed only now: the old routes listed notifications from it
		// until the swap.
		old.ob.Close()
	}
	if old != nil {
		p.unregisterGoneSources(old.cat.Config, cfg)
	}
	nSLOs := 0
	for _, s := range rt.cat.Services {
		nSLOs += len(s.SLOs)
	}
	p.log.Info("configuration applied", "config", cfg.File, "services", len(rt.cat.Services), "slos", nSLOs)
	p.recordSpecHistory(rt.cat, o, notes)
	return nil
}

// unregisterGoneSources drops the metrics of the scrape targets and
// PromQL sources that were in old but are not in cfg.
func (p *process) unregisterGoneSources(old, cfg *slo.Config) {
	var gone []string
	for _, t := range old.Sources.Scrape {
		if !slices.ContainsFunc(cfg.Sources.Scrape, func(n slo.ScrapeTarget) bool { return n.Name == t.Name }) {
			gone = append(gone, source.TargetMetrics(t.Name)...)
		}
	}
	for _, s := range old.Sources.Prometheus {
		if !slices.ContainsFunc(cfg.Sources.Prometheus, func(n slo.PromSource) bool { return n.Name == s.Name }) {
			gone = append(gone, source.PromMetrics(s.Name)...)
		}
	}
	for _, name := range gone {
		p.set.UnregisterMetric(name)
	}
}

// stop ends the runtime's goroutines and waits for them. It may be called
// more than once.
func (rt *runtime) stop() {
	if rt.cancel != nil {
		rt.cancel()
	}
	rt.wg.Wait()
	if rt.disp != nil {
		rt.disp.Wait()
	}
}

// switchSink records into the current runtime's monitor.
type switchSink struct {
	mu  sync.RWMutex
	mon *monitor.Monitor
}

var _ source.Sink = (*switchSink)(nil)

// swap runs restore with every Record held back, then points the sink at
// mon.
func (s *switchSink) swap(mon *monitor.Monitor, restore func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := restore(); err != nil {
		return err
	}
	s.mon = mon
	return nil
}

// Record implements source.Sink.
func (s *switchSink) Record(ctx context.Context, incs []source.Increase, cps []source.Checkpoint) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mon == nil {
		return fmt.Errorf("record: %w", monitor.ErrNotRestored)
	}
	return sink{s.mon}.Record(ctx, incs, cps)
}

// Checkpoint implements source.Sink.
func (s *switchSink) Checkpoint(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mon == nil {
		return nil, false, fmt.Errorf("checkpoint: %w", monitor.ErrNotRestored)
	}
	return sink{s.mon}.Checkpoint(ctx, key)
}

// watched returns the files a change of which calls for a reload: the
// config file and the spec paths of cat.
func (p *process) watched(cat *slo.Catalog) []string {
	paths := []string{p.o.config}
	if cat != nil {
		paths = append(paths, cat.Config.Specs...)
	}
	return paths
}

// fingerprint summarises the size and modification time of every file
// under paths. It follows symlinks, so a Kubernetes ConfigMap's swapped
// ..data link counts as a change.
func fingerprint(paths []string) string {
	var lines []string
	add := func(path string) {
		fi, err := os.Stat(path)
		if err != nil {
			lines = append(lines, path+" missing")
			return
		}
		lines = append(lines, fmt.Sprintf("%s %d %d %d", path, fi.Size(), fi.ModTime().UnixNano(), fi.Mode()))
	}
	for _, root := range paths {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			add(path)
			return nil
		})
		if _, err := os.Lstat(root); err != nil {
			add(root)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// watch reloads when the watched files changed and then stayed the same
// for one more interval, so an editor's or a git checkout's burst of
// writes makes one reload. It runs until ctx ends.
func (p *process) watch(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	pending := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.reloadMu.Lock()
		seen, paths := p.seen, p.watched(p.cur.cat)
		p.reloadMu.Unlock()
		fp := fingerprint(paths)
		switch {
		case fp == seen:
			pending = ""
		case fp == pending:
			pending = ""
			_ = p.reload(fromWatcher) // logged and shown in /readyz
		default:
			pending = fp
		}
	}
}

// reloadRoute handles POST /-/reload: from the machine itself, or from
// anywhere with a valid token of any scope.
func (p *process) reloadRoute(auth *gateapi.Auth) (echo.HandlerFunc, echo.MiddlewareFunc) {
	withToken := auth.Require(slo.ScopeRead)
	mw := func(next echo.HandlerFunc) echo.HandlerFunc {
		tokened := withToken(next)
		return func(c echo.Context) error {
			if isLoopback(c.Request().RemoteAddr) {
				return next(c)
			}
			return tokened(c)
		}
	}
	h := func(c echo.Context) error {
		err := p.reload(specstore.Origin{By: gateapi.Actor(c), Via: "http", Remote: remoteHost(c)})
		var re *refusedError
		switch {
		case err == nil:
			return c.JSON(http.StatusOK, map[string]string{"status": "success"})
		case errors.As(err, &re):
			return c.JSON(http.StatusUnprocessableEntity, map[string]string{"status": "failed", "error": re.msg})
		}
		return c.JSON(http.StatusInternalServerError, map[string]string{"status": "failed", "error": err.Error()})
	}
	return h, mw
}

// isLoopback reports whether a request's remote address is the machine
// itself. X-Forwarded-For is not trusted: anyone can send it.
func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
