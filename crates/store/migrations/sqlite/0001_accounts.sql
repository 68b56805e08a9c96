-- Accounts, sessions and login history: exactly what the privacy policy names, nothing more.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    -- The local part; the address is name@domain.
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL UNIQUE,
    -- OPAQUE's password file: useless for a dictionary attack without the server's OPRF seed,
    -- which lives in its own file outside this database.
    opaque_password_file BLOB NOT NULL,
    -- The public certificate, binary.
    public_cert BLOB NOT NULL,
    fingerprint TEXT NOT NULL,
    -- z-base-32 of SHA-1 of the lowercase local part, for Web Key Directory.
    wkd_hash TEXT NOT NULL,
    -- The secret key as the browser sealed it under a key derived from OPAQUE's export key.
    sealed_secret_key BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX accounts_wkd_hash ON accounts (wkd_hash);

CREATE TABLE sessions (
    -- SHA-256 of the cookie's random 256-bit value; the value itself is never stored.
    token_hash BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE login_events (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('signup', 'password'))
) STRICT;

CREATE INDEX login_events_account_at ON login_events (account_id, at);
CREATE INDEX login_events_at ON login_events (at);
