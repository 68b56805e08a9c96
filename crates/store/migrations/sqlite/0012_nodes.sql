-- What several `plico serve` nodes on one database must share, kept in rows rather than in one
-- process's memory (issue 22). SQLite installations are one node, but run the same code.

-- A started sign-in waiting for its second step: the OPAQUE server state, sealed under a key
-- derived from the server's OPAQUE secret (which the database never holds), so a reader of the
-- database cannot finish it. Single use: the finish deletes the row it reads.
CREATE TABLE pending_logins (
    id TEXT PRIMARY KEY,
    sealed_state BLOB NOT NULL,
    -- NULL for an unknown name: the fake login can never finish.
    account_id INTEGER,
    name TEXT NOT NULL,
    started_at INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_logins_started ON pending_logins (started_at);

-- A started sign-up: `signup/finish` must name it, for the same name, in time.
CREATE TABLE pending_signups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    started_at INTEGER NOT NULL
) STRICT;
CREATE INDEX pending_signups_started ON pending_signups (started_at);

-- Rate-limit windows, by limiter and the SHA-256 of the key (an IP or a name is never stored).
CREATE TABLE rate_windows (
    limiter TEXT NOT NULL,
    key_hash BLOB NOT NULL,
    start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    -- After this the window means nothing and may go.
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (limiter, key_hash)
) STRICT;
CREATE INDEX rate_windows_expiry ON rate_windows (expires_at);

-- When each timed job last ran, so that a fleet runs it once per period.
CREATE TABLE job_runs (
    job TEXT PRIMARY KEY,
    last_run_at INTEGER NOT NULL
) STRICT;

-- Fingerprints of the secrets every node must share (the OPAQUE server setup, the queue key):
-- a node started with other secrets than the first is refused, not left to fail sign-ins.
CREATE TABLE node_secrets (
    name TEXT PRIMARY KEY,
    fingerprint BLOB NOT NULL
) STRICT;

-- The sealed outbound package in its row (NULL: an older queue file under queue/), so any node
-- can deliver it.
ALTER TABLE outbound ADD COLUMN sealed_message BLOB;
