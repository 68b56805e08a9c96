-- Second factors, part two (issue 23): passkeys, and the reset through the recovery address.
--
-- Passkeys (WebAuthn) as a second factor, several per account, each named by its owner. The
-- credential (public key, sign counter, as webauthn-rs keeps it) is sealed under a key derived
-- from the server's OPAQUE secret, like an authenticator's secret: a database changed alone
-- cannot slip in a key of its own. `credential_id` is the authenticator's id for it, kept in
-- the clear so that the same authenticator is not registered twice.
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL,
    name TEXT NOT NULL,
    sealed_credential BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;
CREATE UNIQUE INDEX passkeys_credential ON passkeys (account_id, credential_id);

-- A sign-in waiting for its second factor keeps the passkey challenge it was given (sealed).
ALTER TABLE pending_second_factors ADD COLUMN passkey_state BLOB;

-- A second-factor reset an owner who lost every factor asked for at sign-in (after the password):
-- a code mailed to the confirmed recovery address (kept as a keyed hash), usable from `ready_at`
-- (a waiting period in which a sign-in with a factor cancels it) until `expires_at`.
CREATE TABLE factor_resets (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    requested_at INTEGER NOT NULL,
    ready_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The login history names sign-ins with a passkey and with a reset; the table is rebuilt for
-- the CHECK, as in 0013.
CREATE TABLE login_events_new (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('signup', 'password', 'totp', 'recovery_code', 'passkey', 'factor_reset', 'failed_password', 'failed_second_factor'))
) STRICT;
INSERT INTO login_events_new (id, account_id, at, ip, user_agent, kind)
    SELECT id, account_id, at, ip, user_agent, kind FROM login_events;
DROP TABLE login_events;
ALTER TABLE login_events_new RENAME TO login_events;
CREATE INDEX login_events_account_at ON login_events (account_id, at);
CREATE INDEX login_events_at ON login_events (at);
