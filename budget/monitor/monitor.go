// Package monitor keeps every SLO's minute buckets in memory, makes them
// durable in the store before acknowledging them, restores them at start,
// and recomputes every SLO's budget on each evaluation tick, swapping the
// results in atomically so readers (the API, the gate, /metrics) answer from
// memory without waiting on writers.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slogate/slogate/budget"
	"github.com/slogate/slogate/budget/store"
	"github.com/slogate/slogate/slo"
)

// Config holds what a Monitor needs.
type Config struct {
	// Catalog is the loaded, validated specs and schedules. Required.
	Catalog *slo.Catalog
	// Store keeps the buckets. Required.
	Store *store.Store
	// Logger receives progress and errors; default discards.
	Logger *slog.Logger
	// Retention is how far back buckets are kept and restored; default the
	// longest SLO window plus the config's retention margin.
	Retention time.Duration
	// SourceStatus, when set, tells the source state of SLOs (partial
	// history, errors) by Key; it is called once per evaluation.
	SourceStatus func() map[string]SourceStatus
	// OnEvaluate, when set, is called by Run with each new snapshot, after
	// it is published.
	OnEvaluate func(*Snapshot)
}

// SourceStatus is what a source knows about one SLO's data.
type SourceStatus struct {
	// PartialSince is set when the source holds less history than the
	// window: data before it is missing, not good.
	PartialSince time.Time
	// Backfilling is true while history is being loaded.
	Backfilling bool
	// Error is the source's last error for this SLO, if any.
	Error string
}

func (c *Config) defaults() error {
	if c.Catalog == nil {
		return errors.New("monitor: missing catalog")
	}
	if c.Store == nil {
		return errors.New("monitor: missing store")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Retention <= 0 {
		c.Retention = Retention(c.Catalog)
	}
	return nil
}

// Retention returns how long buckets must be kept for the catalog: the
// longest window of any SLO plus the config's retention margin.
func Retention(c *slo.Catalog) time.Duration {
	longest := 7 * 24 * time.Hour
	for _, svc := range c.Services {
		for _, s := range svc.SLOs {
			if d := s.Win.Longest(); d > longest {
				longest = d
			}
		}
	}
	return longest + time.Duration(c.Config.RetentionMargin)
}

// entry is one SLO's live state.
type entry struct {
	key     string
	service *slo.Service
	spec    slo.SLO
	sched   *slo.Schedule
	tracker *budget.Tracker
	last    budget.Minute // latest minute with data
	hasLast bool
}

// Monitor owns the in-memory histories of all SLOs. It is safe for
// concurrent use.
type Monitor struct {
	cfg     Config
	mu      sync.Mutex // guards entries' histories and trackers
	entries map[string]*entry
	order   []*entry
	snap    atomic.Pointer[Snapshot]
	ready   atomic.Bool
	// restored is set once Restore is done: a Record before it would save
	// blocks lacking their stored history over the stored ones.
	restored atomic.Bool
}

// Key returns the identity of an SLO in the store and in Adds.
func Key(service, sloName string) string { return service + "/" + sloName }

// New builds a Monitor for every SLO in the catalog. It does not restore
// history: call Restore.
func New(cfg Config) (*Monitor, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m := &Monitor{cfg: cfg, entries: map[string]*entry{}}
	for _, svc := range cfg.Catalog.Services {
		for _, s := range svc.SLOs {
			sched := cfg.Catalog.Schedule(s)
			e := &entry{
				key:     Key(svc.Name, s.Name),
				service: svc,
				spec:    s,
				sched:   sched,
				tracker: budget.NewTracker(s, sched, budget.NewHistory()),
			}
			m.entries[e.key] = e
			m.order = append(m.order, e)
		}
	}
	sort.Slice(m.order, func(i, j int) bool { return m.order[i].key < m.order[j].key })
	m.snap.Store(&Snapshot{})
	return m, nil
}

// Restore loads the buckets kept in the store since now minus the
// retention, logging progress. Blocks of SLOs no longer in the catalog are
// skipped but stay in the store until retention removes them.
func (m *Monitor) Restore(ctx context.Context, now time.Time) error {
	return m.RestoreFrom(ctx, nil, now, nil)
}

// RestoreFrom is Restore for a monitor that replaces old, as on a reload:
// the history of an SLO old has too is copied from old's memory, which
// holds what the store does, rather than read back from the store. Those
// that fresh reports (nil for none), such as SLOs whose SLI changed, and
// those old does not have, come from the store. old must not record
// meanwhile; it may go on answering reads.
func (m *Monitor) RestoreFrom(ctx context.Context, old *Monitor, now time.Time, fresh func(key string) bool) error {
	start := time.Now()
	since := budget.MinuteOf(now.Add(-m.cfg.Retention))
	m.mu.Lock()
	defer m.mu.Unlock()
	var load []string // the SLOs whose history comes from the store
	copied := 0
	if old != nil {
		old.mu.Lock()
		for _, e := range m.order {
			oe := old.entries[e.key]
			if oe == nil || fresh != nil && fresh(e.key) {
				load = append(load, e.key)
				continue
			}
			h := oe.tracker.History().Clone()
			h.Trim(since)
			e.tracker = budget.NewTracker(e.spec, e.sched, h)
			copied++
		}
		old.mu.Unlock()
	}
	var n, skipped int
	add := func(r store.BlockRecord) error {
		e, ok := m.entries[r.SLO]
		if !ok {
			skipped++
			return nil
		}
		if err := e.tracker.History().LoadBlock(r.Block); err != nil {
			return fmt.Errorf("restore %s block %s: %w", r.SLO, r.Block.Start.Time().Format(time.RFC3339), err)
		}
		n++
		if n%100000 == 0 {
			m.cfg.Logger.Info("restoring history", "blocks", n, "elapsed", time.Since(start).Round(time.Millisecond))
		}
		return nil
	}
	var err error
	switch {
	case old == nil:
		err = m.cfg.Store.LoadBlocks(ctx, since, add)
	case len(load) > 0:
		err = m.cfg.Store.LoadBlocksOf(ctx, since, load, add)
	}
	if err != nil {
		return fmt.Errorf("restore history: %w", err)
	}
	for _, e := range m.order {
		h := e.tracker.History()
		h.MarkClean(h.Dirty())
		e.last, e.hasLast = h.Last()
	}
	m.restored.Store(true)
	m.cfg.Logger.Info("history restored", "blocks", n, "skipped_blocks", skipped, "slos", len(m.order),
		"copied_slos", copied, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// Add is events to add to one SLO's minute.
type Add struct {
	// SLO is the Key of the SLO.
	SLO    string
	Minute budget.Minute
	Counts budget.Counts
}

// ErrUnknownSLO is returned by Record for an Add naming no SLO.
var ErrUnknownSLO = errors.New("unknown SLO")

// ErrNotRestored is returned by Record before Restore has finished.
var ErrNotRestored = errors.New("history not restored yet")

// Record adds events and saves them, with the given source checkpoints, in
// one store transaction. It returns only once they are durable; on error
// nothing is applied, neither in memory nor on disk.
func (m *Monitor) Record(ctx context.Context, adds []Add, states []store.State) error {
	if !m.restored.Load() {
		return fmt.Errorf("record: %w", ErrNotRestored)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range adds {
		if _, ok := m.entries[a.SLO]; !ok {
			return fmt.Errorf("record %s: %w", a.SLO, ErrUnknownSLO)
		}
	}
	touched := map[*entry]bool{}
	for _, a := range adds {
		e := m.entries[a.SLO]
		e.tracker.History().Add(a.Minute, a.Counts)
		touched[e] = true
	}
	var blocks []store.BlockRecord
	for e := range touched {
		for _, b := range e.tracker.History().Dirty() {
			blocks = append(blocks, store.BlockRecord{SLO: e.key, Block: b})
		}
	}
	if err := m.cfg.Store.Save(ctx, blocks, states); err != nil {
		// Undo in memory so a retried request is not counted twice.
		for _, a := range adds {
			m.entries[a.SLO].tracker.History().Add(a.Minute, budget.Counts{Good: -a.Counts.Good, Total: -a.Counts.Total})
		}
		return fmt.Errorf("record: %w", err)
	}
	for e := range touched {
		h := e.tracker.History()
		h.MarkClean(blocksOf(blocks, e.key))
		if l, ok := h.Last(); ok {
			e.last, e.hasLast = l, true
		}
	}
	return nil
}

func blocksOf(rs []store.BlockRecord, key string) []budget.Block {
	var out []budget.Block
	for _, r := range rs {
		if r.SLO == key {
			out = append(out, r.Block)
		}
	}
	return out
}

// State returns a source checkpoint saved by Record.
func (m *Monitor) State(ctx context.Context, key string) ([]byte, bool, error) {
	return m.cfg.Store.State(ctx, key)
}

// Evaluate recomputes every SLO at now and swaps the new snapshot in.
func (m *Monitor) Evaluate(now time.Time) *Snapshot {
	snap := &Snapshot{At: now.UTC(), byService: map[string]*ServiceStatus{}}
	var sources map[string]SourceStatus
	if m.cfg.SourceStatus != nil {
		sources = m.cfg.SourceStatus()
	}
	m.mu.Lock()
	for _, e := range m.order {
		st := e.tracker.Evaluate(now)
		s := newSLOStatus(e, st, now)
		if src, ok := sources[e.key]; ok {
			s.applySource(src, st)
		}
		svc := snap.byService[e.service.Name]
		if svc == nil {
			svc = newServiceStatus(e.service)
			snap.byService[svc.Name] = svc
			snap.Services = append(snap.Services, svc)
		}
		svc.SLOs = append(svc.SLOs, s)
	}
	m.mu.Unlock()
	for _, svc := range snap.Services {
		svc.summarize()
	}
	m.snap.Store(snap)
	return snap
}

// Snapshot returns the latest evaluation; never nil.
func (m *Monitor) Snapshot() *Snapshot { return m.snap.Load() }

// Ready reports whether history is restored and Run has published its
// first evaluation (and handed it to OnEvaluate).
func (m *Monitor) Ready() bool { return m.ready.Load() }

// Trim drops buckets older than the retention, in memory and on disk.
func (m *Monitor) Trim(ctx context.Context, now time.Time) error {
	cut := budget.MinuteOf(now.Add(-m.cfg.Retention))
	m.mu.Lock()
	for _, e := range m.order {
		e.tracker.History().Trim(cut)
	}
	m.mu.Unlock()
	n, err := m.cfg.Store.DeleteBefore(ctx, cut)
	if err != nil {
		return fmt.Errorf("trim: %w", err)
	}
	if n > 0 {
		m.cfg.Logger.Info("retention applied", "deleted_blocks", n, "before", cut.Time())
	}
	return nil
}

// Sum returns one SLO's events (or minutes, for timeslices) in the
// schedule's active minutes of [from, to).
func (m *Monitor) Sum(service, name string, from, to time.Time) (budget.Counts, error) {
	e := m.entries[Key(service, name)]
	if e == nil {
		return budget.Counts{}, fmt.Errorf("service %q has no SLO %q: %w", service, name, ErrNotFound)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return e.tracker.Sum(from, to), nil
}

// evaluate publishes a new snapshot and hands it to OnEvaluate.
func (m *Monitor) evaluate(now time.Time) {
	snap := m.Evaluate(now)
	if m.cfg.OnEvaluate != nil {
		m.cfg.OnEvaluate(snap)
	}
	m.ready.Store(true)
}

// Run evaluates every interval until ctx ends, and applies retention at the
// first evaluation of every hour of now's clock. now supplies the
// evaluation time.
func (m *Monitor) Run(ctx context.Context, interval time.Duration, now func() time.Time) {
	m.evaluate(now())
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lastTrim := now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t := now()
		start := time.Now()
		m.evaluate(t)
		m.cfg.Logger.Debug("evaluated", "slos", len(m.order), "elapsed", time.Since(start))
		// At every full hour of the clock rather than an hour after Run
		// started, so that runs replaced more often (reloads) still trim.
		if !t.Truncate(time.Hour).Equal(lastTrim.Truncate(time.Hour)) {
			lastTrim = t
			if err := m.Trim(ctx, t); err != nil {
				m.cfg.Logger.Error("retention failed", "err", err)
			}
		}
	}
}
