package source

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/slogate/slogate/slo"
)

// Prometheus source defaults, used when the source leaves a field zero.
const (
	DefaultPromInterval      = time.Minute
	DefaultPromTimeout       = 30 * time.Second
	DefaultPromBackfillChunk = 6 * time.Hour
	DefaultPromLag           = 30 * time.Second
)

const (
	// promForgetAfter is how long a series may have no sample before its
	// state is dropped. It is long so that a target that was down keeps
	// its state and the events of the outage are counted when it is back,
	// as the scraper does.
	promForgetAfter = 24 * time.Hour

	// partialHistoryTolerance is how much later than the requested start the
	// first sample may be before history counts as partial.
	partialHistoryTolerance = 5 * time.Minute

	promCheckpointVersion = 1
)

// PromConfig configures a Prom source.
type PromConfig struct {
	// Source is the PromQL HTTP API to read.
	Source slo.PromSource
	// Services are validated specs; their SLOs whose SLI source is
	// Source.Name are counted.
	Services []*slo.Service
	// Sink stores increases and progress. Required.
	Sink Sink
	// Logger receives backfill progress and errors; nil discards.
	Logger *slog.Logger
	// Metrics receives slogate_prom_* metrics; nil keeps them private.
	Metrics *metrics.Set
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Retention is how far back the first start backfills: the longest SLO
	// window. Required.
	Retention time.Duration
	// Lag is how far behind now queries stop, so that only completely
	// ingested data is read; at least the targets' scrape timeout. Default
	// 30s.
	Lag time.Duration
}

// PromSLOStatus is how far the Prometheus source has read one SLO.
type PromSLOStatus struct {
	// Service and SLO name the objective.
	Service string `json:"service"`
	SLO     string `json:"slo"`
	// HistorySince is, when the backend keeps less history than asked for,
	// the time of the first sample found; zero means full history.
	HistorySince time.Time `json:"historySince"`
	// Backfilling reports that the source is more than one chunk behind.
	Backfilling bool `json:"backfilling"`
	// Progress is the fraction of the backfill done, from 0 to 1.
	Progress float64 `json:"progress"`
	// Following is the time up to which data is complete.
	Following time.Time `json:"following"`
	// LastError says why the last round failed; empty after a success.
	LastError string `json:"lastError,omitempty"`
}

// Prom reads raw counter samples from a Prometheus-compatible query API and
// counts them exactly as the scraper does, so both produce the same
// increases from the same counters. It does not use increase(), which
// extrapolates: it fetches raw samples with range-vector instant queries
// (<selector>[<range>] at the range's end). On first start it backfills
// Retention in chunks, then follows. Its methods are safe for concurrent use.
type Prom struct {
	src       slo.PromSource
	api       v1.API
	sink      Sink
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration
	lag       time.Duration
	interval  time.Duration
	timeout   time.Duration
	chunk     time.Duration

	queries, queryErrors *metrics.Counter

	syncMu sync.Mutex // serialises rounds; guards st and loaded of slos
	slos   []*promSLO

	smu sync.Mutex // guards status of slos
}

type promSLO struct {
	ref    sloRef
	key    string
	q      [2]string // selectors, without the range
	loaded bool
	st     promState
	status PromSLOStatus
}

// promState is one SLO's resume state, saved as its checkpoint.
type promState struct {
	// covered is the time, in ms, up to which samples have been read.
	covered int64
	// start is where the first backfill began.
	start int64
	// earliest is the first sample's time; 0 when none was seen yet.
	earliest int64
	ctr      [2]*counters
}

// NewProm validates cfg and builds the API client. The backend is not
// contacted until Run or Sync.
func NewProm(cfg PromConfig) (*Prom, error) {
	src := cfg.Source
	if cfg.Sink == nil {
		return nil, fmt.Errorf("new prometheus source %q: sink is required", src.Name)
	}
	if src.Name == "" {
		return nil, errors.New("new prometheus source: name is required")
	}
	if cfg.Retention <= 0 {
		return nil, fmt.Errorf("new prometheus source %q: retention must be positive, got %v", src.Name, cfg.Retention)
	}
	u, err := url.Parse(src.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new prometheus source %q: url %q: want http:// or https:// with a host", src.Name, src.URL)
	}
	if err := src.HTTP.Validate(); err != nil {
		return nil, fmt.Errorf("new prometheus source %q: http config: %w", src.Name, err)
	}
	hc, err := config.NewClientFromConfig(src.HTTP, "prom/"+src.Name)
	if err != nil {
		return nil, fmt.Errorf("new prometheus source %q: http client: %w", src.Name, err)
	}
	client, err := api.NewClient(api.Config{Address: src.URL, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("new prometheus source %q: %w", src.Name, err)
	}
	refs, err := collectSLOs(cfg.Services, src.Name)
	if err != nil {
		return nil, fmt.Errorf("new prometheus source %q: %w", src.Name, err)
	}
	set := cfg.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	names := PromMetrics(src.Name)
	p := &Prom{
		src:         src,
		api:         v1.NewAPI(client),
		sink:        cfg.Sink,
		log:         discardLogger(cfg.Logger).With("source", src.Name),
		now:         cfg.Now,
		retention:   cfg.Retention,
		lag:         cfg.Lag,
		interval:    time.Duration(src.Interval),
		timeout:     time.Duration(src.Timeout),
		chunk:       time.Duration(src.BackfillChunk).Truncate(time.Millisecond),
		queries:     set.GetOrCreateCounter(names[0]),
		queryErrors: set.GetOrCreateCounter(names[1]),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.lag <= 0 {
		p.lag = DefaultPromLag
	}
	if p.interval <= 0 {
		p.interval = DefaultPromInterval
	}
	if p.timeout <= 0 {
		p.timeout = DefaultPromTimeout
	}
	if p.chunk <= 0 {
		p.chunk = DefaultPromBackfillChunk
	}
	for _, r := range refs {
		p.slos = append(p.slos, &promSLO{
			ref:    r,
			key:    PromCheckpointKey(src.Name, r.service, r.name),
			q:      [2]string{selectorString(r.sels[0]), selectorString(r.sels[1])},
			status: PromSLOStatus{Service: r.service, SLO: r.name},
		})
	}
	return p, nil
}

// PromMetrics are the series a Prometheus source named source exports
// about itself, for unregistering them once it is gone.
func PromMetrics(source string) []string {
	q := strconv.Quote(source)
	return []string{"slogate_prom_queries_total{source=" + q + "}", "slogate_prom_query_errors_total{source=" + q + "}"}
}

// PromCheckpointKey is the key under which the Prometheus source named
// source keeps how far it has read an SLO. Without it, the source backfills
// the SLO's history.
func PromCheckpointKey(source, service, slo string) string {
	return "prom/" + source + "/" + service + "/" + slo
}

// Run calls Sync at once and then every source interval until ctx is done;
// it then returns nil. A failed round is logged and in Status, and retried
// at the next interval from where the last good one stopped.
func (p *Prom) Run(ctx context.Context) error {
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		if err := p.Sync(ctx, p.now()); err != nil && ctx.Err() == nil {
			p.log.Warn("prometheus source round failed; retrying next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Status returns how far each SLO has been read.
func (p *Prom) Status() []PromSLOStatus {
	p.smu.Lock()
	defer p.smu.Unlock()
	out := make([]PromSLOStatus, len(p.slos))
	for i, s := range p.slos {
		out[i] = s.status
	}
	return out
}

// Sync does one round: for every SLO, it reads the samples from where the
// last round stopped up to now minus the lag, one backfill chunk per query,
// and records the increases with the new position after each chunk. It
// returns the errors of the SLOs that failed; the others still advanced.
func (p *Prom) Sync(ctx context.Context, now time.Time) error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	end := millis(now.Add(-p.lag))
	var errs []error
	for _, s := range p.slos {
		err := p.syncSLO(ctx, s, now, end)
		p.smu.Lock()
		s.status.LastError = ""
		if err != nil {
			s.status.LastError = err.Error()
		}
		p.smu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("prometheus source %s: slo %s/%s: %w", p.src.Name, s.ref.service, s.ref.name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Prom) syncSLO(ctx context.Context, s *promSLO, now time.Time, end int64) error {
	if !s.loaded {
		if err := p.load(ctx, s, now); err != nil {
			return err
		}
	}
	chunk := p.chunk.Milliseconds()
	if s.st.covered >= end {
		p.setStatus(s, end)
		return nil
	}
	n := (end - s.st.covered + chunk - 1) / chunk
	for i := int64(1); s.st.covered < end; i++ {
		to := min(s.st.covered+chunk, end)
		if err := p.syncChunk(ctx, s, to); err != nil {
			p.setStatus(s, end)
			return err
		}
		p.setStatus(s, end)
		if n > 1 {
			p.log.Info("backfill", "service", s.ref.service, "slo", s.ref.name,
				"chunk", i, "of", n, "percent", math.Round(p.progress(s, end)*1000)/10,
				"until", fromMillis(to))
		}
	}
	return nil
}

func (p *Prom) progress(s *promSLO, end int64) float64 {
	if end <= s.st.start || s.st.covered >= end {
		return 1
	}
	return float64(s.st.covered-s.st.start) / float64(end-s.st.start)
}

func (p *Prom) setStatus(s *promSLO, end int64) {
	st := &s.st
	var since time.Time
	switch {
	case st.earliest == 0 && st.covered > st.start:
		since = fromMillis(st.covered)
	case st.earliest > st.start+partialHistoryTolerance.Milliseconds():
		since = fromMillis(st.earliest)
	}
	p.smu.Lock()
	s.status.HistorySince = since
	s.status.Backfilling = end-st.covered > p.chunk.Milliseconds()
	s.status.Progress = p.progress(s, end)
	s.status.Following = fromMillis(st.covered)
	p.smu.Unlock()
}

// load restores an SLO's state from its checkpoint, or starts a backfill
// of the retention when there is none.
func (p *Prom) load(ctx context.Context, s *promSLO, now time.Time) error {
	data, ok, err := p.sink.Checkpoint(ctx, s.key)
	if err != nil {
		return fmt.Errorf("read checkpoint: %w", err)
	}
	if ok {
		st, err := decodePromState(data)
		if err == nil {
			s.st, s.loaded = st, true
			return nil
		}
		p.log.Warn("ignoring unreadable checkpoint; backfilling again", "service", s.ref.service, "slo", s.ref.name, "err", err)
	}
	start := millis(now.Add(-p.retention).Truncate(time.Minute))
	s.st = promState{covered: start, start: start, ctr: [2]*counters{newCounters(), newCounters()}}
	s.loaded = true
	p.log.Info("backfill starting", "service", s.ref.service, "slo", s.ref.name, "since", fromMillis(start))
	return nil
}

// syncChunk reads the samples in (covered, to] and records them.
func (p *Prom) syncChunk(ctx context.Context, s *promSLO, to int64) error {
	from := s.st.covered
	type sums = [2]float64
	byMinute := make(map[int64]*sums)
	earliest := s.st.earliest
	for role := range 2 {
		m, err := p.query(ctx, s.q[role], to-from, to)
		if err != nil {
			s.st.ctr[0].rollback()
			s.st.ctr[1].rollback()
			return err
		}
		ctr := s.st.ctr[role]
		for _, ss := range m {
			key := uint64(ss.Metric.Fingerprint())
			for _, sp := range ss.Values {
				ts := int64(sp.Timestamp)
				if ts <= from || ts > to {
					continue
				}
				if earliest == 0 || ts < earliest {
					earliest = ts
				}
				inc, ok := ctr.observe(key, float64(sp.Value), ts, 0)
				if !ok {
					continue
				}
				minute := ts - ts%60000
				sm := byMinute[minute]
				if sm == nil {
					sm = new(sums)
					byMinute[minute] = sm
				}
				sm[role] += inc
			}
		}
	}
	minutes := make([]int64, 0, len(byMinute))
	for m := range byMinute {
		minutes = append(minutes, m)
	}
	slices.Sort(minutes)
	var incs []Increase
	for _, m := range minutes {
		sm := byMinute[m]
		t := tally{good: sm[roleGood], bad: sm[roleGood], total: sm[roleTotal]}
		if inc, ok := t.increase(s.ref.service, s.ref.name, s.ref.hasBad, fromMillis(m)); ok {
			incs = append(incs, inc)
		}
	}
	next := s.st
	next.covered, next.earliest = to, earliest
	cp := Checkpoint{Key: s.key, Data: encodePromState(next)}
	if err := p.sink.Record(ctx, incs, []Checkpoint{cp}); err != nil {
		s.st.ctr[0].rollback()
		s.st.ctr[1].rollback()
		return fmt.Errorf("record: %w", err)
	}
	s.st.ctr[0].commit()
	s.st.ctr[1].commit()
	s.st = next
	forget := to - promForgetAfter.Milliseconds()
	s.st.ctr[0].forgetBefore(forget)
	s.st.ctr[1].forgetBefore(forget)
	return nil
}

// query returns the raw samples of sel in (end-rangeMS, end].
func (p *Prom) query(ctx context.Context, sel string, rangeMS, end int64) (model.Matrix, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	q := sel + "[" + model.Duration(time.Duration(rangeMS)*time.Millisecond).String() + "]"
	p.queries.Inc()
	v, warns, _, err := p.api.Query(ctx, q, fromMillis(end))
	if err != nil {
		p.queryErrors.Inc()
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	if len(warns) > 0 {
		p.log.Warn("query warnings", "query", q, "warnings", warns)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		p.queryErrors.Inc()
		return nil, fmt.Errorf("query %s: got a %s, want a matrix", q, v.Type())
	}
	return m, nil
}

func encodePromState(st promState) []byte {
	b := []byte{promCheckpointVersion}
	b = binary.AppendVarint(b, st.covered)
	b = binary.AppendVarint(b, st.start)
	b = binary.AppendVarint(b, st.earliest)
	b = st.ctr[0].appendTo(b)
	return st.ctr[1].appendTo(b)
}

func decodePromState(b []byte) (promState, error) {
	var st promState
	if len(b) == 0 || b[0] != promCheckpointVersion {
		return st, errors.New("unknown checkpoint version")
	}
	b = b[1:]
	for _, dst := range []*int64{&st.covered, &st.start, &st.earliest} {
		v, k := binary.Varint(b)
		if k <= 0 {
			return st, errShortCheckpoint
		}
		*dst, b = v, b[k:]
	}
	var err error
	for i := range st.ctr {
		if st.ctr[i], b, err = decodeCounters(b, 0); err != nil {
			return st, err
		}
	}
	if len(b) != 0 {
		return st, errors.New("trailing data")
	}
	return st, nil
}
