-- SLOs get a small integer id so that each of their many blocks does not
-- repeat the "service/slo" key.
CREATE TABLE slos (
	id  INTEGER PRIMARY KEY,
	key TEXT NOT NULL UNIQUE
);

-- One row per SLO and UTC hour: budget.Block's encoding, as held in memory.
CREATE TABLE blocks (
	slo_id INTEGER NOT NULL REFERENCES slos (id) ON DELETE CASCADE,
	start  INTEGER NOT NULL, -- minutes since the Unix epoch, a multiple of 60
	data   BLOB NOT NULL,
	PRIMARY KEY (slo_id, start)
) WITHOUT ROWID;

-- Small opaque checkpoints of sources, saved with the blocks they produced.
CREATE TABLE states (
	key  TEXT PRIMARY KEY,
	data BLOB NOT NULL
) WITHOUT ROWID;
