-- The keys the account's devices know for people on other servers (imported, or collected from
-- Autocrypt headers), encrypted by the client to the account's own key: the server sees neither
-- the addresses nor the keys. The version lets two devices edit it without losing each other's
-- additions (a stale write gets 409).
ALTER TABLE accounts ADD COLUMN sealed_keyring BLOB;
ALTER TABLE accounts ADD COLUMN keyring_version INTEGER NOT NULL DEFAULT 0;
