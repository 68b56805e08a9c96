-- An account's keys beside its primary one: SQLite's migration 0016 says why.

CREATE TABLE account_keys (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    public_cert BYTEA NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('published', 'retired', 'revoked')),
    added_at BIGINT NOT NULL,
    revocation_reason TEXT,
    revoked_at BIGINT,
    PRIMARY KEY (account_id, fingerprint)
);
