-- 008: a list imported as one shard of N (`--shard K/N`, common/shard.h) keeps only the rows
-- whose address the shard owns; its rows keep their row numbers in the whole list, so the
-- merge of the N shards' stores puts them back in input order. NULL: the whole list.
ALTER TABLE lists ADD COLUMN shard_k INTEGER;
ALTER TABLE lists ADD COLUMN shard_n INTEGER;
