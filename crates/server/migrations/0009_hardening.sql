-- Issue 20 (the security review). Internal mail carries the address of the Plico account that
-- sent it, as this server authenticated it, so the reader can show a From that differs. NULL on
-- mail from the Internet, on the sender's own copies and on what a client filed itself.
ALTER TABLE messages ADD COLUMN sender TEXT;
