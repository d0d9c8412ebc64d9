-- Every applied change of every service's spec, file or API, oldest first.
-- spec is the spec as slogate ran it after the change ('' once removed);
-- diff turns the previous version into it. Times are Unix milliseconds.
CREATE TABLE slo_spec_history (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	service TEXT    NOT NULL,
	at      INTEGER NOT NULL,
	action  TEXT    NOT NULL, -- created, changed or removed
	by      TEXT    NOT NULL,
	via     TEXT    NOT NULL,
	source  TEXT    NOT NULL, -- file or api
	file    TEXT    NOT NULL,
	remote  TEXT    NOT NULL,
	spec    TEXT    NOT NULL,
	diff    TEXT    NOT NULL,
	notes   TEXT    NOT NULL  -- one a line
);
CREATE INDEX slo_spec_history_service ON slo_spec_history (service, id);
