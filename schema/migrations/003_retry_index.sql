-- 003: the addresses waiting for a retry (pending, due later), found without reading the whole
-- table: the progress line shows how many and when the next is due. Partial: addresses that
-- never had to wait (next_attempt_at 0, every row of a fresh import) cost it nothing.
CREATE INDEX addresses_retry ON addresses(next_attempt_at) WHERE state = 0 AND next_attempt_at > 0;
