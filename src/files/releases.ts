/**
 * The files repo's statements on released backup copies (part of the owner of `copies`, beside
 * src/files/copies.ts): the backup retention (src/archive/retention.ts) marks a verified primary
 * backup `released` — deliberately removed from the backup area because verified archives hold the
 * file — in the transaction that re-checks the archives, then removes the bytes and records
 * `removed_at`. Readers of verified backups ask here whether a file's backup was released, to refuse
 * or skip with a clear message instead of calling it missing.
 */
import type { Queryable, Tx } from '../core/db/db.ts';
import { PermanentError } from '../core/errors.ts';
import { copiesOfFile, copiesOfFiles } from './copies-by-file.ts';
import type { CopyRow } from './repo.ts';

/** A released copy: when, and whether its bytes are gone yet. */
export type ReleasedCopy = CopyRow & { released_at: Date; removed_at: Date | null };

/** The verified primary backups of `fileIds` (the retention's candidates), in file id order. */
export async function verifiedBackupsOf(q: Queryable, fileIds: readonly string[]): Promise<CopyRow[]> {
  return q.query<CopyRow>(
    `select * from ${copiesOfFiles('$1')} c where c.target = 'backup' and c.state = 'verified'
     order by c.file_id`,
    [fileIds],
  );
}

/** The copy, locked for the release transaction, while it is still verified (else undefined). */
export async function lockVerifiedCopy(tx: Tx, copyId: string): Promise<CopyRow | undefined> {
  return tx.maybeOne<CopyRow>(`select * from copies where id = $1 and state = 'verified' for update`, [
    copyId,
  ]);
}

/** Marks a verified copy released (its bytes are removed after the commit); false when it was not verified. */
export async function markCopyReleased(tx: Tx, copyId: string): Promise<boolean> {
  const n = await tx.exec(
    `update copies set state = 'released', released_at = now() where id = $1 and state = 'verified'`,
    [copyId],
  );
  return n > 0;
}

/** Released copies whose bytes are not recorded as removed yet (a crash cut the removal short), oldest first. */
export async function unfinishedReleases(q: Queryable, limit: number): Promise<ReleasedCopy[]> {
  return q.query<ReleasedCopy>(
    `select * from copies where state = 'released' and removed_at is null order by id limit $1`,
    [limit],
  );
}

/** Records that a released copy's bytes are gone. */
export async function markReleaseRemoved(q: Queryable, copyId: string): Promise<void> {
  await q.exec(`update copies set removed_at = now() where id = $1 and state = 'released'`, [copyId]);
}

/** Does a verified copy live at `location` (a later backup to the same place: its bytes must stay)? */
export async function verifiedCopyAt(q: Queryable, location: string): Promise<boolean> {
  const r = await q.maybeOne<{ id: string }>(
    `select id from copies where location = $1 and state = 'verified' limit 1`,
    [location],
  );
  return r !== undefined;
}

/**
 * The file's released primary backup when it has no verified one (the newest release): what readers
 * of verified backups name when they refuse or skip.
 */
export async function releasedBackup(q: Queryable, fileId: string): Promise<ReleasedCopy | undefined> {
  return q.maybeOne<ReleasedCopy>(
    `select * from ${copiesOfFile('$1')} c where c.target = 'backup' and c.state = 'released'
       and not exists (select 1 from ${copiesOfFile('c.file_id')} v where v.target = 'backup' and v.state = 'verified')
     order by c.id desc limit 1`,
    [fileId],
  );
}

/** Of `fileIds`, those whose primary backup was released (and none verified since). */
export async function filesWithReleasedBackup(q: Queryable, fileIds: readonly string[]): Promise<string[]> {
  const rows = await q.query<{ file_id: string }>(
    `select distinct c.file_id from ${copiesOfFiles('$1')} c where c.target = 'backup' and c.state = 'released'
       and not exists (select 1 from ${copiesOfFile('c.file_id')} v where v.target = 'backup' and v.state = 'verified')`,
    [fileIds],
  );
  return rows.map((r) => r.file_id);
}

/**
 * Files whose primary backup was released and that have no verified copy on `target`: the back-fill
 * of a backup target cannot copy them (their data is in archives), and says how many.
 */
export async function releasedWithoutCopyOn(q: Queryable, target: string): Promise<number> {
  const r = await q.one<{ n: number }>(
    `select count(distinct c.file_id)::int as n from copies c
     where c.target = 'backup' and c.state = 'released'
       and not exists (select 1 from copies v where v.file_id = c.file_id and v.target = 'backup' and v.state = 'verified')
       and not exists (select 1 from copies t where t.file_id = c.file_id and t.target = $1 and t.state = 'verified')`,
    [target],
  );
  return r.n;
}

/**
 * Throws when the file's primary backup was released (its bytes are gone from the backup area):
 * `what` needs the bytes (processing, …). A clear, permanent refusal naming `sluice retrieve`.
 */
export async function refuseReleasedBackup(q: Queryable, fileId: string, what: string): Promise<void> {
  const r = await releasedBackup(q, fileId);
  if (!r) return;
  throw new PermanentError(
    'backup.released',
    `${what} needs the raw data of ${fileId}, but its backup at ${r.location} was released on ${r.released_at.toISOString()} (backup retention: verified archives hold it)`,
    `bring the set back with \`sluice retrieve ${fileId}\` (it lands in the retrieval area); the backup area no longer holds it`,
  );
}
