-- Account security (issue 23): second factors, recovery codes, the half-signed-in step of a
-- sign-in, what the session list shows, idle timeouts and revoked sessions.

-- A session as its owner sees it in the list: a public id (never the cookie), when it started
-- and was last seen (updated at most once a minute), the IP and browser of its sign-in (the
-- login history holds the same two), whether it was kept signed in, and until when it may make
-- the changes that ask for the password again.
ALTER TABLE sessions ADD COLUMN public_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN keep_signed_in INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN reauth_until INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET public_id = lower(hex(randomblob(16))), last_seen_at = created_at;
CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id);

-- A session its owner ended from another device (or a password change ended): its cookie is
-- answered `session_revoked`, so that browser wipes what it keeps, until it would have expired.
CREATE TABLE revoked_sessions (
    token_hash BLOB PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    until INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_sessions_until ON revoked_sessions (until);

-- The account's choice of idle timeout, in minutes (NULL: the operator's default).
ALTER TABLE accounts ADD COLUMN idle_minutes INTEGER;

-- Second factors. An authenticator's secret is sealed under a key derived from the server's
-- OPAQUE secret, so the database alone does not hold it; `counter` is the last step used, so a
-- code works once. Unconfirmed rows are a setup waiting for its first code.
CREATE TABLE second_factors (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('totp')),
    sealed_secret BLOB NOT NULL,
    counter INTEGER NOT NULL DEFAULT -1,
    confirmed INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX second_factors_account ON second_factors (account_id);

-- Recovery codes: a keyed hash of each (the key derives from the server's OPAQUE secret), used once.
CREATE TABLE recovery_codes (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (account_id, code_hash)
) STRICT;

-- A sign-in whose password is proven, waiting for its second factor: no session exists, and
-- nothing can be read with the id. Five tries, five minutes, single use.
CREATE TABLE pending_second_factors (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    started_at INTEGER NOT NULL,
    keep_signed_in INTEGER NOT NULL,
    reopen INTEGER NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX pending_second_factors_started ON pending_second_factors (started_at);

-- A started sign-in keeps the IP and browser that started it: with OPAQUE a wrong password is
-- found out in the browser, which then never finishes, so an unfinished sign-in of an account
-- is what a wrong password looks like from here. When it expires it enters the owner's login
-- history as a failed sign-in.
ALTER TABLE pending_logins ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE pending_logins ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- The login history gains failed sign-ins and the second factor used. SQLite cannot change a
-- CHECK in place: the table is rebuilt with the same rows and ids.
CREATE TABLE login_events_new (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('signup', 'password', 'totp', 'recovery_code', 'failed_password', 'failed_second_factor'))
) STRICT;
INSERT INTO login_events_new (id, account_id, at, ip, user_agent, kind)
    SELECT id, account_id, at, ip, user_agent, kind FROM login_events;
DROP TABLE login_events;
ALTER TABLE login_events_new RENAME TO login_events;
CREATE INDEX login_events_account_at ON login_events (account_id, at);
CREATE INDEX login_events_at ON login_events (at);
