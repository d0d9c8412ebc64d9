package source

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/slogate/slogate/slo"
)

// Scrape defaults, used when a target leaves a field zero.
const (
	DefaultScrapeInterval = 15 * time.Second
	DefaultScrapeTimeout  = 10 * time.Second
	DefaultBodyLimit      = 64 << 20
	DefaultSeriesLimit    = 200000
)

const (
	// acceptHeader prefers OpenMetrics text, then Prometheus text, as
	// Prometheus itself does.
	acceptHeader = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

	// MaxCheckpointAge is how old a target's saved counter state may be and
	// still be used at start. Within it, the first scrape after a restart
	// counts everything since the last scrape before it, so no event is
	// lost. Past it the state is dropped and the first scrape is a baseline:
	// attributing a long outage's events to a single minute would distort
	// that minute more than losing them distorts the window.
	MaxCheckpointAge = 10 * time.Minute

	// forgetAfterScrapes is how many successful scrapes a series may be
	// absent from before its state is dropped; when it comes back, its
	// first sample is a new baseline.
	forgetAfterScrapes = 10

	// checkpointEvery is how often a target's state is saved even when no
	// counter moved, so that it stays younger than MaxCheckpointAge.
	checkpointEvery = time.Minute

	scrapeCheckpointVersion = 1
)

// ScraperConfig configures a Scraper.
type ScraperConfig struct {
	// Targets are the endpoints to scrape; names must be unique.
	Targets []slo.ScrapeTarget
	// Services are validated specs; their SLOs with an empty SLI source and
	// a ratio or latency SLI are counted.
	Services []*slo.Service
	// Sink stores increases and counter state. Required.
	Sink Sink
	// Logger receives one line per failed scrape; nil discards.
	Logger *slog.Logger
	// Metrics receives slogate_scrape_* metrics; nil keeps them private.
	Metrics *metrics.Set
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// TargetHealth is the outcome of a target's last scrape.
type TargetHealth struct {
	// Name and URL identify the target.
	Name string `json:"name"`
	URL  string `json:"url"`
	// Up reports whether the last scrape succeeded.
	Up bool `json:"up"`
	// LastScrape is when the last scrape started; zero before the first.
	LastScrape time.Time `json:"lastScrape"`
	// LastDuration is how long the last scrape took.
	LastDuration time.Duration `json:"lastDurationNanos"`
	// LastError says why the last scrape failed; empty when Up.
	LastError string `json:"lastError,omitempty"`
	// Samples is the number of samples the last scrape exposed.
	Samples int `json:"samples"`
	// Series is the number of counter series the target's SLO selectors
	// match and whose state is kept.
	Series int `json:"series"`
	// SLOs are the SLOs (as service/slo) whose selectors matched series of
	// the target in its last successful scrape: the ones a failure of the
	// target leaves without data.
	SLOs []string `json:"slos"`
}

// Scraper reads Prometheus and OpenMetrics text from targets and turns
// counter samples matching SLO selectors into Increases. Its methods are safe
// for concurrent use; scrapes of one target never overlap.
type Scraper struct {
	sink    Sink
	log     *slog.Logger
	now     func() time.Time
	targets []*target
	byName  map[string]*target
	plan    atomic.Pointer[plan]
}

// labelPair is a target label, which wins over an exposed label of the same
// name.
type labelPair struct{ name, value string }

// cacheEntry is what the scraper knows about a series, keyed by the bytes
// of the series as exposed so that steady-state scrapes neither build label
// sets nor run matchers.
type cacheEntry struct {
	hash    uint64
	matches []selRef
	seen    uint64
}

type target struct {
	cfg         slo.ScrapeTarget
	client      *http.Client
	interval    time.Duration
	timeout     time.Duration
	bodyLimit   int64
	seriesLimit int
	extra       []labelPair
	ckKey       string

	upGauge, durGauge, samplesGauge, seriesGauge *metrics.Gauge

	mu             sync.Mutex // serialises scrapes; guards the fields below
	restored       bool
	ctr            *counters
	cache          map[string]*cacheEntry
	cachePlan      *plan
	round          uint64
	lastTS         int64
	lastCheckpoint time.Time
	body           bytes.Buffer
	st             *labels.SymbolTable
	lset           labels.Labels
	tallies        []tally
	famName        []byte
	famSkip        bool
	matchBuf       []selRef

	hmu    sync.Mutex
	health TargetHealth
}

// NewScraper validates cfg and builds each target's HTTP client. Targets
// are not contacted until Run or ScrapeOnce.
func NewScraper(cfg ScraperConfig) (*Scraper, error) {
	if cfg.Sink == nil {
		return nil, errors.New("new scraper: sink is required")
	}
	s := &Scraper{
		sink:   cfg.Sink,
		log:    discardLogger(cfg.Logger),
		now:    cfg.Now,
		byName: make(map[string]*target, len(cfg.Targets)),
	}
	if s.now == nil {
		s.now = time.Now
	}
	set := cfg.Metrics
	if set == nil {
		set = metrics.NewSet()
	}
	p, err := newPlan(cfg.Services)
	if err != nil {
		return nil, fmt.Errorf("new scraper: %w", err)
	}
	s.plan.Store(p)
	for _, tc := range cfg.Targets {
		t, err := newTarget(tc, set)
		if err != nil {
			return nil, fmt.Errorf("new scraper: target %q: %w", tc.Name, err)
		}
		if _, dup := s.byName[tc.Name]; dup {
			return nil, fmt.Errorf("new scraper: target %q is defined twice", tc.Name)
		}
		s.byName[tc.Name] = t
		s.targets = append(s.targets, t)
	}
	return s, nil
}

func newTarget(tc slo.ScrapeTarget, set *metrics.Set) (*target, error) {
	if tc.Name == "" {
		return nil, errors.New("name is required")
	}
	u, err := url.Parse(tc.URL)
	if err != nil {
		return nil, fmt.Errorf("cannot parse url %q: %w", tc.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("url %q: want http:// or https:// with a host", tc.URL)
	}
	if err := tc.HTTP.Validate(); err != nil {
		return nil, fmt.Errorf("http config: %w", err)
	}
	client, err := config.NewClientFromConfig(tc.HTTP, "scrape/"+tc.Name)
	if err != nil {
		return nil, fmt.Errorf("http client: %w", err)
	}
	t := &target{
		cfg:         tc,
		client:      client,
		interval:    time.Duration(tc.Interval),
		timeout:     time.Duration(tc.Timeout),
		bodyLimit:   tc.BodyLimit,
		seriesLimit: tc.SeriesLimit,
		ckKey:       "scrape/" + tc.Name,
		ctr:         newCounters(),
		cache:       make(map[string]*cacheEntry),
		st:          labels.NewSymbolTable(),
		health:      TargetHealth{Name: tc.Name, URL: tc.URL},
	}
	if t.interval <= 0 {
		t.interval = DefaultScrapeInterval
	}
	if t.timeout <= 0 {
		t.timeout = DefaultScrapeTimeout
	}
	t.timeout = min(t.timeout, t.interval)
	if t.bodyLimit <= 0 {
		t.bodyLimit = DefaultBodyLimit
	}
	if t.seriesLimit <= 0 {
		t.seriesLimit = DefaultSeriesLimit
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	lbls := map[string]string{"job": tc.Name, "instance": host}
	for k, v := range tc.Labels {
		lbls[k] = v
	}
	for k, v := range lbls {
		t.extra = append(t.extra, labelPair{k, v})
	}
	names := TargetMetrics(tc.Name)
	t.upGauge = set.GetOrCreateGauge(names[0], nil)
	t.durGauge = set.GetOrCreateGauge(names[1], nil)
	t.samplesGauge = set.GetOrCreateGauge(names[2], nil)
	t.seriesGauge = set.GetOrCreateGauge(names[3], nil)
	return t, nil
}

// TargetMetrics are the series the scraper exports about the scrape
// target named target, for unregistering them once it is gone.
func TargetMetrics(target string) []string {
	q := strconv.Quote(target)
	return []string{
		"slogate_scrape_up{target=" + q + "}",
		"slogate_scrape_duration_seconds{target=" + q + "}",
		"slogate_scrape_samples{target=" + q + "}",
		"slogate_scrape_series{target=" + q + "}",
	}
}

// SetServices replaces the SLOs the scraper counts, e.g. after the specs
// were reloaded. Counter state of series that stay matched is kept.
func (s *Scraper) SetServices(services []*slo.Service) error {
	p, err := newPlan(services)
	if err != nil {
		return fmt.Errorf("set services: %w", err)
	}
	s.plan.Store(p)
	return nil
}

// Run scrapes every target at its interval, starting at once, until ctx is
// done; it then returns nil. A failing target is logged and marked down in
// Health and metrics; the others go on.
func (s *Scraper) Run(ctx context.Context) error {
	if len(s.targets) == 0 {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	for _, t := range s.targets {
		wg.Go(func() {
			tick := time.NewTicker(t.interval)
			defer tick.Stop()
			for {
				_ = s.scrape(ctx, t) // the outcome is in Health, metrics and logs
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// ScrapeOnce scrapes the named target now and returns why it failed, if it
// did.
func (s *Scraper) ScrapeOnce(ctx context.Context, target string) error {
	t, ok := s.byName[target]
	if !ok {
		return fmt.Errorf("scrape %s: no such target", target)
	}
	return s.scrape(ctx, t)
}

// Health returns the outcome of each target's last scrape, in config order.
func (s *Scraper) Health() []TargetHealth {
	out := make([]TargetHealth, 0, len(s.targets))
	for _, t := range s.targets {
		t.hmu.Lock()
		out = append(out, t.health)
		t.hmu.Unlock()
	}
	return out
}

func (s *Scraper) scrape(ctx context.Context, t *target) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ctx.Err() != nil {
		return fmt.Errorf("scrape %s: %w", t.cfg.Name, ctx.Err())
	}
	start := s.now()
	samples, err := s.scrapeLocked(ctx, t, start)
	dur := s.now().Sub(start)
	if err != nil {
		t.ctr.rollback()
		err = fmt.Errorf("scrape %s: %w", t.cfg.Name, err)
		s.log.Warn("scrape failed", "target", t.cfg.Name, "url", t.cfg.URL, "err", err)
	}
	up := err == nil
	t.upGauge.Set(b2f(up))
	t.durGauge.Set(dur.Seconds())
	t.samplesGauge.Set(float64(samples))
	t.seriesGauge.Set(float64(len(t.ctr.m)))
	t.hmu.Lock()
	t.health.Up = up
	t.health.LastScrape = start
	t.health.LastDuration = dur
	t.health.LastError = ""
	if err != nil {
		t.health.LastError = err.Error()
	}
	t.health.Samples = samples
	t.health.Series = len(t.ctr.m)
	t.hmu.Unlock()
	return err
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// scrapeLocked does one scrape: restore state if needed, fetch, parse and
// count, record. On error the caller rolls the counters back.
func (s *Scraper) scrapeLocked(ctx context.Context, t *target, start time.Time) (int, error) {
	if !t.restored {
		if err := s.restore(ctx, t, start); err != nil {
			return 0, err
		}
	}
	// Timestamps only move forward, even if the clock steps back.
	ts := max(millis(start), t.lastTS)
	ct, err := t.fetch(ctx)
	if err != nil {
		return 0, err
	}
	p := s.plan.Load()
	round := t.round + 1
	samples, err := t.parse(t.body.Bytes(), ct, p, ts, round)
	if err != nil {
		return samples, err
	}
	var incs []Increase
	minute := minuteOf(ts)
	for i, r := range p.slos {
		if inc, ok := t.tallies[i].increase(r.service, r.name, r.hasBad, minute); ok {
			incs = append(incs, inc)
		}
	}
	if len(incs) > 0 || t.ctr.changed() || start.Sub(t.lastCheckpoint) >= checkpointEvery {
		cp := Checkpoint{Key: t.ckKey, Data: encodeScrapeState(ts, t.ctr)}
		if err := s.sink.Record(ctx, incs, []Checkpoint{cp}); err != nil {
			return samples, fmt.Errorf("record: %w", err)
		}
		t.lastCheckpoint = start
	}
	t.ctr.commit()
	t.noteFeeds(p, round)
	t.round = round
	t.lastTS = ts
	if round%forgetAfterScrapes == 0 {
		t.forget(round - forgetAfterScrapes)
	}
	return samples, nil
}

// noteFeeds records in the target's health which SLOs the series seen in
// round feed.
func (t *target) noteFeeds(p *plan, round uint64) {
	feeds := make([]bool, len(p.slos))
	for _, e := range t.cache {
		if e.seen == round {
			for _, m := range e.matches {
				feeds[m.slo] = true
			}
		}
	}
	var keys []string
	for i, ok := range feeds {
		if ok {
			keys = append(keys, p.slos[i].service+"/"+p.slos[i].name)
		}
	}
	t.hmu.Lock()
	t.health.SLOs = keys
	t.hmu.Unlock()
}

// forget drops series absent from every successful scrape since round min.
func (t *target) forget(min uint64) {
	t.ctr.forgetRounds(min)
	for k, e := range t.cache {
		if e.seen < min {
			delete(t.cache, k)
		}
	}
}

func (s *Scraper) restore(ctx context.Context, t *target, now time.Time) error {
	data, ok, err := s.sink.Checkpoint(ctx, t.ckKey)
	if err != nil {
		return fmt.Errorf("read checkpoint: %w", err)
	}
	t.restored = true
	if !ok {
		return nil
	}
	ts, ctr, err := decodeScrapeState(data)
	if err != nil {
		s.log.Warn("ignoring unreadable scrape checkpoint", "target", t.cfg.Name, "err", err)
		return nil
	}
	if age := now.Sub(fromMillis(ts)); age > MaxCheckpointAge {
		s.log.Info("ignoring old scrape checkpoint; the first scrape is a baseline", "target", t.cfg.Name, "age", age.Round(time.Second))
		return nil
	}
	t.ctr = ctr
	t.lastTS = ts
	t.lastCheckpoint = now
	return nil
}

func encodeScrapeState(ts int64, ctr *counters) []byte {
	b := make([]byte, 0, 16+len(ctr.m)*20)
	b = append(b, scrapeCheckpointVersion)
	b = binary.AppendVarint(b, ts)
	return ctr.appendTo(b)
}

func decodeScrapeState(b []byte) (int64, *counters, error) {
	if len(b) == 0 || b[0] != scrapeCheckpointVersion {
		return 0, nil, errors.New("unknown checkpoint version")
	}
	ts, k := binary.Varint(b[1:])
	if k <= 0 {
		return 0, nil, errShortCheckpoint
	}
	ctr, rest, err := decodeCounters(b[1+k:], 0)
	if err != nil {
		return 0, nil, err
	}
	if len(rest) != 0 {
		return 0, nil, errors.New("trailing data")
	}
	return ts, ctr, nil
}

// errBodyTooLarge is returned when a target's body exceeds its limit.
type errBodyTooLarge int64

func (e errBodyTooLarge) Error() string { return fmt.Sprintf("body exceeds %d bytes", int64(e)) }

// fetch reads the target's body into t.body and returns its content type.
func (t *target) fetch(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.cfg.URL, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "slogate")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(t.timeout.Seconds(), 'f', -1, 64))
	resp, err := t.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return "", fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	if resp.ContentLength > t.bodyLimit {
		return "", errBodyTooLarge(t.bodyLimit)
	}
	t.body.Reset()
	n, err := t.body.ReadFrom(io.LimitReader(resp.Body, t.bodyLimit+1))
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	if n > t.bodyLimit {
		return "", errBodyTooLarge(t.bodyLimit)
	}
	return resp.Header.Get("Content-Type"), nil
}

// skipTypes are metric types whose samples are not counters, so they never
// count even when a selector names them.
func skipType(mt model.MetricType) bool {
	switch mt {
	case model.MetricTypeGauge, model.MetricTypeGaugeHistogram, model.MetricTypeInfo, model.MetricTypeStateset:
		return true
	}
	return false
}

// parse parses body and observes every sample that an SLO selector matches,
// summing increases into t.tallies. It returns the number of samples.
func (t *target) parse(body []byte, contentType string, p *plan, ts int64, round uint64) (int, error) {
	if t.cachePlan != p {
		clear(t.cache)
		t.cachePlan = p
	}
	if cap(t.tallies) < len(p.slos) {
		t.tallies = make([]tally, len(p.slos))
	}
	t.tallies = t.tallies[:len(p.slos)]
	clear(t.tallies)
	t.famName = t.famName[:0]
	t.famSkip = false

	parser, err := textparse.New(body, contentType, t.st, textparse.ParserOptions{FallbackContentType: "text/plain"})
	if parser == nil {
		return 0, fmt.Errorf("cannot parse content type %q: %w", contentType, err)
	}
	// Only text formats expose series bytes that start with the metric
	// name; for anything else build every label set.
	textFormat := !strings.HasPrefix(contentType, "application/vnd.google.protobuf")
	samples := 0
	for {
		e, err := parser.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return samples, fmt.Errorf("parse: %w", err)
		}
		switch e {
		case textparse.EntryType:
			name, mt := parser.Type()
			t.famName = append(t.famName[:0], name...)
			t.famSkip = skipType(mt)
			continue
		case textparse.EntryHistogram:
			samples++
			if samples > t.seriesLimit {
				return samples, fmt.Errorf("more than %d series (series limit)", t.seriesLimit)
			}
			continue
		case textparse.EntrySeries:
		default:
			continue
		}
		samples++
		if samples > t.seriesLimit {
			return samples, fmt.Errorf("more than %d series (series limit)", t.seriesLimit)
		}
		series, _, v := parser.Series()
		if textFormat && len(series) > 0 && series[0] != '{' {
			name := series
			if i := bytes.IndexByte(series, '{'); i >= 0 {
				name = series[:i]
			}
			if len(p.wild) == 0 {
				if _, ok := p.byName[string(name)]; !ok {
					continue
				}
			}
			if t.famSkip && bytes.HasPrefix(name, t.famName) {
				continue
			}
		}
		ce := t.cache[string(series)]
		if ce == nil {
			ce = t.newEntry(parser, p)
			t.cache[string(series)] = ce
		}
		ce.seen = round
		if len(ce.matches) == 0 {
			continue
		}
		inc, ok := t.ctr.observe(ce.hash, v, ts, round)
		if !ok {
			continue
		}
		for _, m := range ce.matches {
			tl := &t.tallies[m.slo]
			if m.role == roleTotal {
				tl.total += inc
			} else if p.slos[m.slo].hasBad {
				tl.bad += inc
			} else {
				tl.good += inc
			}
		}
	}
	return samples, nil
}

// newEntry builds the label set of the parser's current series and matches
// it against the plan.
func (t *target) newEntry(parser textparse.Parser, p *plan) *cacheEntry {
	parser.Labels(&t.lset)
	lset := t.lset
	get := func(name string) string {
		for _, l := range t.extra {
			if l.name == name {
				return l.value
			}
		}
		return lset.Get(name)
	}
	t.matchBuf = p.match(t.matchBuf[:0], lset.Get(labels.MetricName), get)
	ce := &cacheEntry{hash: lset.Hash()}
	if len(t.matchBuf) > 0 && !(t.famSkip && hasPrefixString(lset.Get(labels.MetricName), t.famName)) {
		ce.matches = append([]selRef(nil), t.matchBuf...)
	}
	return ce
}

func hasPrefixString(s string, prefix []byte) bool {
	return len(prefix) > 0 && len(s) >= len(prefix) && s[:len(prefix)] == string(prefix)
}
