-- Issue 20 (the security review). Internal mail carries the address of the Plico account that
-- sent it, as this server authenticated it, so the reader can show a From that differs. NULL on
-- mail from the Internet, on the sender's own copies and on what a client filed itself.
ALTER TABLE messages ADD COLUMN sender TEXT;

-- Who uploaded a blob: until it is filed, only its uploader may file it (a blob's hash is not a
-- capability anyone who learns it can use to keep the blob alive past its owner's purge).
-- Afterwards an account files it only by already holding a message of it.
CREATE TABLE blob_claims (
    hash TEXT NOT NULL REFERENCES blobs (hash) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (hash, account_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX blob_claims_account ON blob_claims (account_id);

-- Requests that create something may carry an Idempotency-Key: the first answer is kept a day
-- and given again to a repeat, so a send whose answer was lost is not sent twice.
CREATE TABLE idempotency_keys (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    -- SHA-256 of the method and path: a key reused on another endpoint is refused.
    fingerprint BLOB NOT NULL,
    -- NULL while the first request runs.
    status INTEGER,
    body BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- A per-account storage quota in bytes (`plico quota`); NULL: the operator's default
-- (`--quota-mb`).
ALTER TABLE accounts ADD COLUMN quota_bytes INTEGER;
CREATE INDEX IF NOT EXISTS messages_account_size ON messages (account_id, size);
