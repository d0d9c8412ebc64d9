-- The fingerprint of the SLI each SLO's blocks were counted with ('' for
-- SLOs stored before fingerprints were kept), and whether the row is an
-- archived history: one that an SLI change replaced, kept until its blocks
-- age out under a key no SLO has.
ALTER TABLE slos ADD COLUMN sli TEXT NOT NULL DEFAULT '';
ALTER TABLE slos ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
