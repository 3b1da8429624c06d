/**
 * The catalog's history: every change to a project, sample, relation or data set, with who, when,
 * before and after. Owns `catalog_history`; written in the transaction of the change it records.
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

/** Samples to write, one array per column (sent as `unnest` parameters); `attributes` are JSON texts. */
export interface SampleColumns {
  refcode: string[];
  name: string[];
  project_id: string[];
  type: (string | null)[];
  attributes: string[];
}

/** The fields of a sample the history keeps, as JSON (`o`: the row's alias). */
const sampleJson = (o: string) =>
  `jsonb_build_object('refcode', ${o}.refcode, 'name', ${o}.name, 'project_id', ${o}.project_id, 'type', ${o}.type, 'attributes', ${o}.attributes)`;

/**
 * Creates or updates samples (one statement, whatever their number) and appends each one's history
 * in the same statement: `before` is the row as it was when the statement began (the rows are locked
 * by the caller, so it is the row the upsert replaced), `after` the row written, so the record states
 * what was written, not what was planned. Each sample written is queued for the search index
 * (`sample_search_queue`, ./search-index.ts) by the same statement. `attributes` are JSON texts. (PostgreSQL 16 has no
 * `RETURNING old`, hence the `prev` read: all parts of one statement see the same snapshot.)
 */
export async function upsertSamplesWithHistory(
  q: Queryable,
  rows: SampleColumns,
  actor: string,
): Promise<void> {
  if (rows.refcode.length === 0) return;
  await q.exec(
    `with x as materialized (
       select r, n, p, t, a::jsonb as a, i
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) with ordinality as u(r, n, p, t, a, i)),
     prev as (select s.refcode, ${sampleJson('s')} as before from samples s where s.refcode in (select r from x)),
     w as (
       insert into samples (refcode, name, project_id, type, attributes, created_by, updated_by)
       select r, n, p, t, a, $6, $6 from x order by i
       on conflict (refcode) do update set name = excluded.name, project_id = excluded.project_id,
         type = excluded.type, attributes = excluded.attributes, updated_by = excluded.updated_by, updated_at = now()
       returning id, refcode, ${sampleJson('samples')} as after),
     queued as (insert into sample_search_queue (sample_id) select id from w)
     insert into catalog_history (entity, entity_id, action, actor, before, after)
     select 'sample', w.refcode, case when prev.refcode is null then 'create' else 'update' end, $6,
       prev.before, w.after
     from w left join prev on prev.refcode = w.refcode`,
    [rows.refcode, rows.name, rows.project_id, rows.type, rows.attributes, actor],
  );
}

/**
 * Creates samples that do not exist (the caller planned them as new under the imports' lock: a
 * refcode taken meanwhile fails the statement, and with it the import) and appends their history,
 * queueing each for the search index, in one statement. A plain insert: no conflict arbitration and
 * no read of rows replaced, which an upsert pays for every row. `attributes` are JSON texts.
 */
export async function insertSamplesWithHistory(
  q: Queryable,
  rows: SampleColumns,
  actor: string,
): Promise<void> {
  if (rows.refcode.length === 0) return;
  await q.exec(
    `with w as (
       insert into samples (refcode, name, project_id, type, attributes, created_by, updated_by)
       select r, n, p, t, a::jsonb, $6, $6
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as u(r, n, p, t, a)
       returning id, refcode, ${sampleJson('samples')} as after),
     queued as (insert into sample_search_queue (sample_id) select id from w)
     insert into catalog_history (entity, entity_id, action, actor, before, after)
     select 'sample', w.refcode, 'create', $6, null, w.after from w`,
    [rows.refcode, rows.name, rows.project_id, rows.type, rows.attributes, actor],
  );
}

/** The history of one entity, oldest first (or of every entity of a kind whose id is in `ids`). */
export async function historyOf(q: Queryable, entity: Entity, ids: readonly string[]): Promise<HistoryRow[]> {
  return q.query<HistoryRow>(
    `select id, entity, entity_id, action, actor, at, before, after from catalog_history
     where entity = $1 and entity_id = any($2::text[]) order by id`,
    [entity, ids],
  );
}
