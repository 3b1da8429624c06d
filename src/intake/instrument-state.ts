/**
 * An instrument's online state as its scan finds it: offline (the watch folder cannot be read, or
 * its share is not mounted) with the reason, or online with the free space; each change of state
 * is an event on the instrument's timeline.
 */
import type { Tx } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';
import { recordEvent } from '../engine/events.ts';

const ACTOR = 'intake';

export async function markOffline(tx: Tx, id: string, reason: string, log: Logger): Promise<void> {
  const prev = await tx.maybeOne<{ online: boolean | null }>(
    `update instruments i set online = false, offline_reason = $2, checked_at = now(), updated_at = now()
     from (select online from instruments where id = $1 for update) p where i.id = $1 returning p.online`,
    [id, reason],
  );
  if (prev?.online !== false) {
    log.warn({ reason }, 'instrument offline');
    await recordEvent(tx, {
      subjectType: 'instrument',
      subjectId: id,
      actor: ACTOR,
      from: 'online',
      to: 'offline',
      reason,
    });
  }
}

export async function markOnline(
  tx: Tx,
  id: string,
  space: { freeBytes: number; totalBytes: number } | undefined,
  newFile: boolean,
): Promise<void> {
  const prev = await tx.maybeOne<{ online: boolean | null }>(
    `update instruments i set online = true, offline_reason = null, checked_at = now(), updated_at = now(),
       free_bytes = $2, total_bytes = $3, last_new_file_at = case when $4 then now() else i.last_new_file_at end
     from (select online from instruments where id = $1 for update) p where i.id = $1 returning p.online`,
    [id, space?.freeBytes ?? null, space?.totalBytes ?? null, newFile],
  );
  if (prev && prev.online === false) {
    await recordEvent(tx, {
      subjectType: 'instrument',
      subjectId: id,
      actor: ACTOR,
      from: 'offline',
      to: 'online',
      reason: 'watch folder readable again',
    });
  }
}
