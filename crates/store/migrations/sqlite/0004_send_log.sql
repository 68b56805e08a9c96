-- How many recipients each account sent to, and when: the sending limit's only memory. Kept one
-- day, then purged by the retention task.
CREATE TABLE send_log (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sent_at INTEGER NOT NULL,
    recipients INTEGER NOT NULL
) STRICT;

CREATE INDEX send_log_account ON send_log (account_id, sent_at);
