-- Encrypted mail storage. Per message the server keeps an opaque id, the owner, the folder,
-- flags, the size, the received time, and references to two ciphertexts: the PGP/MIME message
-- (in the blob store) and its encrypted summary. Nothing else about a message is in the clear.

-- A per-account change counter: every change to a folder or message takes the next value, so a
-- client can ask for "everything since N".
ALTER TABLE accounts ADD COLUMN modseq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE folders (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- System folders have a role; user folders have a name the client encrypted to its own key.
    role TEXT CHECK (role IN ('inbox', 'drafts', 'sent', 'archive', 'spam', 'trash')),
    sealed_name BLOB,
    modseq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK ((role IS NULL) <> (sealed_name IS NULL)),
    UNIQUE (account_id, role)
) STRICT;

CREATE INDEX folders_account ON folders (account_id);

-- Content-addressed ciphertexts on disk; the row exists once the file is durable.
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    refcount INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    folder_id TEXT NOT NULL REFERENCES folders (id),
    flags INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    blob_hash TEXT NOT NULL REFERENCES blobs (hash),
    sealed_summary BLOB NOT NULL,
    -- Set when deleted from Trash: hidden, recoverable for 45 days, then purged.
    deleted_at INTEGER,
    modseq INTEGER NOT NULL
) STRICT;

CREATE INDEX messages_account_modseq ON messages (account_id, modseq);
CREATE INDEX messages_folder_received ON messages (folder_id, received_at);
CREATE INDEX messages_deleted_at ON messages (deleted_at) WHERE deleted_at IS NOT NULL;

-- What was removed for good, so other devices learn of it through sync.
CREATE TABLE tombstones (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('message', 'folder')),
    id TEXT NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, id)
) STRICT;

-- System folders for accounts made before this migration.
INSERT INTO folders (id, account_id, role, sealed_name, modseq, created_at)
SELECT lower(hex(randomblob(16))), accounts.id, roles.role, NULL, 0, accounts.created_at
FROM accounts, (SELECT 'inbox' AS role UNION ALL SELECT 'drafts' UNION ALL SELECT 'sent'
                UNION ALL SELECT 'archive' UNION ALL SELECT 'spam' UNION ALL SELECT 'trash') AS roles;
