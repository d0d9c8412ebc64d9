package slo

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Defaults filled in by LoadConfig.
const (
	DefaultListen             = "127.0.0.1:8080"
	DefaultStorage            = "slogate.db"
	DefaultEvaluationInterval = model.Duration(15 * time.Second)
	DefaultRetentionMargin    = model.Duration(24 * time.Hour)
	DefaultRecordRetention    = model.Duration(90 * 24 * time.Hour)
	DefaultScrapeInterval     = model.Duration(15 * time.Second)
	DefaultScrapeTimeout      = model.Duration(10 * time.Second)
	DefaultBodyLimit          = 64 << 20
	DefaultSeriesLimit        = 200_000
	DefaultPromInterval       = model.Duration(time.Minute)
	DefaultPromTimeout        = model.Duration(30 * time.Second)
	DefaultBackfillChunk      = model.Duration(6 * time.Hour)
	DefaultSMTPTimeout        = model.Duration(30 * time.Second)
	DefaultDeliveryDeadline   = model.Duration(15 * time.Minute)
	DefaultRepeatInterval     = model.Duration(time.Hour)
	DefaultHoldDown           = model.Duration(5 * time.Minute)
)

const (
	wantService = "a service spec with name, owner and slos"
	wantConfig  = "a slogate config with listen, storage, specs, sources and schedules"
)

// Catalog is everything slogate runs from: the server config, the services
// from its spec paths and the compiled schedules. It is read-only once
// loaded and safe for concurrent use.
type Catalog struct {
	// Config is the server configuration.
	Config *Config
	// Services are the loaded, validated services in load order.
	Services []*Service
	// Schedules are the compiled schedules by name, including AlwaysName.
	Schedules map[string]*Schedule
	// Warnings are what is worth fixing but does not stop slogate, in
	// file order like problems.
	Warnings Problems
}

// Schedule returns the compiled schedule an SLO is measured on; the
// always-on schedule when it names none.
func (c *Catalog) Schedule(s SLO) *Schedule {
	if sch, ok := c.Schedules[s.Schedule]; ok && s.Schedule != "" {
		return sch
	}
	if sch, ok := c.Schedules[AlwaysName]; ok {
		return sch
	}
	return AlwaysOn()
}

// Load reads the config at configPath and every service spec it names, and
// checks that they fit together: every SLO's schedule and source exist and
// service names are unique. Its error is Problems listing everything wrong
// in every file, warnings included; when it loads, the warnings are in
// Catalog.Warnings.
func Load(configPath string) (*Catalog, error) { return load(configPath, nil, nil) }

// LoadWithSpecs is Load with the config's spec paths replaced by specs (as
// given, not resolved against the config file), for checking specs that are
// not yet deployed against a running config.
func LoadWithSpecs(configPath string, specs []string) (*Catalog, error) {
	return load(configPath, specs, nil)
}

// SpecSource is a service spec that is not a file, such as one stored
// through the API.
type SpecSource struct {
	// File is what problems and Service.File name it by, such as
	// "api:checkout".
	File string
	// Data is the spec's YAML (or JSON, which is YAML too).
	Data []byte
	// Replaces lets the source take the place of a spec file's service of
	// the same name, as a pull request changing that file would: the
	// file's service is not loaded.
	Replaces bool
}

// LoadWithSources is Load with sources added after the config's spec
// files, in the order given. A service in a source must not share its name
// with one in another source. When it shares it with a file's service, the
// file's wins and the source is left out with a warning, unless the source
// Replaces it.
func LoadWithSources(configPath string, sources []SpecSource) (*Catalog, error) {
	return load(configPath, nil, sources)
}

// ParseService decodes and validates one spec on its own, without the
// config: what it can tell is the service's name and the problems of the
// spec by itself. Its error is Problems, warnings included; warnings alone
// do not make it fail.
func ParseService(file string, data []byte) (*Service, error) {
	svc, r := parseService(file, data)
	ps := r.sorted()
	if svc == nil || ps.failed() {
		return nil, ps
	}
	return svc, nil
}

func load(configPath string, specs []string, sources []SpecSource) (*Catalog, error) {
	cfg, problems := loadConfig(configPath)
	if cfg == nil {
		return nil, problems
	}
	if len(specs) > 0 {
		cfg.Specs = specs
	}
	cat := &Catalog{Config: cfg, Schedules: map[string]*Schedule{AlwaysName: AlwaysOn()}}
	// A schedule that does not compile is reported in the config; SLOs
	// naming it are not reported again as naming an unknown schedule.
	broken := map[string]bool{}
	for _, spec := range cfg.Schedules {
		if s, err := CompileSchedule(spec); err == nil && spec.Name != AlwaysName {
			cat.Schedules[spec.Name] = s
		} else {
			broken[spec.Name] = true
		}
	}

	services, sp := loadServices(cfg.Specs, sources)
	problems = append(problems, sp...)
	promSources := map[string]bool{}
	for _, ps := range cfg.Sources.Prometheus {
		promSources[ps.Name] = true
	}
	for _, ls := range services {
		for i, o := range ls.svc.SLOs {
			p := index("slos", i)
			if o.Schedule != "" && cat.Schedules[o.Schedule] == nil && !broken[o.Schedule] && nameRE.MatchString(o.Schedule) {
				ls.r.add(field(p, "schedule"), "unknown schedule %q; %s", o.Schedule, known("schedules", slices.Sorted(maps.Keys(cat.Schedules))))
			}
			if o.SLI.Push == nil && o.SLI.Source != "" && !promSources[o.SLI.Source] && nameRE.MatchString(o.SLI.Source) {
				ls.r.add(field(field(p, "sli"), "source"), "unknown prometheus source %q; %s (leave empty for the built-in scraper)", o.SLI.Source, known("sources", slices.Sorted(maps.Keys(promSources))))
			}
		}
		if g := ls.svc.Gate; g != nil {
			checkFreezeSchedules(g, slices.Sorted(maps.Keys(cat.Schedules)), broken, ls.r, "gate")
			checkServiceThresholds(g, &cfg.Gate, ls.r, "gate")
		}
		checkServiceOnCall(ls.svc, cfg, ls.r)
		problems = append(problems, ls.r.sorted()...)
	}
	if problems.failed() {
		return nil, problems
	}
	for _, ls := range services {
		cat.Services = append(cat.Services, ls.svc)
	}
	cat.Warnings = problems
	return cat, nil
}

func known(what string, names []string) string {
	if len(names) == 0 {
		return "the config defines no " + what
	}
	return "known " + what + ": " + strings.Join(names, ", ")
}

// LoadConfig reads, defaults, resolves and validates the server config at
// path. Relative paths in it (storage, specs, files in HTTP client configs)
// are resolved against the config file's directory. Its error is Problems;
// warnings alone do not make it fail and are not returned.
func LoadConfig(path string) (*Config, error) {
	cfg, problems := loadConfig(path)
	if problems.failed() {
		return nil, problems
	}
	return cfg, nil
}

// loadConfig returns the config even when it has validation problems, so
// Load can go on and report the specs' problems too; it returns nil only
// when the file could not be decoded.
func loadConfig(path string) (*Config, Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Message: fmt.Sprintf("cannot read config: %v", fsReason(err))}}
	}
	var cfg Config
	root, problems := decodeStrict(path, data, &cfg, wantConfig)
	if len(problems) > 0 {
		return nil, problems
	}
	cfg.File = path
	r := &reporter{file: path, root: root}
	applyDefaults(&cfg, r)
	validateConfig(&cfg, r)
	resolvePaths(&cfg, filepath.Dir(path))
	return &cfg, r.sorted()
}

func applyDefaults(c *Config, r *reporter) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Storage == "" {
		c.Storage = DefaultStorage
	}
	if c.ExternalURL == "" {
		// Links must work from the machine slogate runs on at least; a
		// wildcard listen address is not a host a browser can open.
		if host, port, err := net.SplitHostPort(c.Listen); err == nil {
			switch host {
			case "", "0.0.0.0", "::":
				host = "localhost"
			}
			c.ExternalURL = "http://" + net.JoinHostPort(host, port)
		}
	}
	if c.EvaluationInterval == 0 {
		c.EvaluationInterval = DefaultEvaluationInterval
	}
	if c.RetentionMargin == 0 && lookup(r.root, "retentionMargin") == nil {
		c.RetentionMargin = DefaultRetentionMargin
	}
	if c.RecordRetention == 0 && lookup(r.root, "recordRetention") == nil {
		c.RecordRetention = DefaultRecordRetention
	}
	for i := range c.Sources.Scrape {
		t := &c.Sources.Scrape[i]
		p := index("sources.scrape", i)
		if t.Interval == 0 {
			t.Interval = DefaultScrapeInterval
		}
		if t.Timeout == 0 {
			t.Timeout = min(DefaultScrapeTimeout, t.Interval)
		}
		if t.BodyLimit == 0 {
			t.BodyLimit = DefaultBodyLimit
		}
		if t.SeriesLimit == 0 {
			t.SeriesLimit = DefaultSeriesLimit
		}
		// HTTPClientConfig's own defaults (follow redirects, HTTP/2) only
		// apply when the http key is present.
		if lookup(r.root, field(p, "http")) == nil {
			t.HTTP = config.DefaultHTTPClientConfig
		}
	}
	for i := range c.Sources.Prometheus {
		s := &c.Sources.Prometheus[i]
		p := index("sources.prometheus", i)
		if s.Interval == 0 {
			s.Interval = DefaultPromInterval
		}
		if s.Timeout == 0 {
			s.Timeout = DefaultPromTimeout
		}
		if s.BackfillChunk == 0 {
			s.BackfillChunk = DefaultBackfillChunk
		}
		if lookup(r.root, field(p, "http")) == nil {
			s.HTTP = config.DefaultHTTPClientConfig
		}
	}
	applyAlertingDefaults(c, r)
}

func validateConfig(c *Config, r *reporter) {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		r.add("listen", "must be host:port such as 127.0.0.1:8080 or :8080, got %q", c.Listen)
	}
	if len(c.Specs) == 0 {
		r.add("specs", "at least one spec file or directory is required")
	}
	for i, s := range c.Specs {
		if strings.TrimSpace(s) == "" {
			r.add(index("specs", i), "must be a file or directory path")
		}
	}
	if c.EvaluationInterval < 0 {
		r.add("evaluationInterval", "must be positive, got %s", c.EvaluationInterval)
	}
	if c.RetentionMargin < 0 {
		r.add("retentionMargin", "must not be negative, got %s", c.RetentionMargin)
	}
	if c.RecordRetention <= 0 {
		r.add("recordRetention", "must be a positive duration, got %s: 0 does not keep records forever; set a long duration, such as 3650d, to keep records longer", c.RecordRetention)
	}

	scrapeNames := map[string]int{}
	for i := range c.Sources.Scrape {
		t := &c.Sources.Scrape[i]
		p := index("sources.scrape", i)
		uniqueName(t.Name, scrapeNames, "sources.scrape", i, r, false)
		if msg := checkHTTPURL(t.URL); msg != "" {
			r.add(field(p, "url"), "%s", msg)
		}
		positive(t.Interval, r, field(p, "interval"))
		positive(t.Timeout, r, field(p, "timeout"))
		if t.Timeout > t.Interval && t.Interval > 0 {
			r.add(field(p, "timeout"), "must be at most interval (%s), got %s", t.Interval, t.Timeout)
		}
		if t.BodyLimit < 0 {
			r.add(field(p, "bodyLimit"), "must be a positive number of bytes, got %d", t.BodyLimit)
		}
		if t.SeriesLimit < 0 {
			r.add(field(p, "seriesLimit"), "must be positive, got %d", t.SeriesLimit)
		}
		checkLabels(t.Labels, r, field(p, "labels"))
		if err := t.HTTP.Validate(); err != nil {
			r.add(field(p, "http"), "%v", err)
		}
	}

	promNames := map[string]int{}
	for i := range c.Sources.Prometheus {
		s := &c.Sources.Prometheus[i]
		p := index("sources.prometheus", i)
		uniqueName(s.Name, promNames, "sources.prometheus", i, r, true)
		if msg := checkHTTPURL(s.URL); msg != "" {
			r.add(field(p, "url"), "%s", msg)
		}
		positive(s.Interval, r, field(p, "interval"))
		positive(s.Timeout, r, field(p, "timeout"))
		positive(s.BackfillChunk, r, field(p, "backfillChunk"))
		if err := s.HTTP.Validate(); err != nil {
			r.add(field(p, "http"), "%v", err)
		}
	}

	scheduleNames := map[string]int{}
	for i, s := range c.Schedules {
		p := index("schedules", i)
		if s.Name == AlwaysName {
			r.add(field(p, "name"), "%q is the built-in always-on schedule; pick another name", AlwaysName)
		} else {
			uniqueName(s.Name, scheduleNames, "schedules", i, r, true)
		}
		compileSchedule(s, r, p)
	}

	validateConfigGate(c, r)
	validateOnCall(c, r)
	validateAlertingConfig(c, r)
}

// uniqueName checks a named list entry's name; strict names follow the
// service naming rule because specs refer to them.
func uniqueName(name string, seen map[string]int, list string, i int, r *reporter, strict bool) {
	p := index(list, i)
	switch {
	case name == "":
		r.add(field(p, "name"), "required")
		return
	case strict && !nameRE.MatchString(name):
		r.add(field(p, "name"), "must be lowercase letters, digits, - and _, starting with a letter or digit; got %q", name)
		return
	case !strict && strings.ContainsAny(name, " \t\n"):
		r.add(field(p, "name"), "must not contain spaces, got %q", name)
		return
	}
	if first, dup := seen[name]; dup {
		r.add(field(p, "name"), "duplicate name %q (also %s)", name, index(list, first))
		return
	}
	seen[name] = i
}

func positive(d model.Duration, r *reporter, p string) {
	if d <= 0 {
		r.add(p, "must be a positive duration, got %s", d)
	}
}

func resolvePaths(c *Config, dir string) {
	if c.Storage != ":memory:" && !strings.HasPrefix(c.Storage, "file:") {
		c.Storage = joinDir(dir, c.Storage)
	}
	for i := range c.Specs {
		c.Specs[i] = joinDir(dir, c.Specs[i])
	}
	for i := range c.Sources.Scrape {
		c.Sources.Scrape[i].HTTP.SetDirectory(dir)
	}
	for i := range c.Sources.Prometheus {
		c.Sources.Prometheus[i].HTTP.SetDirectory(dir)
	}
	resolveOnCallPaths(c, dir)
	if c.SMTP != nil {
		c.SMTP.PasswordFile = joinDir(dir, c.SMTP.PasswordFile)
	}
}

func joinDir(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// LoadServices reads service specs: each path is a spec file or a directory
// whose *.yaml and *.yml files (not subdirectories) are specs, loaded in name
// order. Every service is validated and service names must be unique. Its
// error is Problems listing everything wrong in every file, warnings
// included; warnings alone do not make it fail and are dropped (see
// LoadServicesWarnings).
func LoadServices(paths []string) ([]*Service, error) {
	services, _, err := LoadServicesWarnings(paths)
	return services, err
}

// LoadServicesWarnings is LoadServices that also returns the warnings, in
// file order, when the services load. When they do not, the warnings are in
// the error with the problems.
func LoadServicesWarnings(paths []string) ([]*Service, Problems, error) {
	loaded, problems := loadServices(paths, nil)
	for _, ls := range loaded {
		problems = append(problems, ls.r.sorted()...)
	}
	if problems.failed() {
		return nil, nil, problems
	}
	out := make([]*Service, len(loaded))
	for i, ls := range loaded {
		out[i] = ls.svc
	}
	return out, problems, nil
}

// loadedService is a decoded service with the reporter holding its problems,
// so Load can add cross-file problems at the right lines.
type loadedService struct {
	svc    *Service
	r      *reporter
	source bool // from a SpecSource rather than a file
}

// loadServices returns the services that decoded (valid or not, their
// problems in their reporter) and the problems of files that did not; the
// spec files under paths come first, then sources.
func loadServices(paths []string, sources []SpecSource) ([]*loadedService, Problems) {
	var problems Problems
	var files []string
	seenFile := map[string]bool{}
	for _, p := range paths {
		list, prob := specFiles(p)
		if prob != nil {
			problems = append(problems, *prob)
		}
		for _, f := range list {
			if key := filepath.Clean(f); !seenFile[key] {
				seenFile[key] = true
				files = append(files, f)
			}
		}
	}

	all := make([]SpecSource, 0, len(files)+len(sources))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, Problem{File: f, Message: fmt.Sprintf("cannot read spec: %v", fsReason(err))})
			continue
		}
		all = append(all, SpecSource{File: f, Data: data})
	}
	nFiles := len(all)
	all = append(all, sources...)
	var loaded []*loadedService
	byName := map[string]*loadedService{}
	for i, src := range all {
		f, data := src.File, src.Data
		svc, r := parseService(f, data)
		if svc == nil {
			problems = append(problems, r.problems...)
			continue
		}
		ls := &loadedService{svc: svc, r: r, source: i >= nFiles}
		loaded = append(loaded, ls)
		if svc.Name == "" {
			continue
		}
		if first, dup := byName[svc.Name]; dup {
			switch {
			case src.Replaces && !first.source:
				loaded = slices.DeleteFunc(loaded, func(l *loadedService) bool { return l == first })
				byName[svc.Name] = ls
				continue
			case ls.source && !first.source:
				// The file wins, so that a spec file added later
				// cannot stop slogate from starting.
				loaded = loaded[:len(loaded)-1]
				problems = append(problems, Problem{File: f, Line: lineOf(r.root, "name"), Field: "name", Warning: true,
					Message: fmt.Sprintf("service %q is also defined in %s:%d, which wins: this copy is ignored until it is removed",
						svc.Name, first.svc.File, lineOf(first.r.root, "name"))})
				continue
			}
			r.add("name", "service %q is already defined in %s:%d", svc.Name, first.svc.File, lineOf(first.r.root, "name"))
			continue
		}
		byName[svc.Name] = ls
	}
	return loaded, problems
}

// parseService decodes and validates one spec file's contents. It returns a
// nil service when the file could not be decoded; the reporter holds the
// problems either way.
func parseService(file string, data []byte) (*Service, *reporter) {
	var svc Service
	root, problems := decodeStrict(file, data, &svc, wantService)
	r := &reporter{file: file, root: root, problems: problems}
	if len(problems) > 0 {
		return nil, r
	}
	svc.File = file
	validateService(&svc, r)
	return &svc, r
}

// specFiles lists the spec files a path names.
// SpecFiles lists the spec files path stands for, as Load reads them: path
// itself when it is a file, else its directory's *.yaml and *.yml files by
// name, leaving out hidden files and subdirectories. When it cannot, it
// returns the problem, naming path.
func SpecFiles(path string) ([]string, *Problem) { return specFiles(path) }

func specFiles(path string) ([]string, *Problem) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, &Problem{File: path, Message: fmt.Sprintf("cannot read specs: %v", fsReason(err))}
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, &Problem{File: path, Message: fmt.Sprintf("cannot read spec directory: %v", fsReason(err))}
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if ext := filepath.Ext(name); ext == ".yaml" || ext == ".yml" {
			files = append(files, filepath.Join(path, name))
		}
	}
	if len(files) == 0 {
		return nil, &Problem{File: path, Message: "no spec files (*.yaml or *.yml) in directory"}
	}
	return files, nil // os.ReadDir sorts by name
}

// fsReason drops the path from a file system error: the problem already
// names the file.
func fsReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
