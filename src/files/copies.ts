/**
 * The files repo's statements on backup copies that the fixity audit and the duplicate check need
 * (part of the owner of `copies`, beside src/files/repo.ts): a copy's latest re-read, a copy found
 * damaged, the copies due for an audit, the earlier backed-up records of the same name, and the
 * verified backups under a folder (the backup target's evidence that it is the right disk); and the
 * backup stage's and the remover's writes of a copy's state.
 */

import type { Queryable } from '../core/db/db.ts';
import type { Manifest } from '../storage/raw-data.ts';
import { copiesOfFile, copiesOfFiles } from './copies-by-file.ts';
import { copyCounts } from './copy-counts.ts';
import type { CopyRow, FileRow } from './repo.ts';

/** Records the latest re-read of a copy against its recorded hashes, and its result. */
export async function setCopyFixity(q: Queryable, copyId: string, ok: boolean): Promise<void> {
  await q.exec('update copies set last_fixity_at = now(), last_fixity_ok = $2 where id = $1', [copyId, ok]);
}

/** Marks a verified copy corrupt; false when it was no longer verified (replaced meanwhile). */
export async function markVerifiedCopyCorrupt(q: Queryable, copyId: string): Promise<boolean> {
  const marked = await q.query(
    `update copies set state = 'corrupt' where id = $1 and state = 'verified' returning id`,
    [copyId],
  );
  return marked.length > 0;
}

/** How many verified copies there are, and how many were last read (or verified) before `before`. */
export async function verifiedCopyAges(
  q: Queryable,
  before: Date,
  targets: readonly string[],
): Promise<{ copies: number; overdue: number }> {
  const r = await q.one<{ copies: string; overdue: string }>(
    `select count(*) as copies,
       count(*) filter (where coalesce(last_fixity_at, verified_at) < $1) as overdue
     from copies where state = 'verified' and target = any($2)`,
    [before, targets],
  );
  return { copies: Number(r.copies), overdue: Number(r.overdue) };
}

/** A verified copy with what the audit needs of its file. */
export type CopyForAudit = CopyRow & Pick<FileRow, 'kind' | 'instrument_copy'>;

/**
 * The `n` verified copies on `targets` read longest ago (never read: by verification time), oldest
 * first. Copies of other targets (removed from the config) cannot be read and are left out.
 */
export async function copiesLongestUnread(
  q: Queryable,
  n: number,
  targets: readonly string[],
): Promise<CopyForAudit[]> {
  // the index copies_fixity_due serves this order
  return q.query<CopyForAudit>(
    `select c.*, f.kind, f.instrument_copy from copies c join files f on f.id = c.file_id
     where c.state = 'verified' and c.target = any($2)
     order by coalesce(c.last_fixity_at, c.verified_at), c.id limit $1`,
    [n, targets],
  );
}

/** Verified copies per target not among `targets` (a target removed from the config). */
export async function verifiedCopiesOfOtherTargets(
  q: Queryable,
  targets: readonly string[],
): Promise<{ target: string; copies: number }[]> {
  const rows = await q.query<{ target: string; copies: string }>(
    `select target, count(*) as copies from copies
     where state = 'verified' and not (target = any($1)) group by target order by target`,
    [targets],
  );
  return rows.map((r) => ({ target: r.target, copies: Number(r.copies) }));
}

/** An earlier record's verified backup: where it is, what it holds, and what was acquired. */
export type BackedUpRecord = Pick<FileRow, 'id' | 'acquired_fingerprint' | 'size_bytes' | 'mtime'> &
  Pick<CopyRow, 'location' | 'manifest'>;

/**
 * Earlier records of the same instrument, name and kind (at most 8, newest first) whose verified
 * backup has the same number of bytes: the candidates for the same data discovered again.
 */
export async function earlierBackedUpNamesakes(
  q: Queryable,
  file: Pick<FileRow, 'id' | 'instrument_id' | 'name' | 'kind' | 'size_bytes' | 'created_at'>,
): Promise<BackedUpRecord[]> {
  return q.query<BackedUpRecord>(
    `select f.id, c.location, c.manifest, f.acquired_fingerprint, f.size_bytes, f.mtime
     from files f cross join lateral ${copiesOfFile('f.id')} c
     where f.instrument_id = $1 and f.name = $2 and f.id <> $3 and f.kind = $4 and f.created_at <= $5
       and c.target = 'backup' and c.state = 'verified' and c.bytes = $6
     order by f.created_at desc, f.id desc limit 8`,
    [file.instrument_id, file.name, file.id, file.kind, file.created_at, file.size_bytes],
  );
}

/** How many verified copies on `target` (default the primary backup) are recorded under `prefix` (a folder path ending in a separator). */
export async function verifiedBackupsUnder(q: Queryable, prefix: string, target = 'backup'): Promise<number> {
  const { n } = await q.one<{ n: number }>(
    `select count(*)::int as n from copies where target = $2 and state = 'verified' and starts_with(location, $1)`,
    [prefix, target],
  );
  return n;
}

/** Where some verified backups under `prefix` are: the oldest, the newest and `spread` more spread by id. */
export async function sampleVerifiedBackupsUnder(
  q: Queryable,
  prefix: string,
  spread: number,
  target = 'backup',
): Promise<string[]> {
  const rows = await q.query<{ location: string }>(
    `(select location from copies where target = $3 and state = 'verified' and starts_with(location, $1) order by id limit 1)
     union
     (select location from copies where target = $3 and state = 'verified' and starts_with(location, $1) order by id desc limit 1)
     union
     (select location from copies where target = $3 and state = 'verified' and starts_with(location, $1)
        order by md5(id::text) limit $2)`,
    [prefix, spread, target],
  );
  return rows.map((r) => r.location);
}

/** A copy's state now (undefined when the row is gone). */
export async function copyState(q: Queryable, copyId: string): Promise<string | undefined> {
  const now = await q.maybeOne<{ state: string }>('select state from copies where id = $1', [copyId]);
  return now?.state;
}

/** Marks a copy corrupt (whatever its state). */
export async function markCopyCorrupt(q: Queryable, copyId: string): Promise<void> {
  await q.exec(`update copies set state = 'corrupt' where id = $1`, [copyId]);
}

/** The file's verified backup copies become `replaced` (a new backup takes their place). */
export async function retireVerifiedBackups(q: Queryable, fileId: string): Promise<void> {
  await q.exec(
    `update copies set state = 'replaced'
     where id = any(array(select c.id from ${copiesOfFile('$1')} c where c.target = 'backup' and c.state = 'verified'))
       and state = 'verified'`,
    [fileId],
  );
}

/** A new verified backup copy of the file at `location`, with its manifest and how it was made. */
export async function insertVerifiedBackup(
  q: Queryable,
  fileId: string,
  location: string,
  manifest: Manifest,
  seconds: number,
  associated: boolean,
): Promise<void> {
  await insertVerifiedCopy(q, fileId, 'backup', location, manifest, seconds, associated);
}

/** The file's verified copies on `target` become `replaced` (a new copy there takes their place). */
export async function retireVerifiedCopies(q: Queryable, fileId: string, target: string): Promise<void> {
  await q.exec(
    `update copies set state = 'replaced'
     where id = any(array(select c.id from ${copiesOfFile('$1')} c where c.target = $2 and c.state = 'verified'))
       and state = 'verified'`,
    [fileId, target],
  );
}

/** A new verified copy of the file on backup target `target` (`backup`: the filesystem one). */
export async function insertVerifiedCopy(
  q: Queryable,
  fileId: string,
  target: string,
  location: string,
  manifest: Manifest,
  seconds: number,
  associated: boolean,
): Promise<void> {
  await q.exec(
    `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes, seconds, associated)
     values ($1, $8, $2, 'verified', $3, $4::jsonb, $5, $6, $7)`,
    [
      fileId,
      location,
      manifest.algorithm,
      JSON.stringify(manifest),
      manifest.totalBytes,
      seconds,
      associated,
      target,
    ],
  );
}

/**
 * Files with a verified filesystem copy but none on `target` (at most `limit`, oldest or newest
 * recorded first): what the target's upkeep enqueues (a target added to a running site).
 */
export async function filesWithoutCopyOn(
  q: Queryable,
  target: string,
  order: 'oldest_first' | 'newest_first',
  limit: number,
): Promise<Pick<FileRow, 'id' | 'instrument_id'>[]> {
  const dir = order === 'newest_first' ? 'desc' : 'asc';
  return q.query<Pick<FileRow, 'id' | 'instrument_id'>>(
    `select f.id, f.instrument_id from files f
     join copies b on b.file_id = f.id and b.target = 'backup' and b.state = 'verified'
     where not exists (select 1 from copies c where c.file_id = f.id and c.target = $1 and c.state = 'verified')
     order by f.created_at ${dir}, f.id ${dir} limit $2`,
    [target, limit],
  );
}

/**
 * Per target: how many files have a verified filesystem copy, and how many a verified copy there
 * too. A file has at most one verified copy per target (unique index copies_one_verified), so these
 * are counts of verified copies on `backup` and on the target, read from the counts the database
 * keeps (./copy-counts.ts); counted in full only while those have no baseline yet.
 */
export async function copiesPerTarget(
  q: Queryable,
  targets: readonly string[],
): Promise<{ target: string; files: number; copied: number }[]> {
  const counts = await copyCounts(q);
  if (!counts) return copiesPerTargetCounted(q, targets);
  const verified = (target: string) =>
    counts.find((c) => c.target === target && c.state === 'verified')?.n ?? 0;
  return [...targets]
    .sort()
    .map((target) => ({ target, files: verified('backup'), copied: verified(target) }));
}

/** `copiesPerTarget` by counting `copies` (full counts over copies_target_verified). */
export async function copiesPerTargetCounted(
  q: Queryable,
  targets: readonly string[],
): Promise<{ target: string; files: number; copied: number }[]> {
  return q.query<{ target: string; files: number; copied: number }>(
    `select t.target,
       (select count(*)::int from copies where target = 'backup' and state = 'verified') as files,
       (select count(*)::int from copies c where c.target = t.target and c.state = 'verified') as copied
     from unnest($1::text[]) as t(target) order by t.target`,
    [targets],
  );
}

/**
 * Per file and target: the state of its copy there (`verified` when one is, else the newest
 * copy's state); pairs with no copy at all are absent (`sluice cleanup check`'s targets column).
 */
export async function copyStatesOf(
  q: Queryable,
  fileIds: readonly string[],
  targets: readonly string[],
): Promise<{ file_id: string; target: string; state: string }[]> {
  return q.query<{ file_id: string; target: string; state: string }>(
    `select distinct on (c.file_id, c.target) c.file_id, c.target, c.state from ${copiesOfFiles('$1')} c
     where c.target = any($2)
     order by c.file_id, c.target, (c.state = 'verified') desc, c.id desc`,
    [fileIds, targets],
  );
}
