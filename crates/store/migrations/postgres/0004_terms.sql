-- Terms accepted at sign-up: SQLite's migration 0014 says why.

ALTER TABLE accounts ADD COLUMN terms_version BIGINT;
ALTER TABLE accounts ADD COLUMN terms_accepted_at BIGINT;
