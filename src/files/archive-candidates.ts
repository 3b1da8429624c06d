/**
 * The files repo's read for the archive policy pass (src/archive/pass.ts): backed-up files page by
 * page (id order, after a cursor), with what a policy looks at. Part of the owner of `files`.
 */
import type { Queryable } from '../core/db/db.ts';
import { BACKED_UP } from './lifecycle.ts';

export interface ArchiveCandidate {
  id: string;
  project_id: string;
  instrument_id: string;
  size_bytes: string;
  acquired_at: Date | null;
  status: string;
}

/** Up to `limit` backed-up files with an id after `afterId`, in id order. */
export async function backedUpFilesAfter(
  q: Queryable,
  afterId: string,
  limit: number,
): Promise<ArchiveCandidate[]> {
  return q.query<ArchiveCandidate>(
    `select id, project_id, instrument_id, size_bytes, acquired_at, status from files
     where id > $1 and status = any($2) order by id limit $3`,
    [afterId, BACKED_UP, limit],
  );
}

/** The ids of every file of `project` (the archive API's project filter). */
export async function fileIdsOfProject(q: Queryable, project: string): Promise<string[]> {
  const rows = await q.query<{ id: string }>('select id from files where project_id = $1', [project]);
  return rows.map((r) => r.id);
}
