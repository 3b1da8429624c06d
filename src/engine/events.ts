/** The event log (table `events`): every subject's timeline, written with the change it records, and read back for timelines and the live feed. */
import type { Queryable } from '../core/db/db.ts';

/** One entry of a subject's timeline: who did what, when, from which state to which, and why. */
export interface EventInput {
  subjectType: string;
  subjectId: string;
  actor: string;
  from?: string | null;
  to?: string | null;
  reason?: string | null;
  data?: Record<string, unknown> | null;
}

export interface EventRow {
  id: string;
  subject_type: string;
  subject_id: string;
  at: Date;
  actor: string;
  from_state: string | null;
  to_state: string | null;
  reason: string | null;
  data: Record<string, unknown> | null;
}

/** Append to the event log. Call it in the transaction that makes the change it records. */
export async function recordEvent(q: Queryable, e: EventInput): Promise<void> {
  await q.exec(
    `insert into events (subject_type, subject_id, actor, from_state, to_state, reason, data)
     values ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
    [
      e.subjectType,
      e.subjectId,
      e.actor,
      e.from ?? null,
      e.to ?? null,
      e.reason ?? null,
      e.data ? JSON.stringify(e.data) : null,
    ],
  );
}

export async function listEvents(q: Queryable, subjectType: string, subjectId: string): Promise<EventRow[]> {
  return q.query<EventRow>('select * from events where subject_type = $1 and subject_id = $2 order by id', [
    subjectType,
    subjectId,
  ]);
}

/** An event as the live feed sends it: the id and time as exact text. */
export interface FeedEvent {
  id: string;
  at: string;
  subject_type: string;
  subject_id: string;
  actor: string;
  from_state: string | null;
  to_state: string | null;
  reason: string | null;
}

/** The id of the newest event (0 when there is none). */
export async function latestEventId(q: Queryable): Promise<bigint> {
  const r = await q.one<{ id: string | null }>('select max(id)::text as id from events');
  return BigInt(r.id ?? '0');
}

/**
 * At most `limit` events after id `after`, in id order, and the transactions running at the time
 * of the read (from the same statement, so both see the same moment): a gap in the ids may still
 * be filled by one of them.
 */
export async function eventsAfter(
  q: Queryable,
  after: bigint,
  limit: number,
): Promise<{ running: Set<string>; events: FeedEvent[] }> {
  const row = await q.one<{ running: string[] | null; events: FeedEvent[] | null }>(
    `select
       (select array_agg(x::text) from pg_snapshot_xip(pg_current_snapshot()) x) as running,
       -- e.id is text here: ordered as text, id 10 would come before 9 (a false gap, and 9 skipped)
       (select json_agg(e order by e.id::bigint) from (
          select id::text, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, subject_type,
            subject_id, actor, from_state, to_state, reason
          from events where id > $1 order by id limit $2) e) as events`,
    [after.toString(), limit],
  );
  return { running: new Set(row.running ?? []), events: row.events ?? [] };
}

/** A file's timeline entries after id `after` (at most `limit`), for following the pipeline live. */
export async function fileEventsAfter(q: Queryable, after: string, limit: number): Promise<EventRow[]> {
  return q.query<EventRow>(
    `select * from events where id > $1 and subject_type = 'file' order by id limit $2`,
    [after, limit],
  );
}

/** The first events (`to_state` `discovered`) of new file records, in `ord` order (`json`: rows with `id`, `reason`, `data`, `ord`). */
export async function recordDiscoveredEvents(q: Queryable, actor: string, json: string): Promise<void> {
  await q.exec(
    `insert into events (subject_type, subject_id, actor, from_state, to_state, reason, data)
     select 'file', x.id, $1, null, 'discovered', x.reason, x.data
     from jsonb_to_recordset($2::jsonb) as x(id text, reason text, data jsonb, ord int)
     order by x.ord`,
    [actor, json],
  );
}

/**
 * Database backup runs per strategy (events of subject type `db_backup`, written by
 * src/ops/db-backup/strategy.ts): the last success (epoch seconds) and the failures (as text).
 */
export async function dbBackupRuns(
  q: Queryable,
): Promise<{ strategy: string; last_success: number | null; failures: string }[]> {
  return q.query<{ strategy: string; last_success: number | null; failures: string }>(
    `select subject_id as strategy,
         extract(epoch from max(at) filter (where to_state = 'succeeded'))::float8 as last_success,
         count(*) filter (where to_state = 'failed') as failures
       from events where subject_type = 'db_backup' group by subject_id`,
  );
}

/** A file's timeline event into `error` or `lost`. */
export interface FileErrorEvent {
  id: string;
  subject_id: string;
  reason: string | null;
  at: Date;
  to_state: string;
}

/**
 * The first 200 events of files into `error` or `lost` after event id `afterId` (undefined: at or
 * after `since`), in id order.
 */
export async function fileErrorEvents(
  q: Queryable,
  afterId: string | undefined,
  since: Date,
): Promise<FileErrorEvent[]> {
  return q.query<FileErrorEvent>(
    `select e.id, e.subject_id, e.reason, e.at, e.to_state from events e
     where e.subject_type = 'file' and e.to_state in ('error', 'lost')
       and ${afterId === undefined ? 'e.at >= $1' : 'e.id > $1::bigint'}
     order by e.id limit 200`,
    [afterId ?? since],
  );
}
