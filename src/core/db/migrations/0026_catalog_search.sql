-- Catalog search (issue #22): one box over sample refcodes, names and attributes, file names and
-- projects. Trigram indexes answer substring matches (`ilike '%S0012%'`); the full-text vector
-- answers words inside names and attribute values. File names already have a trigram index
-- (files_name_trgm, migration 0004) where pg_trgm could be installed; the same holds here: without
-- pg_trgm search still works, by scanning.
alter table samples add column search_text text generated always as (
  refcode || ' ' || name || ' ' || coalesce(type, '') || ' ' || project_id || ' ' || attributes::text
) stored;
alter table samples add column search_tsv tsvector generated always as (
  to_tsvector('simple', refcode || ' ' || name || ' ' || coalesce(type, '') || ' ' || attributes::text)
) stored;
create index samples_search_tsv on samples using gin (search_tsv);

do $$
begin
  create extension if not exists pg_trgm;
  execute 'create index samples_search_trgm on samples using gin (search_text gin_trgm_ops)';
  execute 'create index projects_name_trgm on projects using gin ((id || '' '' || name) gin_trgm_ops)';
exception when others then
  raise notice 'pg_trgm is not available (%); catalog search works without its indexes', sqlerrm;
end $$;
