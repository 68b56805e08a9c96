-- The bytes each account's messages take, kept by triggers in the same transaction as every
-- insert, delete and purge: the quota check reads one row instead of summing the mailbox, which
-- SMTP ingest did twice per message (RCPT and delivery) and which grew with the mailbox.
ALTER TABLE accounts ADD COLUMN used_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET used_bytes = (SELECT COALESCE(SUM(size), 0) FROM messages WHERE account_id = accounts.id);

CREATE TRIGGER messages_usage_insert AFTER INSERT ON messages BEGIN
    UPDATE accounts SET used_bytes = used_bytes + NEW.size WHERE id = NEW.account_id;
END;
CREATE TRIGGER messages_usage_delete AFTER DELETE ON messages BEGIN
    UPDATE accounts SET used_bytes = used_bytes - OLD.size WHERE id = OLD.account_id;
END;
CREATE TRIGGER messages_usage_update AFTER UPDATE OF size, account_id ON messages BEGIN
    UPDATE accounts SET used_bytes = used_bytes - OLD.size WHERE id = OLD.account_id;
    UPDATE accounts SET used_bytes = used_bytes + NEW.size WHERE id = NEW.account_id;
END;

DROP INDEX IF EXISTS messages_account_size;
