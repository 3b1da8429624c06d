/**
 * The catalog's history: every change to a project, sample, relation or data set, with who, when,
 * before and after. Owns `catalog_history`; written in the transaction of the change it records.
 * A sample's creation is the one exception: it is derived from the sample's row (`historyOf`), so
 * an import of new samples writes no history rows (issue #22 bench; docs/catalog.md).
 */
import type { Queryable } from '../core/db/db.ts';

export type Entity = 'project' | 'sample' | 'relation' | 'dataset';

export interface Change {
  entity: Entity;
  entityId: string;
  action: 'create' | 'update' | 'delete';
  before: unknown;
  after: unknown;
}

export interface HistoryRow {
  id: string;
  entity: Entity;
  entity_id: string;
  action: string;
  actor: string;
  at: Date;
  before: unknown;
  after: unknown;
}

/** Appends changes in one statement. */
export async function recordHistory(q: Queryable, changes: readonly Change[], actor: string): Promise<void> {
  if (changes.length === 0) return;
  await q.exec(
    `insert into catalog_history (entity, entity_id, action, actor, before, after)
     select e, i, a, $5, b::jsonb, f::jsonb from unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[])
       as t(e, i, a, b, f)`,
    [
      changes.map((c) => c.entity),
      changes.map((c) => c.entityId),
      changes.map((c) => c.action),
      changes.map((c) => (c.before === null || c.before === undefined ? null : JSON.stringify(c.before))),
      actor,
      changes.map((c) => (c.after === null || c.after === undefined ? null : JSON.stringify(c.after))),
    ],
  );
}

/**
 * The import's planned writes, copied in by the caller (src/catalog/samples.ts) before the
 * statements below read them: a temporary table of the transaction (dropped at its end), one row
 * per sample to create or update, `i` its row in the sheet.
 */
export const STAGED_SAMPLES = 'sample_import_rows';
export const STAGED_COLUMNS = ['i', 'action', 'refcode', 'name', 'project_id', 'type', 'attributes'] as const;

/** Creates the staging table (empty) in the caller's transaction. */
export async function createStagedSamples(q: Queryable): Promise<void> {
  await q.exec(
    `create temp table ${STAGED_SAMPLES} (i int not null, action text not null, refcode text not null,
       name text not null, project_id text not null, type text, attributes jsonb not null) on commit drop`,
  );
}

/** The fields of a sample the history keeps, as JSON (`o`: the row's alias). */
const sampleJson = (o: string) =>
  `jsonb_build_object('refcode', ${o}.refcode, 'name', ${o}.name, 'project_id', ${o}.project_id, 'type', ${o}.type, 'attributes', ${o}.attributes)`;

/**
 * Updates the staged samples of action `update` (one statement, whatever their number) and appends
 * each one's history in the same statement: `before` is the row as it was when the statement began
 * (the rows are locked by the caller, so it is the row the upsert replaced), `after` the row
 * written, so the record states what was written, not what was planned. Each sample written is
 * queued for the search index (`sample_search_queue`, ./search-index.ts) by the same statement.
 * (`RETURNING old` would do without the `prev` read, but only PostgreSQL 18 has it, and the compose
 * deployment runs PostgreSQL 16, deploy/compose.yaml: all parts of one statement see the same
 * snapshot, so `prev` is the row replaced.) A staged row whose sample is gone would be created by the upsert: its creation,
 * like every other, is derived from the row (see `historyOf`), so only updates are recorded.
 */
export async function upsertSamplesWithHistory(q: Queryable, actor: string): Promise<void> {
  await q.exec(
    `with x as materialized (select * from ${STAGED_SAMPLES} where action = 'update'),
     prev as (select s.refcode, ${sampleJson('s')} as before from samples s where s.refcode in (select refcode from x)),
     w as (
       insert into samples (refcode, name, project_id, type, attributes, created_by, updated_by)
       select refcode, name, project_id, type, attributes, $1, $1 from x order by i
       on conflict (refcode) do update set name = excluded.name, project_id = excluded.project_id,
         type = excluded.type, attributes = excluded.attributes, updated_by = excluded.updated_by, updated_at = now()
       returning id, refcode, ${sampleJson('samples')} as after),
     queued as (insert into sample_search_queue (sample_id) select id from w)
     insert into catalog_history (entity, entity_id, action, actor, before, after)
     select 'sample', w.refcode, 'update', $1, prev.before, w.after
     from w join prev on prev.refcode = w.refcode`,
    [actor],
  );
}

/**
 * A sample's creation, derived from its row where no creation row is stored (samples imported
 * since migration 0045): who and when are the row's `created_by` and `created_at` (set by the
 * creating statement, in the creating transaction, as the history row's `actor` and `at` were),
 * `before` nothing, `after` the `before` of the sample's first recorded change (the row as created,
 * since every change records the row it replaced), or the row itself if it has never changed. Its
 * `id` is the negative of the sample's internal id: unique, and before every stored row.
 */
const DERIVED_CREATIONS = `select (-s.id)::text as id, 'sample' as entity, s.refcode as entity_id, 'create' as action,
    s.created_by as actor, s.created_at as at, null::jsonb as before,
    coalesce((select h.before from catalog_history h where h.entity = 'sample' and h.entity_id = s.refcode
      order by h.id limit 1), ${sampleJson('s')}) as after, -s.id as k
  from samples s where s.refcode = any($2::text[])
    and not exists (select 1 from catalog_history h
      where h.entity = 'sample' and h.entity_id = s.refcode and h.action = 'create')`;

/**
 * The history of one entity, oldest first (or of every entity of a kind whose id is in `ids`: the
 * derived creations of samples first, then the stored rows in the order they were written).
 */
export async function historyOf(q: Queryable, entity: Entity, ids: readonly string[]): Promise<HistoryRow[]> {
  const stored = `select id::text as id, entity, entity_id, action, actor, at, before, after, id as k
     from catalog_history where entity = $1 and entity_id = any($2::text[])`;
  return q.query<HistoryRow>(
    `select id, entity, entity_id, action, actor, at, before, after
     from (${stored}${entity === 'sample' ? ` union all ${DERIVED_CREATIONS}` : ''}) h
     order by k < 0 desc, abs(k)`,
    [entity, ids],
  );
}
