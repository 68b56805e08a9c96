-- What several `plico serve` nodes must share (SQLite's migration 0012 says why, column by column).

CREATE TABLE pending_logins (
    id TEXT PRIMARY KEY,
    sealed_state BYTEA NOT NULL,
    account_id BIGINT,
    name TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE INDEX pending_logins_started ON pending_logins (started_at);

CREATE TABLE pending_signups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE INDEX pending_signups_started ON pending_signups (started_at);

CREATE TABLE rate_windows (
    limiter TEXT NOT NULL,
    key_hash BYTEA NOT NULL,
    start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    steps BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (limiter, key_hash)
);
CREATE INDEX rate_windows_expiry ON rate_windows (expires_at);

CREATE TABLE job_runs (
    job TEXT PRIMARY KEY,
    last_run_at BIGINT NOT NULL
);

CREATE TABLE node_secrets (
    name TEXT PRIMARY KEY,
    fingerprint BYTEA NOT NULL
);

ALTER TABLE outbound ADD COLUMN sealed_message BYTEA;
