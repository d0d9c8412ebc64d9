-- The release gate's records. They share a database file with the budget
-- store, so every table is prefixed gate_ and migrations are tracked in
-- gate_schema_migrations. Times are milliseconds since the Unix epoch, UTC.

-- Deploys as pipelines recorded them. The impact columns stay NULL until
-- the impact job has judged the deploy; impact_class is the class inside
-- the impact JSON, kept apart so that it can be indexed.
CREATE TABLE gate_deploys (
	id           INTEGER PRIMARY KEY,
	service      TEXT NOT NULL CHECK (service <> ''),
	env          TEXT NOT NULL,
	version      TEXT NOT NULL,
	commit_sha   TEXT NOT NULL,
	author       TEXT NOT NULL,
	message      TEXT NOT NULL,
	status       TEXT NOT NULL,
	url          TEXT NOT NULL,
	started_at   INTEGER NOT NULL,
	finished_at  INTEGER,
	created_at   INTEGER NOT NULL,
	impact_class TEXT,
	impact       TEXT, -- JSON
	impact_at    INTEGER,
	CHECK ((impact IS NULL) = (impact_class IS NULL))
);
CREATE INDEX gate_deploys_service_started ON gate_deploys (service, started_at);
CREATE INDEX gate_deploys_started ON gate_deploys (started_at);
-- The impact job's queue: only the deploys not yet judged.
CREATE INDEX gate_deploys_pending ON gate_deploys (coalesce(finished_at, started_at))
	WHERE impact IS NULL;
-- Suspect deploys: only the degraded ones.
CREATE INDEX gate_deploys_degraded ON gate_deploys (service, started_at)
	WHERE impact_class = 'degraded';

-- Overrides of a slow-down. One is active from its creation until it
-- expires or is ended, whichever comes first; ended ones are kept.
CREATE TABLE gate_overrides (
	id         INTEGER PRIMARY KEY,
	service    TEXT NOT NULL CHECK (service <> ''),
	env        TEXT NOT NULL, -- '' for every environment
	reason     TEXT NOT NULL CHECK (reason <> ''),
	by_name    TEXT NOT NULL,
	token      TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
	ended_at   INTEGER,
	ended_by   TEXT NOT NULL
);
CREATE INDEX gate_overrides_service_created ON gate_overrides (service, created_at);
CREATE INDEX gate_overrides_created ON gate_overrides (created_at);
CREATE INDEX gate_overrides_open ON gate_overrides (expires_at) WHERE ended_at IS NULL;

-- Every change of a service's gate decision.
CREATE TABLE gate_decisions (
	id            INTEGER PRIMARY KEY,
	service       TEXT NOT NULL CHECK (service <> ''),
	at            INTEGER NOT NULL,
	from_decision TEXT NOT NULL,
	to_decision   TEXT NOT NULL,
	reasons       TEXT NOT NULL -- JSON array of strings
);
CREATE INDEX gate_decisions_service_at ON gate_decisions (service, at, id);

-- Who changed what, written in the transaction of the change itself.
CREATE TABLE gate_audit (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	actor   TEXT NOT NULL CHECK (actor <> ''),
	action  TEXT NOT NULL CHECK (action <> ''),
	service TEXT NOT NULL,
	target  TEXT NOT NULL,
	detail  TEXT, -- JSON
	remote  TEXT NOT NULL
);
CREATE INDEX gate_audit_at ON gate_audit (at);
CREATE INDEX gate_audit_service_at ON gate_audit (service, at);

-- An audit log that can be edited proves nothing. Deleting stays possible,
-- for a retention policy.
CREATE TRIGGER gate_audit_append_only BEFORE UPDATE ON gate_audit
BEGIN
	SELECT RAISE(ABORT, 'gate_audit is append-only');
END;
