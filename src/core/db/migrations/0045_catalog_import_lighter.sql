-- A lighter samples import (issue #22 bench), two rules:
-- 1. A sample's creation is no longer written to `catalog_history`: it is derived from the sample
--    row (who = created_by, when = created_at, before = nothing, after = the `before` of the
--    sample's first recorded change, or the row itself if it has none; src/catalog/history.ts).
--    Every change after the creation keeps its history row. Creation rows written before this
--    migration stay and are shown as they are (a creation is derived only where none is stored).
-- 2. An import queues the samples it created for the search index with one row for all of them:
--    `sample_search_queue` rows may now name a range of sample ids, `sample_id` to `last_id`
--    (null: the one sample). The range is written by the statement that created the samples, in
--    their transaction, so the index task sees both or neither (src/catalog/search-index.ts).
-- Changes no existing row (existing queue rows name one sample each, as before).
alter table sample_search_queue add column last_id bigint;
alter table sample_search_queue add constraint sample_search_queue_range check (last_id >= sample_id);
