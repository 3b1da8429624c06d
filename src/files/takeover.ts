/**
 * A killed attempt in the file's timeline: when a task about a file is taken over from an attempt
 * that was cut short (its worker died, went silent, or its lease expired), the new attempt notes
 * "attempt N on <worker> was cut short (…); taken over by <worker>" on the file as it starts
 * (engine: `TaskHandlerDef.onTakenOver`, in a transaction fenced by the new attempt's token).
 */
import type { Tx } from '../core/db/db.ts';
import { describeTakeover, type TakenOver, type TaskRow } from '../engine/types.ts';
import { addToTimeline } from './lifecycle.ts';

export async function noteTakeover(tx: Tx, fileId: string, task: TaskRow, cut: TakenOver): Promise<void> {
  await addToTimeline(tx, fileId, 'engine', `${task.kind}: ${describeTakeover(cut)}`, {
    task: task.id,
    takenOver: cut,
  });
}

/** `onTakenOver` for tasks whose subject is a file id. */
export function noteTakeoverOnSubject(tx: Tx, task: TaskRow, cut: TakenOver): Promise<void> {
  return task.subject ? noteTakeover(tx, task.subject, task, cut) : Promise.resolve();
}
