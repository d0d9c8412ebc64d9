-- Service specs managed through the API, as their authors sent them.
-- Times are Unix milliseconds.
CREATE TABLE slo_api_specs (
	service    TEXT    PRIMARY KEY,
	spec       TEXT    NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by TEXT    NOT NULL
);
