-- 012: where a bulk import settles the rows it set aside (deferred_rows, migration 009): their
-- address and duplicate mark go into this small table, appended in row order, instead of an
-- UPDATE of `rows`. That UPDATE touched about every page of `rows` (the rows set aside are
-- spread through the list) and so wrote the whole table twice more, WAL and checkpoint: on
-- 8M rows, a third of the import's time.
-- A row's address is rows.address_id; when that is NULL, the row's entry here, if any (else
-- the row holds no address). Its duplicate mark likewise: rows.dup_of, else the entry's.
CREATE TABLE row_links (
	row_id      INTEGER PRIMARY KEY,        -- rows.id (list_id << 40 | row_no)
	address_id  INTEGER NOT NULL,
	dup_of      INTEGER                     -- line of the list's first row with the address
);
