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
