-- An account's keys beside its primary one (issue 23): the primary stays in accounts
-- (public_cert, fingerprint, sealed_secret_key: the sealed keyring, primary first). Each other
-- key is 'published' (served by WKD beside the primary: the classical key kept next to a
-- post-quantum primary), 'retired' (rotated out: kept for the record, not served, its secret
-- still in the keyring so old mail stays readable) or 'revoked' (the certificate with its
-- revocation signature, served by WKD so correspondents learn of it). public_cert is the binary
-- certificate; added_at is when it left the primary place or was added.

CREATE TABLE account_keys (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    public_cert BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('published', 'retired', 'revoked')),
    added_at INTEGER NOT NULL,
    revocation_reason TEXT,
    revoked_at INTEGER,
    PRIMARY KEY (account_id, fingerprint)
);
