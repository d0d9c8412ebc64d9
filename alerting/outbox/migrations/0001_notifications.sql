-- One row per notification to one receiver. Times are Unix milliseconds.
CREATE TABLE alerting_notifications (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	receiver        TEXT    NOT NULL,
	dedup_key       TEXT    NOT NULL,
	kind            TEXT    NOT NULL,
	message         TEXT    NOT NULL, -- notify.Message as JSON
	status          TEXT    NOT NULL, -- pending, sent, failed, fallback
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	deadline_at     INTEGER NOT NULL,
	fallback_of     INTEGER REFERENCES alerting_notifications(id)
);
CREATE INDEX alerting_notifications_due ON alerting_notifications(status, next_attempt_at);
CREATE INDEX alerting_notifications_dedup ON alerting_notifications(dedup_key);

-- One row per delivery attempt.
CREATE TABLE alerting_attempts (
	notification_id INTEGER NOT NULL REFERENCES alerting_notifications(id),
	attempt         INTEGER NOT NULL,
	at              INTEGER NOT NULL,
	error           TEXT    NOT NULL DEFAULT '', -- empty when delivered
	PRIMARY KEY (notification_id, attempt)
);
