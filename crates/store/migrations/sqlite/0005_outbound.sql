-- Mail waiting to leave for other servers through the smarthost. The message itself is a file in
-- `queue/`, sealed under the server's queue key; this row says who it is for and when to try
-- next. A row and its file go once every recipient is delivered or bounced.
CREATE TABLE outbound (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mail_from TEXT NOT NULL,
    -- JSON array of the addresses still to deliver to.
    recipients TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
) STRICT;

CREATE INDEX outbound_due ON outbound (next_attempt_at);
