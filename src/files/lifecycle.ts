/**
 * The per-file lifecycle.
 *
 *   discovered → acquiring → acquired → backing_up → backed_up → processing → processed → done
 *
 * Terminal outcomes: done, done_not_processed, ignored, acquisition_failed, processing_failed,
 * error, lost. An operator can retry any of them (`sluice files retry`) except `lost`: the data
 * the record acquired was replaced or changed on the instrument before any copy was made
 * (files/fingerprint.ts), so there is nothing left to back up under it; what is there now has a
 * record of its own. Side track of the instrument
 * copy: present → moved (to the instrument's Backup folder) → removing → purged (removed after
 * verification); missing when it vanished before its backup (present again when it comes back
 * unchanged: the scan then moves the file from error back to acquiring).
 *
 * Every transition goes through `transition`, which is guarded by the states it may leave
 * (so two workers cannot both move a file) and appends to the file's event log in the same
 * transaction.
 */
import type { Queryable } from '../core/db/db.ts';
import { recordEvent } from '../engine/events.ts';
import type { Manifest } from '../storage/raw-data.ts';

export const FILE_STATUSES = [
  'discovered',
  'acquiring',
  'acquired',
  'backing_up',
  'backed_up',
  'processing',
  'processed',
  'done',
  'done_not_processed',
  'ignored',
  'acquisition_failed',
  'processing_failed',
  'error',
  'lost',
] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

export const TERMINAL: ReadonlySet<FileStatus> = new Set([
  'done',
  'done_not_processed',
  'ignored',
  'acquisition_failed',
  'processing_failed',
  'error',
  'lost',
]);

/** Still on the instrument, acquisition not decided yet. */
export const ACQUIRING: readonly FileStatus[] = ['discovered', 'acquiring'];

/** Statuses in which a verified backup exists. */
export const BACKED_UP: readonly FileStatus[] = [
  'backed_up',
  'processing',
  'processed',
  'done',
  'done_not_processed',
  'processing_failed',
];

export function isFileStatus(s: string): s is FileStatus {
  return (FILE_STATUSES as readonly string[]).includes(s);
}

export interface TransitionOptions {
  actor: string;
  reason?: string;
  data?: Record<string, unknown>;
  /** The transition happens only from these states; returns false otherwise. */
  from: readonly FileStatus[];
}

/** Moves a file to `to` if it is in one of `from`; records the event. Returns whether it moved. */
export async function transition(
  q: Queryable,
  fileId: string,
  to: FileStatus,
  opts: TransitionOptions,
): Promise<boolean> {
  const row = await q.maybeOne<{ old: string }>(
    `update files f set status = $2, status_reason = $3, updated_at = now()
     from (select id, status as old from files where id = $1 for update) o
     where f.id = o.id and o.old = any($4)
     returning o.old`,
    [fileId, to, opts.reason ?? null, opts.from],
  );
  if (!row) return false;
  await recordEvent(q, {
    subjectType: 'file',
    subjectId: fileId,
    actor: opts.actor,
    from: row.old,
    to,
    reason: opts.reason ?? null,
    data: opts.data ?? null,
  });
  return true;
}

/** Adds an event that is not a status change to the file's timeline (a copy verified, a move, a warning). */
export async function addToTimeline(
  q: Queryable,
  fileId: string,
  actor: string,
  reason: string,
  data?: Record<string, unknown>,
): Promise<void> {
  await recordEvent(q, { subjectType: 'file', subjectId: fileId, actor, reason, data: data ?? null });
}

/**
 * `addToTimeline` for the files of `ids` that are in one of `statuses` (the others get nothing): the
 * same note on each one's timeline, in one statement whatever the number of files (a batch task's
 * retry or takeover, backup/batch-notes.ts). Returns the ids noted.
 */
export async function addToTimelineOf(
  q: Queryable,
  ids: readonly string[],
  statuses: readonly FileStatus[],
  note: { actor: string; reason: string; data?: Record<string, unknown> },
): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await q.query<{ subject_id: string }>(
    `insert into events (subject_type, subject_id, actor, reason, data)
     select 'file', f.id, $3, $4, $5::jsonb from files f
     where f.id = any($1::text[]) and f.status = any($2::text[]) order by f.id
     returning subject_id`,
    [ids, statuses, note.actor, note.reason, note.data ? JSON.stringify(note.data) : null],
  );
  return rows.map((r) => r.subject_id);
}

export interface TransitionManyOptions {
  actor: string;
  /** The transitions happen only for files in one of these states; the others stay as they are. */
  from: readonly FileStatus[];
  /** One reason for all, or one per id (same order as `ids`). */
  reason?: string | readonly (string | null)[];
  /** One event data object for all, or one per id (same order as `ids`). */
  data?: Record<string, unknown> | readonly (Record<string, unknown> | null)[];
  /**
   * One per id (same order as `ids`): each file that moves also gets `acquired_at = now()` and this
   * acquired fingerprint (files/fingerprint.ts), in the same row update; a file that does not move
   * gets neither. The scan's `acquired` transition (intake/scan-task.ts): one update of the row, not
   * two, each rewriting every index of `files`.
   */
  acquired?: readonly object[];
  /**
   * One per id (same order as `ids`), for a `backed_up` transition: each file that moves also gets
   * the verified copy's manifest (and its algorithm), and this acquired fingerprint if it had none,
   * in the same row update (what files/batch-records.ts `recordBatchManifests` writes otherwise).
   */
  backedUp?: readonly { manifest: Manifest; fingerprint: object | null }[];
  /**
   * One per id (same order as `ids`; `null`: none): a file that moves goes on from `to` to `next.to`
   * in the same row update (its status reason `next.reason`), and gets both events, `to`'s then
   * `next`'s (same actor). What two transitions in a row record, with one update of the row instead
   * of two: the flow's `done_not_processed` right after a batch's `backed_up` (pipeline/flow.ts
   * `settledAtBackup`, backup/batch-task.ts).
   */
  next?: readonly ({ to: FileStatus; reason: string } | null)[];
}

/**
 * `transition` for many files in two statements' worth of work (one round trip): moves each file of
 * `ids` that is in one of `from` to `to`, sets its status reason, and appends its event, all guarded
 * and recorded exactly as `transition` does. Rows are locked in id order. Returns the ids that moved,
 * in the order given.
 */
export async function transitionMany(
  q: Queryable,
  ids: readonly string[],
  to: FileStatus,
  opts: TransitionManyOptions,
): Promise<string[]> {
  if (ids.length === 0) return [];
  const reasons = ids.map((_, i) =>
    typeof opts.reason === 'string' ? opts.reason : (opts.reason?.[i] ?? null),
  );
  const d = opts.data;
  const datas = ids.map((_, i) => {
    const one = Array.isArray(d) ? (d[i] ?? null) : (d ?? null);
    return one === null ? null : JSON.stringify(one);
  });
  const acquired = ids.map((_, i) => {
    const fp = opts.acquired?.[i];
    return fp === undefined ? null : JSON.stringify(fp);
  });
  const backedUp = ids.map((_, i) => {
    const b = opts.backedUp?.[i];
    return b === undefined ? null : JSON.stringify(b);
  });
  const thenTo = ids.map((_, i) => opts.next?.[i]?.to ?? null);
  const thenReason = ids.map((_, i) => opts.next?.[i]?.reason ?? null);
  const rows = await q.query<{ subject_id: string; to_state: string }>(
    `with x as (
       select distinct on (id) id, reason, data, fp, b::jsonb as b, then_to, then_reason, ord
       from unnest($1::text[], $3::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
         with ordinality as u(id, reason, data, fp, b, then_to, then_reason, ord)
       order by id, ord
     ), o as (
       select f.id, f.status as old from files f where f.id in (select id from x) order by f.id for update
     ), u as (
       update files f set status = coalesce(x.then_to, $2),
         status_reason = case when x.then_to is null then x.reason else x.then_reason end, updated_at = now(),
         acquired_at = case when x.fp is null then f.acquired_at else now() end,
         acquired_fingerprint = coalesce(x.fp::jsonb, f.acquired_fingerprint, nullif(x.b->'fingerprint', 'null')),
         manifest = coalesce(x.b->'manifest', f.manifest),
         hash_algorithm = coalesce(x.b->'manifest'->>'algorithm', f.hash_algorithm)
       from o join x on x.id = o.id
       where f.id = o.id and o.old = any($4::text[])
       returning f.id, o.old, x.reason, x.data, x.then_to, x.then_reason, x.ord
     ), e as (
       select u.id, u.old as from_state, $2 as to_state, u.reason, u.data::jsonb as data, u.ord, 0 as step from u
       union all
       select u.id, $2, u.then_to, u.then_reason, null, u.ord, 1 from u where u.then_to is not null
     )
     insert into events (subject_type, subject_id, actor, from_state, to_state, reason, data)
     select 'file', e.id, $5, e.from_state, e.to_state, e.reason, e.data from e order by e.ord, e.step
     returning subject_id, to_state`,
    [ids, to, reasons, opts.from, opts.actor, datas, acquired, backedUp, thenTo, thenReason],
  );
  const moved = new Set(rows.filter((r) => r.to_state === to).map((r) => r.subject_id));
  return [...new Set(ids)].filter((id) => moved.has(id));
}
