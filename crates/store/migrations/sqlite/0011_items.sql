-- Sealed items of every kind other than mail (contacts and contact groups first; calendar events
-- and documents later), in one table: a new kind needs no new table. The client signs and
-- encrypts each item to the account's own key; the server keeps the kind, an id the client chose,
-- the ciphertext, its size, a version, the account's change counter (the same cursor as mail's
-- sync) and times. Nothing else about an item is in the clear.
CREATE TABLE items (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    size INTEGER NOT NULL,
    -- Grows by one with each write of the content; a write names the version it replaces.
    version INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- Set when deleted: hidden, recoverable for 45 days, then purged.
    deleted_at INTEGER,
    PRIMARY KEY (account_id, kind, id)
) STRICT;

CREATE INDEX items_account_kind_modseq ON items (account_id, kind, modseq);
CREATE INDEX items_deleted_at ON items (deleted_at) WHERE deleted_at IS NOT NULL;

-- Items purged for good, so other devices learn of it through sync.
CREATE TABLE item_tombstones (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, id)
) STRICT;

CREATE INDEX item_tombstones_modseq ON item_tombstones (account_id, kind, modseq);

-- Items count against the quota as messages do (migration 0010).
CREATE TRIGGER items_usage_insert AFTER INSERT ON items BEGIN
    UPDATE accounts SET used_bytes = used_bytes + NEW.size WHERE id = NEW.account_id;
END;
CREATE TRIGGER items_usage_delete AFTER DELETE ON items BEGIN
    UPDATE accounts SET used_bytes = used_bytes - OLD.size WHERE id = OLD.account_id;
END;
CREATE TRIGGER items_usage_update AFTER UPDATE OF size ON items BEGIN
    UPDATE accounts SET used_bytes = used_bytes - OLD.size + NEW.size WHERE id = NEW.account_id;
END;
