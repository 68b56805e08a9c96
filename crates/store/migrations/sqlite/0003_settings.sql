-- The account's choice about mail analysis: 1 runs the spam score on incoming mail before it is
-- encrypted, 0 means the server does not look at the content at all (mail goes to the Inbox).
ALTER TABLE accounts ADD COLUMN mail_analysis INTEGER NOT NULL DEFAULT 1;
