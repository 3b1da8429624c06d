/**
 * The files repo's figures for monitoring (src/ops/prometheus.ts, src/ops/alerts/run.ts): counts of
 * files by status, stuck files, backup bytes, the oldest fixity check, instruments' state and corrupt
 * copies. Read-only; part of the owner of `files`, `copies` and `instruments`.
 */

import type { Queryable } from '../core/db/db.ts';

/** How many files each instrument has in each status (`n` as text, as PostgreSQL counts). */
export async function countFilesByStatusAndInstrument(
  q: Queryable,
): Promise<{ status: string; instrument_id: string; n: string }[]> {
  return q.query<{ status: string; instrument_id: string; n: string }>(
    'select status, instrument_id, count(*) as n from files group by status, instrument_id',
  );
}

/** How many files are in each of `statuses` (only those with files), by status name. */
export async function countFilesInStatuses(
  q: Queryable,
  statuses: readonly string[],
): Promise<{ status: string; n: number }[]> {
  return q.query<{ status: string; n: number }>(
    'select status, count(*)::int as n from files where status = any($1) group by status order by status',
    [statuses],
  );
}

/** A file that has not changed for a while. */
export interface StuckFile {
  id: string;
  name: string;
  instrument_id: string;
  status: string;
  updated_at: Date;
}

/** The first `limit` files in one of `statuses` not updated since `before`, least recently updated first. */
export async function stuckFiles(
  q: Queryable,
  statuses: readonly string[],
  before: Date,
  limit: number,
): Promise<StuckFile[]> {
  return q.query<StuckFile>(
    `select id, name, instrument_id, status, updated_at from files
     where status = any($1) and updated_at < $2 order by updated_at, id limit $3`,
    [statuses, before, limit],
  );
}

/** How many files are in one of `statuses` and not updated since `before`. */
export async function countStuckFiles(
  q: Queryable,
  statuses: readonly string[],
  before: Date,
): Promise<number> {
  const r = await q.one<{ n: number }>(
    'select count(*)::int as n from files where status = any($1) and updated_at < $2',
    [statuses, before],
  );
  return r.n;
}

/** Bytes copied into backups (copies made, not associated with data already there), as text. */
export async function backupBytesCopied(q: Queryable): Promise<string> {
  const r = await q.one<{ b: string }>(
    'select coalesce(sum(bytes), 0)::text as b from copies where not associated',
  );
  return r.b;
}

/** Seconds since the verified copy read longest ago was last read (else verified); null: no copies. */
export async function oldestFixitySeconds(q: Queryable): Promise<number | null> {
  const r = await q.one<{ s: number | null }>(
    `select extract(epoch from now() - min(coalesce(last_fixity_at, verified_at)))::float8 as s
       from copies where state = 'verified'`,
  );
  return r.s;
}

/** Each instrument's online state and free space, as its last scan recorded them. */
export async function instrumentsOnline(
  q: Queryable,
): Promise<{ id: string; online: boolean | null; free_bytes: string | null }[]> {
  return q.query<{ id: string; online: boolean | null; free_bytes: string | null }>(
    'select id, online, free_bytes from instruments',
  );
}

/** An instrument's state as the alert rules judge it. */
export interface InstrumentHealth {
  id: string;
  online: boolean | null;
  offline_reason: string | null;
  free_bytes: string | null;
  last_new_file_at: Date | null;
  backup_target_problem: string | null;
}

/** Every instrument's state, by id. */
export async function instrumentsHealth(q: Queryable): Promise<InstrumentHealth[]> {
  return q.query<InstrumentHealth>(
    'select id, online, offline_reason, free_bytes, last_new_file_at, backup_target_problem from instruments order by id',
  );
}

/** A copy marked corrupt, with its file's name (null when the file is gone). */
export interface CorruptCopy {
  file_id: string;
  name: string | null;
  target: string;
  location: string;
}

/** The first 100 copies marked corrupt, by copy id. */
export async function corruptCopies(q: Queryable): Promise<CorruptCopy[]> {
  return q.query<CorruptCopy>(
    `select c.file_id, f.name, c.target, c.location from copies c left join files f on f.id = c.file_id
     where c.state = 'corrupt' order by c.id limit 100`,
  );
}

/** A file stopped in `error` with its reason, and its instrument. */
export interface StoppedFile {
  id: string;
  instrument_id: string;
  status: string;
  reason: string | null;
}

/**
 * Files in `error` whose reason matches one of `reasonPatterns` (SQL `like`), of one instrument
 * (null: every one), by instrument and id.
 */
export async function filesInErrorLike(
  q: Queryable,
  reasonPatterns: readonly string[],
  instrument: string | null,
): Promise<StoppedFile[]> {
  return q.query<StoppedFile>(
    `select id, instrument_id, status, status_reason as reason from files
     where status = 'error' and status_reason like any($1::text[]) and ($2::text is null or instrument_id = $2)
     order by instrument_id, id`,
    [reasonPatterns, instrument],
  );
}

/** The names of the records among `ids` that exist, by id. */
export async function fileNames(q: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  const rows = await q.query<{ id: string; name: string }>(
    'select id, name from files where id = any($1::text[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.name]));
}
