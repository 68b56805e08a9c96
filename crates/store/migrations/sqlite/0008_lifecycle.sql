-- The account's life: closed by its owner (reopenable for the legal period, then purged), or
-- suspended for inactivity (free accounts), then deleted. Only dates and a state: what the
-- retention table names.
ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed', 'suspended'));
-- When the status last changed (closing or suspension), Unix seconds.
ALTER TABLE accounts ADD COLUMN status_since INTEGER;
-- The last sign-in (or sign-up): the inactivity rule's clock. Login history itself goes after a
-- month; this one date stays.
ALTER TABLE accounts ADD COLUMN last_login_at INTEGER NOT NULL DEFAULT 0;
-- Which inactivity notice went out: 0 none, 1 "suspension is coming", 2 "deletion is coming".
ALTER TABLE accounts ADD COLUMN inactivity_notices INTEGER NOT NULL DEFAULT 0;
-- When the last of them went out: a step waits at least the notice period after its notice.
ALTER TABLE accounts ADD COLUMN inactivity_notice_at INTEGER;
-- Paid accounts are not subject to the inactivity rule.
ALTER TABLE accounts ADD COLUMN paid INTEGER NOT NULL DEFAULT 0;
-- An optional address outside Plico for notices, confirmed with a code sent there.
ALTER TABLE accounts ADD COLUMN recovery_address TEXT;
ALTER TABLE accounts ADD COLUMN recovery_confirmed INTEGER NOT NULL DEFAULT 0;
-- SHA-256 of the activation code (never the code), when it expires, and wrong tries so far.
ALTER TABLE accounts ADD COLUMN recovery_code_hash BLOB;
ALTER TABLE accounts ADD COLUMN recovery_code_expires_at INTEGER;
ALTER TABLE accounts ADD COLUMN recovery_code_tries INTEGER NOT NULL DEFAULT 0;
-- The consent receipts, encrypted by the client to the account's own key; versioned like the
-- keyring.
ALTER TABLE accounts ADD COLUMN sealed_consent BLOB;
ALTER TABLE accounts ADD COLUMN consent_version INTEGER NOT NULL DEFAULT 0;

UPDATE accounts SET last_login_at = MAX(created_at, COALESCE((SELECT MAX(at) FROM login_events WHERE account_id = accounts.id), 0));

-- Addresses of purged accounts, which nobody may take until `until`. Only a hash of the name:
-- the list cannot be read back, a given name can only be checked against it.
CREATE TABLE quarantined_names (
    name_hash BLOB PRIMARY KEY,
    until INTEGER NOT NULL
) STRICT;
