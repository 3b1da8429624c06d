/**
 * The tables of reactions and re-runs (migration 0024): reaction_runs (a row per run of a scheduled
 * reaction, history kept) and unit_reruns (a compute unit's current version run again over past
 * items). The only module with SQL naming them.
 */
import type { Queryable } from '../core/db/db.ts';

export interface ReactionRunRow {
  id: string;
  reaction: string;
  period: string;
  unit: string;
  unit_version: string;
  config_hash: string;
  /** How many items or files it selected (null: a run that failed before it knew). */
  selected: number | null;
  cursor_item: string | null;
  status: 'ok' | 'failed';
  result: unknown;
  error: string | null;
  started_at: Date;
  finished_at: Date;
}

export type NewReactionRun = Omit<ReactionRunRow, 'id' | 'finished_at'>;

/** Records a run; a run of the same period recorded already (a retried task) is left as it is. */
export async function recordReactionRun(q: Queryable, r: NewReactionRun): Promise<boolean> {
  const rows = await q.query(
    `insert into reaction_runs (reaction, period, unit, unit_version, config_hash, selected, cursor_item,
                                status, result, error, started_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)
     on conflict (reaction, period) do nothing returning id`,
    [
      r.reaction,
      r.period,
      r.unit,
      r.unit_version,
      r.config_hash,
      r.selected,
      r.cursor_item,
      r.status,
      r.result === undefined ? null : JSON.stringify(r.result),
      r.error,
      r.started_at,
    ],
  );
  return rows.length > 0;
}

/** The highest item a successful run of `reaction` covered ('0': none yet). */
export async function reactionCursor(q: Queryable, reaction: string): Promise<string> {
  const row = await q.one<{ c: string }>(
    `select coalesce(max(cursor_item), 0)::text as c from reaction_runs where reaction = $1 and status = 'ok'`,
    [reaction],
  );
  return row.c;
}

/** Has the run of this period been recorded (the task is a retry of one that finished)? */
export async function reactionRunExists(q: Queryable, reaction: string, period: string): Promise<boolean> {
  const row = await q.maybeOne('select 1 from reaction_runs where reaction = $1 and period = $2', [
    reaction,
    period,
  ]);
  return row !== undefined;
}

/** Runs newest first (of one reaction, or of all). */
export async function listReactionRuns(
  q: Queryable,
  f: { reaction?: string; limit: number },
): Promise<ReactionRunRow[]> {
  return q.query<ReactionRunRow>(
    `select id::text, reaction, period, unit, unit_version, config_hash, selected, cursor_item::text,
            status, result, error, started_at, finished_at
       from reaction_runs where ($1::text is null or reaction = $1) order by reaction_runs.id desc limit $2`,
    [f.reaction ?? null, f.limit],
  );
}

export interface RerunRow {
  id: string;
  unit: string;
  unit_version: string;
  config_hash: string;
  since: Date | null;
  channel: string | null;
  total: number;
  done: number;
  last_item: string;
  cursor_item: string;
  status: 'running' | 'done' | 'cancelled' | 'failed';
  requested_by: string;
  cancelled_by: string | null;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

const RERUN = `id::text, unit, unit_version, config_hash, since, channel, total, done, last_item::text,
  cursor_item::text, status, requested_by, cancelled_by, error, created_at, finished_at`;

export async function createRerun(
  q: Queryable,
  r: Pick<
    RerunRow,
    'unit' | 'unit_version' | 'config_hash' | 'since' | 'channel' | 'total' | 'last_item' | 'requested_by'
  >,
): Promise<RerunRow> {
  return q.one<RerunRow>(
    `insert into unit_reruns (unit, unit_version, config_hash, since, channel, total, last_item, requested_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${RERUN}`,
    [r.unit, r.unit_version, r.config_hash, r.since, r.channel, r.total, r.last_item, r.requested_by],
  );
}

export async function getRerun(q: Queryable, id: string): Promise<RerunRow | undefined> {
  return q.maybeOne<RerunRow>(`select ${RERUN} from unit_reruns where id = $1`, [id]);
}

export async function listReruns(q: Queryable, limit: number): Promise<RerunRow[]> {
  return q.query<RerunRow>(`select ${RERUN} from unit_reruns order by unit_reruns.id desc limit $1`, [limit]);
}

/** Moves a running re-run on after a batch (in the batch's transaction); false if it is no longer running. */
export async function advanceRerun(
  q: Queryable,
  id: string,
  cursor: string,
  added: number,
): Promise<boolean> {
  const rows = await q.query(
    `update unit_reruns set cursor_item = $2, done = done + $3 where id = $1 and status = 'running' returning id`,
    [id, cursor, added],
  );
  return rows.length > 0;
}

/** Ends a running re-run (`done`, `failed` with the error, or `cancelled` by someone). */
export async function finishRerun(
  q: Queryable,
  id: string,
  status: 'done' | 'failed' | 'cancelled',
  extra: { error?: string; by?: string } = {},
): Promise<RerunRow | undefined> {
  return q.maybeOne<RerunRow>(
    `update unit_reruns set status = $2, error = $3, cancelled_by = $4, finished_at = now()
      where id = $1 and status = 'running' returning ${RERUN}`,
    [id, status, extra.error ?? null, extra.by ?? null],
  );
}

/** Failed runs recorded per reaction (all history). */
export async function failedReactionRuns(q: Queryable): Promise<{ reaction: string; n: number }[]> {
  return q.query(
    `select reaction, count(*)::int as n from reaction_runs where status = 'failed' group by reaction order by reaction`,
  );
}
