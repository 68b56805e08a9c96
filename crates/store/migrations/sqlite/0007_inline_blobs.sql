-- Small ciphertexts from the SMTP ingress live in their blob row, written in the group commit's
-- transaction: one WAL fsync per batch instead of a file, a file fsync and a directory fsync per
-- message. NULL for blobs kept as files (uploads, large messages).
ALTER TABLE blobs ADD COLUMN data BLOB;
