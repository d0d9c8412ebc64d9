package slo

import (
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Config is slogate's server configuration, read from one YAML file. Relative
// paths in it are resolved against the file's directory.
type Config struct {
	// Listen is the HTTP listen address; default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Storage is the SQLite database path; default slogate.db.
	Storage string `yaml:"storage"`
	// Specs are spec files or directories of *.yaml/*.yml spec files.
	Specs []string `yaml:"specs"`
	// EvaluationInterval is how often budgets are recomputed; default 15s.
	EvaluationInterval model.Duration `yaml:"evaluationInterval"`
	// RetentionMargin is kept on top of the longest SLO window; default 1d.
	RetentionMargin model.Duration `yaml:"retentionMargin"`
	// RecordRetention is how long operational records are kept; default
	// 90d, and it must be positive. At start and every hour, slogate
	// deletes what became older than that: notifications no longer
	// pending, with their delivery attempts; silences that ended;
	// acknowledgements; deploys, except the latest of each service and
	// environment; and gate decision changes, except the latest of each
	// service. The audit trail is kept for good: the gate's audit log of
	// deploys and overrides, the overrides themselves (they are few) and
	// the spec history.
	RecordRetention model.Duration `yaml:"recordRetention"`
	// Sources are where SLIs come from.
	Sources Sources `yaml:"sources"`
	// Schedules are named schedules SLOs can refer to.
	Schedules []ScheduleSpec `yaml:"schedules"`
	// Gate holds the release gate's default policy; services override it.
	Gate GatePolicy `yaml:"gate"`
	// Auth configures API tokens.
	Auth Auth `yaml:"auth"`
	// ExternalURL is where people reach slogate, used for links in gate
	// answers and alerts; default http://<listen>.
	ExternalURL string `yaml:"externalURL"`
	// People is the directory of developers who can be on call.
	People []Person `yaml:"people"`
	// Teams own services and have on-call rotations. When any are set,
	// every service's owner.team must name one.
	Teams []Team `yaml:"teams"`
	// Receivers are where notifications can go.
	Receivers []Receiver `yaml:"receivers"`
	// SMTP is the relay email receivers send through; required when any
	// receiver is of type email.
	SMTP *SMTPConfig `yaml:"smtp"`
	// Alerting says where alerts go that no team takes, and how delivery
	// is retried and repeated.
	Alerting AlertingConfig `yaml:"alerting"`

	// File is the path the config was loaded from.
	File string `yaml:"-"`
}

// Sources lists the SLI sources besides the push intake, which is always on.
type Sources struct {
	// Scrape lists targets the built-in scraper reads.
	Scrape []ScrapeTarget `yaml:"scrape"`
	// Prometheus lists PromQL HTTP APIs, by name.
	Prometheus []PromSource `yaml:"prometheus"`
}

// ScrapeTarget is one endpoint serving Prometheus or OpenMetrics text.
type ScrapeTarget struct {
	// Name identifies the target in logs, metrics and health, and is its
	// job label.
	Name string `yaml:"name"`
	// URL is the metrics endpoint, e.g. http://127.0.0.1:9100/metrics.
	URL string `yaml:"url"`
	// Interval between scrapes; default 15s.
	Interval model.Duration `yaml:"interval"`
	// Timeout of one scrape; default 10s and at most Interval.
	Timeout model.Duration `yaml:"timeout"`
	// BodyLimit is the largest body read, in bytes; default 64 MiB.
	BodyLimit int64 `yaml:"bodyLimit"`
	// SeriesLimit is the most series one scrape may return; default 200000.
	SeriesLimit int `yaml:"seriesLimit"`
	// Labels are added to every scraped series. job defaults to Name and
	// instance to the URL's host:port, as Prometheus does, so the same
	// selectors work against the scraper and against a Prometheus.
	Labels map[string]string `yaml:"labels"`
	// HTTP configures TLS, authentication and proxies.
	HTTP config.HTTPClientConfig `yaml:"http"`
}

// PromSource is a Prometheus-compatible query API (Prometheus,
// VictoriaMetrics, Thanos, Mimir).
type PromSource struct {
	// Name is what SLIs refer to in sli.source.
	Name string `yaml:"name"`
	// URL is the API base, e.g. http://127.0.0.1:9090 (without /api/v1).
	URL string `yaml:"url"`
	// Interval between incremental queries; default 1m.
	Interval model.Duration `yaml:"interval"`
	// Timeout of one query; default 30s.
	Timeout model.Duration `yaml:"timeout"`
	// BackfillChunk is the time span of one backfill query; default 6h.
	BackfillChunk model.Duration `yaml:"backfillChunk"`
	// HTTP configures TLS, authentication and proxies.
	HTTP config.HTTPClientConfig `yaml:"http"`
}

// ScheduleSpec is a named schedule as written in the config: the minutes
// during which an SLO's budget is spent. CompileSchedule turns it into a
// Schedule.
type ScheduleSpec struct {
	// Name is what SLOs refer to.
	Name string `yaml:"name"`
	// TimeZone is an IANA zone such as Europe/Berlin; default UTC.
	TimeZone string `yaml:"timeZone"`
	// Weekly lists the active hours per weekday; empty means every minute of
	// every day.
	Weekly []WeeklyRule `yaml:"weekly"`
	// Holidays are whole local days that are inactive.
	Holidays Holidays `yaml:"holidays"`
	// Maintenance lists absolute windows that never spend budget.
	Maintenance []Maintenance `yaml:"maintenance"`
}

// WeeklyRule makes ranges of local time active on some weekdays.
type WeeklyRule struct {
	// Days are weekday names or ranges: "mon", "tue", ... or "mon-fri".
	Days []string `yaml:"days"`
	// Hours are "HH:MM-HH:MM" ranges of local wall-clock time, end
	// exclusive; "24:00" ends at midnight.
	Hours []string `yaml:"hours"`
}

// Holidays lists inactive local days.
type Holidays struct {
	// Country is an ISO 3166 code with a calendar in github.com/rickar/cal/v2
	// (e.g. "us", "de", "gb"), optionally with a region ("de-by").
	Country string `yaml:"country"`
	// Dates are extra holidays as YYYY-MM-DD.
	Dates []string `yaml:"dates"`
}

// Maintenance is an absolute window [Start, End) that spends no budget.
type Maintenance struct {
	// Start is the first instant of the window, e.g. 2026-06-01T02:00:00Z.
	Start time.Time `yaml:"start"`
	// End is the first instant after the window; it must be after Start.
	End time.Time `yaml:"end"`
	// Reason says why, for people reading the budget.
	Reason string `yaml:"reason"`
}
