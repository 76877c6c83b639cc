-- 006: a row's own spelling of its address. Rows with one dedupe key share one addresses row,
-- whose address is the spelling first met (a local part's case may differ: Carol@ and carol@
-- are one address). A row whose normalized address differs from the key keeps it here, so an
-- export shows each row its own spelling, never another list's (in a server's shared store,
-- another user's). NULL: the key itself.
ALTER TABLE rows ADD COLUMN address TEXT;
-- Rows stored before: they keep what their export showed (the addresses row's spelling).
UPDATE rows SET address = (SELECT a.address FROM addresses a WHERE a.id = rows.address_id)
	WHERE address_id IS NOT NULL
	AND (SELECT a.address FROM addresses a WHERE a.id = rows.address_id) IS NOT NULL;
