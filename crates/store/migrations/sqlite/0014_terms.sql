-- Sign-up records which version of the terms (the operator's policy version) the new user
-- accepted, and when; "What Plico holds" shows it. Accounts made before have neither.

ALTER TABLE accounts ADD COLUMN terms_version INTEGER;
ALTER TABLE accounts ADD COLUMN terms_accepted_at INTEGER;
