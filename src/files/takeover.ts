/**
 * A killed attempt in the file's timeline: when a task about a file is taken over from an attempt
 * that was cut short (its worker died, went silent, or its lease expired), the new attempt notes
 * "attempt N on <worker> was cut short (…); taken over by <worker>" on the file as it starts
 * (engine: `TaskHandlerDef.onTakenOver`, in a transaction fenced by the new attempt's token); a
 * task about several files (`backup.batch`) notes it on each of them still waiting.
 */
import type { Tx } from '../core/db/db.ts';
import { describeTakeover, type TakenOver, type TaskRow } from '../engine/types.ts';
import { addToTimeline, addToTimelineOf, type FileStatus } from './lifecycle.ts';

const ACTOR = 'engine';

const noteOf = (task: TaskRow, cut: TakenOver) => ({
  reason: `${task.kind}: ${describeTakeover(cut)}`,
  data: { task: task.id, takenOver: cut },
});

export async function noteTakeover(tx: Tx, fileId: string, task: TaskRow, cut: TakenOver): Promise<void> {
  const n = noteOf(task, cut);
  await addToTimeline(tx, fileId, ACTOR, n.reason, n.data);
}

/**
 * The same note for a task about many files (a backup batch), on those of `ids` in one of
 * `statuses`, in one statement.
 */
export async function noteTakeoverOnFiles(
  tx: Tx,
  ids: readonly string[],
  statuses: readonly FileStatus[],
  task: TaskRow,
  cut: TakenOver,
): Promise<void> {
  await addToTimelineOf(tx, ids, statuses, { actor: ACTOR, ...noteOf(task, cut) });
}

/** `onTakenOver` for tasks whose subject is a file id. */
export function noteTakeoverOnSubject(tx: Tx, task: TaskRow, cut: TakenOver): Promise<void> {
  return task.subject ? noteTakeover(tx, task.subject, task, cut) : Promise.resolve();
}
