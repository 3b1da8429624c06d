/**
 * The `instruments` table's online state, as scans find it (owner: src/files; the intake stage
 * decides and logs, src/intake/instrument-state.ts). Each call returns the state before it, locked
 * for the transaction, so the caller records a change once.
 */
import type { Queryable } from '../core/db/db.ts';

/** Marks the instrument offline with `reason`; returns whether it was online before (null: unknown). */
export async function setInstrumentOffline(
  q: Queryable,
  id: string,
  reason: string,
): Promise<{ online: boolean | null } | undefined> {
  return q.maybeOne<{ online: boolean | null }>(
    `update instruments i set online = false, offline_reason = $2, checked_at = now(), updated_at = now()
     from (select online from instruments where id = $1 for update) p where i.id = $1 returning p.online`,
    [id, reason],
  );
}

/** Marks the instrument online with its free space (and when a new file was seen); returns the state before. */
export async function setInstrumentOnline(
  q: Queryable,
  id: string,
  space: { freeBytes: number; totalBytes: number } | undefined,
  newFile: boolean,
): Promise<{ online: boolean | null } | undefined> {
  return q.maybeOne<{ online: boolean | null }>(
    `update instruments i set online = true, offline_reason = null, checked_at = now(), updated_at = now(),
       free_bytes = $2, total_bytes = $3, last_new_file_at = case when $4 then now() else i.last_new_file_at end
     from (select online from instruments where id = $1 for update) p where i.id = $1 returning p.online`,
    [id, space?.freeBytes ?? null, space?.totalBytes ?? null, newFile],
  );
}
