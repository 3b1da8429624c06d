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

/** The history of one entity, oldest first (or of every entity of a kind whose id is in `ids`). */
export async function historyOf(q: Queryable, entity: Entity, ids: readonly string[]): Promise<HistoryRow[]> {
  return q.query<HistoryRow>(
    `select id, entity, entity_id, action, actor, at, before, after from catalog_history
     where entity = $1 and entity_id = any($2::text[]) order by id`,
    [entity, ids],
  );
}
