-- 004: what a list's bytes were, so that a rerun knows its list by content, not only by name.
-- raw_sha256 is the SHA-256 of the first raw_bytes bytes of the input as read (compressed bytes
-- for gzip), saved with each committed batch: a resumed import (stdin too) must read the same
-- bytes first. Once the list is done it covers the whole input (for a list whose input was
-- damaged too), and a finished file's identity ends with ":sha256:" and that hash, so a file
-- replaced by another of the same size and mtime is a new list. NULL: imported before 004.
ALTER TABLE lists ADD COLUMN raw_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lists ADD COLUMN raw_sha256 TEXT;
-- rows.detail: what the export's mailsift_detail says of a row that holds no address
-- (row_too_long: its line and the limit), or NULL.
ALTER TABLE rows ADD COLUMN detail TEXT;
