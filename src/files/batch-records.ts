/**
 * The records of a batch of verified backups (backup/batch-task.ts), written set-wise: the same rows
 * `retireVerifiedBackups`, `insertVerifiedBackup` and `recordBackupManifest` write for one file, for
 * all of a batch's files in a few statements instead of three per file (the manifests of the files
 * that move to `backed_up` are written by that transition's own row update: lifecycle.ts
 * `transitionMany` `backedUp`; `recordBatchManifests` for the others). Also the batch's pre-check
 * for same-content twins (`namesWithBackedUpNamesakes`), one statement for the batch.
 */
import type { Queryable } from '../core/db/db.ts';
import type { Manifest } from '../storage/raw-data.ts';
import { copiesOfFile, copiesOfFiles } from './copies-by-file.ts';
import type { AcquiredFingerprint } from './fingerprint.ts';

/** One file's verified backup, as the batch recorded it. */
export interface BatchBackup {
  fileId: string;
  location: string;
  manifest: Manifest;
  seconds: number;
  associated: boolean;
  /** The record's acquired fingerprint when it had none (declared acquired by an operator). */
  fingerprint: AcquiredFingerprint | null;
}

/**
 * For every file: its earlier verified filesystem backups `replaced`, the new one `verified`. Two
 * statements for the batch. The records' manifests: `recordBatchManifests`, or the `backed_up`
 * transition (see the module comment).
 */
export async function recordBatchBackups(q: Queryable, rows: readonly BatchBackup[]): Promise<void> {
  if (rows.length === 0) return;
  const ids = rows.map((r) => r.fileId);
  // The copies found from each file id by `copies_file` (copies-by-file.ts): the plain
  // `file_id = any($1)` was planned as a walk of every verified backup copy when `copies` had never
  // been analysed (a fresh database).
  await q.exec(
    `update copies c set state = 'replaced'
     where c.id = any(array(
       select x.id from ${copiesOfFiles('$1')} x where x.target = 'backup' and x.state = 'verified'))
       and c.state = 'verified'`,
    [ids],
  );
  const json = JSON.stringify(
    rows.map((r, ord) => ({
      file_id: r.fileId,
      location: r.location,
      hash_algorithm: r.manifest.algorithm,
      manifest: r.manifest,
      bytes: r.manifest.totalBytes,
      seconds: r.seconds,
      associated: r.associated,
      ord,
    })),
  );
  await q.exec(
    `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes, seconds, associated)
     select x.file_id, 'backup', x.location, 'verified', x.hash_algorithm, x.manifest, x.bytes, x.seconds, x.associated
     from jsonb_to_recordset($1::jsonb) as x(file_id text, location text, hash_algorithm text, manifest jsonb,
       bytes bigint, seconds double precision, associated boolean, ord int)
     order by x.ord`,
    [json],
  );
}

/** For every file: the record's manifest set (and its fingerprint if it had none). One statement. */
export async function recordBatchManifests(q: Queryable, rows: readonly BatchBackup[]): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(
    rows.map((r) => ({
      file_id: r.fileId,
      hash_algorithm: r.manifest.algorithm,
      manifest: r.manifest,
      fingerprint: r.fingerprint,
    })),
  );
  await q.exec(
    `update files f set manifest = x.manifest, hash_algorithm = x.hash_algorithm,
       acquired_fingerprint = coalesce(f.acquired_fingerprint, x.fingerprint)
     from jsonb_to_recordset($1::jsonb) as x(file_id text, hash_algorithm text, manifest jsonb, fingerprint jsonb)
     where f.id = x.file_id`,
    [json],
  );
}

/**
 * Which of `names` have a record on `instrument` with a verified filesystem backup: a superset of the
 * names whose record could have a same-content twin (backup/duplicate.ts `earlierTwin`, which is
 * asked only for these). One statement for a batch instead of one per file.
 *
 * The plan is fixed by the statement's shape, so it stays a few index probes per name whatever the
 * statistics say: from each name, its records by `files_instrument_name`, then each record's copies
 * by `copies_file`, each step fenced (`offset 0`) so the planner cannot turn it around. A plain join
 * was planned from the verified copies when the tables had never been analysed (a fresh database:
 * 30 ms a batch at 5,000 copies, 4.7 s at 1M) and is 0.2 ms analysed; this one is 0.2–0.6 ms in
 * both cases, at 1M copies too.
 */
export async function namesWithBackedUpNamesakes(
  q: Queryable,
  instrument: string,
  names: readonly string[],
): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const rows = await q.query<{ name: string }>(
    `select n.name from (select distinct name from unnest($2::text[]) as u(name)) n
     where exists (
       select from (select f.id from files f where f.instrument_id = $1 and f.name = n.name offset 0) f
       cross join lateral ${copiesOfFile('f.id')} c
       where c.target = 'backup' and c.state = 'verified')`,
    [instrument, names],
  );
  return new Set(rows.map((r) => r.name));
}
