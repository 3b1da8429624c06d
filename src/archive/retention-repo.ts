/**
 * The archive repo's statements for the backup retention (src/archive/retention.ts; part of the
 * owner of `archives` and `archive_items`): the files archived on a target in an archive verified
 * before a time (candidates, page by page), the archive holding a file re-read and locked inside the
 * release transaction, and whether a file still has items not archived on some target.
 */
import type { Queryable, Tx } from '../core/db/db.ts';

/** Up to `limit` file ids after `afterFileId` archived on `target` in an archive verified at or before `before`. */
export async function filesArchivedBefore(
  q: Queryable,
  target: string,
  before: Date,
  afterFileId: string,
  limit: number,
): Promise<string[]> {
  const rows = await q.query<{ file_id: string }>(
    `select i.file_id from archive_items i join archives a on a.id = i.archive_id
     where i.target = $1 and i.state = 'archived' and a.state = 'archived' and a.verified_at <= $2
       and i.file_id > $3
     order by i.file_id limit $4`,
    [target, before, afterFileId, limit],
  );
  return rows.map((r) => r.file_id);
}

/** The verified archive holding `fileId` on `target`, as the release decides on it. */
export interface HoldingArchive {
  id: string;
  target: string;
  location: string;
  verified_at: Date | null;
}

/**
 * The archive holding `fileId` on `target` now, its row and the item's locked until the transaction
 * ends: an archive condemned meanwhile (fixity, retrieval) is not returned, and one condemned later
 * waits for the release to commit (then its timeline names the released backup).
 */
export async function lockHoldingArchive(
  tx: Tx,
  fileId: string,
  target: string,
): Promise<HoldingArchive | undefined> {
  return tx.maybeOne<HoldingArchive>(
    `select a.id, a.target, a.location, a.verified_at
     from archive_items i join archives a on a.id = i.archive_id
     where i.file_id = $1 and i.target = $2 and i.state = 'archived' and a.state = 'archived'
     for update of a, i`,
    [fileId, target],
  );
}

/** The targets on which `fileId` has an item not archived (due or packing): its backup is still needed. */
export async function targetsStillArchiving(q: Queryable, fileId: string): Promise<string[]> {
  const rows = await q.query<{ target: string }>(
    `select target from archive_items where file_id = $1 and state <> 'archived' order by target`,
    [fileId],
  );
  return rows.map((r) => r.target);
}
