/**
 * Statements of the archive fixity audits (src/archive/fixity.ts) on the archive tables (src/archive/
 * owns them, see repo.ts): which archives are due for a re-read, marking one `corrupt` (its items due
 * again so the set is archived anew from its backup), and the corrupt archives the alerts report.
 */
import { COLD_CLASSES } from '../core/config/schema/archive.ts';
import type { Queryable } from '../core/db/db.ts';
import { filesWithReleasedBackup } from '../files/releases.ts';
import type { ArchiveRow } from './repo.ts';

/**
 * Archived archives last checked (or verified) before `cutoff`, least recently checked first, up to
 * `limit`; cold S3 classes are left out (verified at write time and on retrieval only).
 */
export async function archivesDueForFixity(q: Queryable, cutoff: Date, limit: number): Promise<ArchiveRow[]> {
  return q.query<ArchiveRow>(
    `select * from archives
     where state = 'archived' and coalesce(last_fixity_at, verified_at) <= $1
       and not (target_kind = 's3' and coalesce(storage_class, '') = any($2))
     order by coalesce(last_fixity_at, verified_at), id limit $3`,
    [cutoff, [...COLD_CLASSES], limit],
  );
}

/**
 * The archive no longer matches what was verified: `corrupt` (never counts again), its failed check
 * recorded, and the items it held due now (a new archive is written from the backups). Returns the
 * files whose items were put back; none when the archive was not `archived` any more.
 */
export async function markArchiveCorrupt(q: Queryable, id: string, reason: string): Promise<string[]> {
  const n = await q.exec(
    `update archives set state = 'corrupt', reason = $2, last_fixity_at = now(), last_fixity_ok = false
     where id = $1 and state = 'archived'`,
    [id, reason],
  );
  if (n === 0) return [];
  const rows = await q.query<{ file_id: string }>(
    `update archive_items set state = 'due', archive_id = null, archived_at = null, due_at = now(),
       last_error = $2, updated_at = now()
     where archive_id = $1 and state = 'archived' returning file_id`,
    [id, reason],
  );
  return rows.map((r) => r.file_id).sort();
}

export interface CorruptArchive {
  id: string;
  target: string;
  location: string;
  reason: string | null;
  files: number;
  /** Of those, the sets whose backup was released (backup retention): nothing to re-archive from. */
  released: number;
}

/**
 * Corrupt archives some of whose files are not archived again on that target yet (for the
 * `backup_failure` alert: it clears once every set is in a new verified archive).
 */
export async function corruptArchivesPending(q: Queryable): Promise<CorruptArchive[]> {
  const rows = await q.query<Omit<CorruptArchive, 'released'> & { files: string; file_ids: string[] }>(
    `select a.id, a.target, a.location, a.reason, count(distinct m.file_id) as files,
       array_agg(distinct m.file_id) as file_ids
     from archives a join archive_members m on m.archive_id = a.id
     where a.state = 'corrupt' and exists (
       select 1 from archive_items i
       where i.target = a.target and i.file_id = m.file_id and i.state <> 'archived')
     group by a.id order by a.id`,
  );
  const out: CorruptArchive[] = [];
  for (const { file_ids, ...r } of rows) {
    const released = (await filesWithReleasedBackup(q, file_ids)).length;
    out.push({ ...r, files: Number(r.files), released });
  }
  return out;
}

/**
 * Corrupt archives whose tar is still on the target although every member is again in a verified
 * (`archived`) archive of the same target: the same path with the same sha256 (metrics.json by path
 * only: it is written anew from the database rows). Their tars may be removed (condemned.ts);
 * `archiveId` narrows it to one archive (the re-check right before the removal).
 */
export async function condemnedTarsCovered(
  q: Queryable,
  f: { target?: string; archiveId?: string } = {},
): Promise<ArchiveRow[]> {
  return q.query<ArchiveRow>(
    `select a.* from archives a
     where a.state = 'corrupt' and a.tar_removed_at is null
       and ($1::text is null or a.target = $1) and ($2::bigint is null or a.id = $2)
       and exists (select 1 from archive_members m where m.archive_id = a.id)
       and not exists (
         select 1 from archive_members m where m.archive_id = a.id and not exists (
           select 1 from archive_members n join archives b on b.id = n.archive_id
           where n.file_id = m.file_id and n.path = m.path and b.id <> a.id
             and b.target = a.target and b.state = 'archived'
             and (m.kind = 'metrics' or n.sha256 = m.sha256)))
     order by a.id`,
    [f.target ?? null, f.archiveId ?? null],
  );
}

/** The corrupt archive's tar was removed from its target; returns its files (for their timelines). */
export async function markTarRemoved(q: Queryable, id: string): Promise<string[]> {
  await q.exec(`update archives set tar_removed_at = now() where id = $1 and state = 'corrupt'`, [id]);
  const rows = await q.query<{ file_id: string }>(
    'select distinct file_id from archive_members where archive_id = $1 order by file_id',
    [id],
  );
  return rows.map((r) => r.file_id);
}
