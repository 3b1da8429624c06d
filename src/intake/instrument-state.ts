/**
 * An instrument's online state as its scan finds it: offline (the watch folder cannot be read, or
 * its share is not mounted) with the reason, or online with the free space; each change of state
 * is an event on the instrument's timeline.
 */
import type { Tx } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';
import { recordEvent } from '../engine/events.ts';
import { setInstrumentOffline, setInstrumentOnline } from '../files/instruments.ts';

const ACTOR = 'intake';

export async function markOffline(tx: Tx, id: string, reason: string, log: Logger): Promise<void> {
  const prev = await setInstrumentOffline(tx, id, reason);
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
  const prev = await setInstrumentOnline(tx, id, space, newFile);
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
