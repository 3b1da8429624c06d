-- Sample search indexed after the import commits (issue #22 bench): the search text, the full-text
-- vector and their indexes move out of `samples` into `sample_search`, filled by the `catalog.index`
-- task (src/catalog/search-index.ts) for the samples named in `sample_search_queue`. An import writes
-- samples, their history and one queue row per changed sample, and enqueues the task, in its own
-- transaction: a crash after the commit still ends indexed (the queue and the task are durable).
-- Until indexed, a sample is found by its exact refcode (btree on `samples`); words, prefixes and
-- substrings find it once the task has run. Existing samples are indexed by the task's first pass
-- (samples without a `sample_search` row); this migration inserts no rows.
drop index if exists samples_search_trgm;
drop index if exists samples_search_tsv;
drop index if exists samples_refcode_lower;
alter table samples drop column if exists search_text, drop column if exists search_tsv;

create table sample_search (
  sample_id bigint primary key references samples (id) on delete cascade,
  refcode text not null,
  search_text text not null,
  search_tsv tsvector not null,
  indexed_at timestamptz not null default now()
);
-- search in refcode order (words), and `lower(refcode) like 'r1s00%'` whatever the collation
create index sample_search_refcode on sample_search (refcode);
create index sample_search_refcode_lower on sample_search (lower(refcode) text_pattern_ops);
create index sample_search_tsv on sample_search using gin (search_tsv);

-- Samples written since they were last indexed (a sample may be named more than once); no index:
-- the task takes rows in batches by ctid and deletes them in the transaction that indexes them.
create table sample_search_queue (
  sample_id bigint not null,
  queued_at timestamptz not null default now()
);

do $$
begin
  execute 'create index sample_search_trgm on sample_search using gin (search_text gin_trgm_ops)';
exception when others then
  raise notice 'pg_trgm is not available (%); catalog search works without its index', sqlerrm;
end $$;
