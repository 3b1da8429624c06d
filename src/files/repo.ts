/** Typed queries on files, copies and instruments: records, look-ups, counts, the instrument copy's place and the manifest from a verified backup. */

import type { Queryable } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import type { Manifest } from '../storage/raw-data.ts';
import { copiesOfFile } from './copies-by-file.ts';
import type { AcquiredFingerprint } from './fingerprint.ts';
import type { FileStatus } from './lifecycle.ts';

export interface FileRow {
  id: string;
  instrument_id: string;
  name: string;
  kind: 'file' | 'folder' | 'files';
  companions: string[];
  source_path: string;
  current_path: string | null;
  project_id: string;
  status: FileStatus;
  status_reason: string | null;
  size_bytes: string;
  mtime: Date;
  first_seen_at: Date;
  last_change_at: Date;
  main_file_present: boolean;
  acquired_at: Date | null;
  hash_algorithm: string | null;
  manifest: Manifest | null;
  /** What the scan saw when it declared the acquisition finished (null: acquired before 0012). */
  acquired_fingerprint: AcquiredFingerprint | null;
  instrument_copy: 'present' | 'moved' | 'purged' | 'missing' | 'removing';
  created_at: Date;
  updated_at: Date;
}

export interface CopyRow {
  id: string;
  file_id: string;
  target: string;
  location: string;
  /** `released`: removed from the backup area on purpose, verified archives hold it (src/archive/retention.ts). */
  state: 'verified' | 'replaced' | 'corrupt' | 'released';
  hash_algorithm: string;
  manifest: Manifest;
  bytes: string;
  seconds: number | null;
  associated: boolean;
  verified_at: Date;
  /** The latest re-read from storage against the recorded hashes (fixity audit or remover), and its result. */
  last_fixity_at: Date | null;
  last_fixity_ok: boolean | null;
  /** When a `released` copy was released, and when its bytes were found removed (migration 0035). */
  released_at?: Date | null;
  removed_at?: Date | null;
}

export async function getFile(q: Queryable, id: string): Promise<FileRow | undefined> {
  return q.maybeOne<FileRow>('select * from files where id = $1', [id]);
}

/** The records of `ids` that exist, in one statement (a backup batch reads its files at once). */
export async function getFiles(q: Queryable, ids: string[]): Promise<FileRow[]> {
  return q.query<FileRow>('select * from files where id = any($1::text[])', [ids]);
}

/** The error of a command given a file id that is not recorded. */
export function noSuchFile(id: string): UsageError {
  return new UsageError(
    `no file with id '${id}'`,
    'list files with `sluice files list` (ids are shown in the first column)',
  );
}

export async function requireFile(q: Queryable, id: string): Promise<FileRow> {
  const f = await getFile(q, id);
  if (!f) throw noSuchFile(id);
  return f;
}

/** The records of these files (those that exist), in no particular order. */
export async function filesByIds(q: Queryable, ids: readonly string[]): Promise<FileRow[]> {
  return q.query<FileRow>('select * from files where id = any($1::text[])', [ids]);
}

/** Where these files are and how large (those recorded), oldest modification first. */
export async function filesByIdOldestFirst(
  q: Queryable,
  ids: readonly string[],
): Promise<Pick<FileRow, 'id' | 'size_bytes' | 'mtime' | 'current_path'>[]> {
  return q.query(
    'select id, size_bytes, mtime, current_path from files where id = any($1::text[]) order by mtime, id',
    [ids],
  );
}

/** The instrument copy now lives at `newPath` (moved aside on the instrument's disk). */
export async function recordInstrumentCopyMoved(q: Queryable, id: string, newPath: string): Promise<void> {
  await q.exec(
    `update files set current_path = $2, instrument_copy = 'moved', updated_at = now() where id = $1`,
    [id, newPath],
  );
}

/** The newest record of the same name on the same instrument, created after `file` (a replacement). */
export async function newerNamesake(
  q: Queryable,
  file: Pick<FileRow, 'id' | 'instrument_id' | 'name'>,
): Promise<{ id: string } | undefined> {
  return q.maybeOne<{ id: string }>(
    `select id from files where instrument_id = $1 and name = $2 and id <> $3
       and created_at > (select created_at from files where id = $3)
     order by created_at desc, id desc limit 1`,
    [file.instrument_id, file.name, file.id],
  );
}

/** The instrument no longer holds this record's data (replaced or gone): no current path. */
export async function recordInstrumentCopyMissing(q: Queryable, id: string): Promise<void> {
  await q.exec(
    `update files set instrument_copy = 'missing', current_path = null
     where id = $1 and instrument_copy = 'present'`,
    [id],
  );
}

export async function copiesOf(q: Queryable, fileId: string): Promise<CopyRow[]> {
  return q.query<CopyRow>('select * from copies where file_id = $1 order by id', [fileId]);
}

export async function verifiedCopy(
  q: Queryable,
  fileId: string,
  target = 'backup',
): Promise<CopyRow | undefined> {
  return q.maybeOne<CopyRow>(
    `select * from ${copiesOfFile('$1')} c where c.target = $2 and c.state = 'verified'`,
    [fileId, target],
  );
}

/** The latest copy on `target` (default the primary backup) found damaged (by the remover or the fixity audit), if any. */
export async function latestCorruptBackup(
  q: Queryable,
  fileId: string,
  target = 'backup',
): Promise<CopyRow | undefined> {
  return q.maybeOne<CopyRow>(
    `select * from copies where file_id = $1 and target = $2 and state = 'corrupt'
     order by id desc limit 1`,
    [fileId, target],
  );
}

export interface FileFilter {
  instrument?: string;
  status?: string[];
  project?: string;
  since?: Date;
  limit?: number;
}

/** A listed file, with the state of its latest backup copy (`verified`, `corrupt`, …; null: none). */
export type ListedFile = FileRow & { backup: string | null };

export async function listFiles(q: Queryable, f: FileFilter): Promise<ListedFile[]> {
  return q.query<ListedFile>(
    `select files.*, (select c.state from ${copiesOfFile('files.id')} c where c.target = 'backup'
                      order by c.id desc limit 1) as backup
     from files
     where ($1::text is null or instrument_id = $1) and ($2::text[] is null or status = any($2))
       and ($3::text is null or project_id = $3) and ($4::timestamptz is null or created_at >= $4)
     order by created_at desc, id desc limit $5`,
    [f.instrument ?? null, f.status ?? null, f.project ?? null, f.since ?? null, f.limit ?? 100],
  );
}

/** Whether any file is recorded for this instrument or project (one no longer configured still has its files). */
export async function anyFileOf(
  q: Queryable,
  of: { instrument: string } | { project: string },
): Promise<boolean> {
  const [column, value] = 'instrument' in of ? ['instrument_id', of.instrument] : ['project_id', of.project];
  return (await q.maybeOne(`select 1 from files where ${column} = $1 limit 1`, [value])) !== undefined;
}

export async function countByStatus(q: Queryable, instrument?: string): Promise<Record<string, number>> {
  const rows = await q.query<{ status: string; n: string }>(
    'select status, count(*) as n from files where ($1::text is null or instrument_id = $1) group by status',
    [instrument ?? null],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export interface InstrumentRow {
  id: string;
  type: string;
  watch_path: string;
  online: boolean | null;
  offline_reason: string | null;
  checked_at: Date | null;
  /** Why this instrument's copies wait for the backup target (src/backup/target.ts); null: usable. */
  backup_target_problem: string | null;
  free_bytes: string | null;
  total_bytes: string | null;
  last_new_file_at: Date | null;
}

export async function syncInstruments(
  q: Queryable,
  instruments: Record<string, { type: string; watch: string }>,
): Promise<void> {
  for (const [id, inst] of Object.entries(instruments)) {
    await q.exec(
      `insert into instruments (id, type, watch_path) values ($1, $2, $3)
       on conflict (id) do update set type = excluded.type, watch_path = excluded.watch_path, updated_at = now()`,
      [id, inst.type, inst.watch],
    );
  }
}

/** Files of one instrument in one status: how many, and (when asked) how many unchanged for too long. */
export type CountRow = { instrument_id: string; status: string; n: string };

/**
 * Files per instrument and status, for the given statuses. With `stuckMinutes`, each row also
 * counts the files whose last change is older than that (`stuck`).
 */
export async function countByInstrumentStatus(q: Queryable, statuses: readonly string[]): Promise<CountRow[]>;
export async function countByInstrumentStatus(
  q: Queryable,
  statuses: readonly string[],
  stuckMinutes: number,
): Promise<(CountRow & { stuck: string })[]>;
export async function countByInstrumentStatus(
  q: Queryable,
  statuses: readonly string[],
  stuckMinutes?: number,
): Promise<CountRow[]> {
  if (stuckMinutes === undefined)
    return q.query<CountRow>(
      `select instrument_id, status, count(*) as n from files where status = any($1)
       group by instrument_id, status`,
      [statuses],
    );
  return q.query<CountRow & { stuck: string }>(
    `select instrument_id, status, count(*) as n,
       count(*) filter (where updated_at < now() - $2 * interval '1 minute') as stuck
     from files where status = any($1) group by instrument_id, status`,
    [statuses, stuckMinutes],
  );
}

/** New files and bytes per UTC day (days since the epoch) and instrument, discovered in [from, to). */
export async function filesPerDay(
  q: Queryable,
  r: { from: Date; to: Date; instrument?: string },
): Promise<{ instrument_id: string; day: number; files: number; bytes: number }[]> {
  return q.query(
    `select instrument_id, floor(extract(epoch from created_at) / 86400)::int as day,
       count(*)::int as files, coalesce(sum(size_bytes), 0)::float8 as bytes
     from files
     where created_at >= $1 and created_at < $2 and ($3::text is null or instrument_id = $3)
     group by 1, 2`,
    [r.from, r.to, r.instrument ?? null],
  );
}

/** Why the instrument's copies wait for the backup target (null: they do not); undefined: no such instrument. */
export async function backupTargetProblem(
  q: Queryable,
  instrument: string,
): Promise<{ problem: string | null } | undefined> {
  return q.maybeOne<{ problem: string | null }>(
    'select backup_target_problem as problem from instruments where id = $1',
    [instrument],
  );
}

/**
 * Sets the instrument's backup target problem under its row lock; returns the previous one when it
 * changed (undefined: unchanged, or no such instrument).
 */
export async function changeBackupTargetProblem(
  q: Queryable,
  instrument: string,
  problem: string | null,
): Promise<{ problem: string | null } | undefined> {
  return q.maybeOne<{ problem: string | null }>(
    `update instruments i set backup_target_problem = $2, backup_target_checked_at = now()
     from (select backup_target_problem as problem from instruments where id = $1 for update) p
     where i.id = $1 and p.problem is distinct from $2 returning p.problem`,
    [instrument, problem],
  );
}

/** Whether the instrument is recorded (it may have left the config and still have files). */
export async function instrumentRecorded(q: Queryable, id: string): Promise<boolean> {
  return (await q.maybeOne('select 1 from instruments where id = $1', [id])) !== undefined;
}

export async function listInstruments(q: Queryable): Promise<InstrumentRow[]> {
  return q.query<InstrumentRow>('select * from instruments order by id');
}

/** Where the instrument copy is now (`at`; null when it is gone), in the file's record. */
export async function setInstrumentCopy(
  q: Queryable,
  id: string,
  state: FileRow['instrument_copy'],
  at: string | null,
): Promise<void> {
  await q.exec('update files set instrument_copy = $2, current_path = $3, updated_at = now() where id = $1', [
    id,
    state,
    at,
  ]);
}

/**
 * The record's manifest from its verified backup; `fingerprint` (the manifest's, for a record
 * declared acquired without one) is kept only where the record has none.
 */
export async function recordBackupManifest(
  q: Queryable,
  id: string,
  manifest: Manifest,
  fingerprint: AcquiredFingerprint | null,
): Promise<void> {
  await q.exec(
    `update files set manifest = $2::jsonb, hash_algorithm = $3,
       acquired_fingerprint = coalesce(acquired_fingerprint, $4::jsonb) where id = $1`,
    [id, JSON.stringify(manifest), manifest.algorithm, fingerprint ? JSON.stringify(fingerprint) : null],
  );
}
