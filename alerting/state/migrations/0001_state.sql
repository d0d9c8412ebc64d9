-- What alerting must remember across restarts. Times are Unix milliseconds.

-- Each service's open incidents, as the evaluator's own JSON: the state
-- package stores it without reading it.
CREATE TABLE alerting_incidents (
	service    TEXT    PRIMARY KEY,
	state      TEXT    NOT NULL,
	updated_at INTEGER NOT NULL
);

-- Silences: no notification for a service (or one of its SLOs) from
-- starts_at until ends_at, or until expired_at when expired early.
CREATE TABLE alerting_silences (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	service    TEXT    NOT NULL,
	slo        TEXT    NOT NULL DEFAULT '', -- empty for every SLO of the service
	starts_at  INTEGER NOT NULL,
	ends_at    INTEGER NOT NULL,
	reason     TEXT    NOT NULL,
	author     TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expired_at INTEGER,                     -- NULL unless expired early
	expired_by TEXT    NOT NULL DEFAULT '',
	CHECK (ends_at > starts_at)
);
-- The dispatcher asks for the silences still in force on every evaluation:
-- the ones ending in the future, a handful among all ever made.
CREATE INDEX alerting_silences_ends_at ON alerting_silences(ends_at);
CREATE INDEX alerting_silences_service ON alerting_silences(service, id);

-- Acknowledgements of alerts, by dedup key; the first one is kept.
CREATE TABLE alerting_acks (
	dedup_key TEXT    PRIMARY KEY,
	by_name   TEXT    NOT NULL,
	comment   TEXT    NOT NULL DEFAULT '',
	at        INTEGER NOT NULL
);
