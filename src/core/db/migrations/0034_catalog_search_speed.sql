-- Catalog search and import speed (issue #22 bench). Search answers in stages (src/catalog/search.ts):
-- a refcode prefix (btree below), then words (full-text vector, read in refcode order), and only
-- when both find nothing a substring (trigram). The vectors and trigrams an import must maintain
-- for every sample are made smaller: the trigram text no longer holds the attributes' JSON (keys
-- and punctuation, the same in every row: the largest, busiest posting lists), and the vector holds
-- the attribute values without their keys. Attribute values are found as words.
drop index if exists samples_search_trgm;
drop index if exists samples_search_tsv;
alter table samples drop column search_text, drop column search_tsv;
alter table samples add column search_text text generated always as (
  refcode || ' ' || name || ' ' || coalesce(type, '') || ' ' || project_id
) stored;
alter table samples add column search_tsv tsvector generated always as (
  to_tsvector('simple', refcode || ' ' || name || ' ' || coalesce(type, ''))
    || jsonb_to_tsvector('simple', attributes, '["string", "numeric", "boolean"]')
) stored;
create index samples_search_tsv on samples using gin (search_tsv);
-- `lower(refcode) like 'r1s00%'` walks this in order (text_pattern_ops: whatever the collation).
create index samples_refcode_lower on samples (lower(refcode) text_pattern_ops);

do $$
begin
  execute 'create index samples_search_trgm on samples using gin (search_text gin_trgm_ops)';
exception when others then
  raise notice 'pg_trgm is not available (%); catalog search works without its index', sqlerrm;
end $$;
