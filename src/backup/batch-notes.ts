/**
 * What a `backup.batch` (batch-task.ts) says on its files' timelines, where an operator looking at
 * one file sees why it waits: a file handed to a `backup.copy` task of its own, and, for each file
 * of the batch still waiting for a backup, an attempt of the batch that failed or stalled and will
 * be retried (as `backup.copy` notes its file's, backup-task.ts `noteRetry`) or a cut-short attempt
 * taken over (files/takeover.ts). Those two are one statement for the whole batch
 * (files/lifecycle.ts `addToTimelineOf`), however many files it holds.
 */
import type { Tx } from '../core/db/db.ts';
import { errorMessage, SluiceError } from '../core/errors.ts';
import type { TakenOver, TaskRow } from '../engine/types.ts';
import { addToTimelineOf } from '../files/lifecycle.ts';
import { noteTakeoverOnFiles } from '../files/takeover.ts';
import { Kind, parsePayload } from '../tasks/catalogue.ts';
import { AWAITING_BACKUP } from './backup-task.ts';

const ACTOR = 'backup';

/** Pure: the timeline note of a file handed from a batch to a task of its own. */
export function handOffNote(why: string): string {
  return `not backed up in a batch of small files (${why}); a backup task of its own takes it over`;
}

/** Pure: the timeline note of a batch's attempt that failed or stalled and will be retried. */
export function batchRetryNote(attempt: number, files: number, err: unknown, retryInMs: number): string {
  return `backup attempt ${attempt} (batch of ${files} files) failed: ${errorMessage(err)}; retrying in ${Math.round(retryInMs / 1000)} s`;
}

/** `onRetry`: the batch goes back to the queue; each of its files still waiting says why. */
export async function noteBatchRetry(tx: Tx, task: TaskRow, err: unknown, retryInMs: number): Promise<void> {
  const { files: ids } = parsePayload(Kind.backupBatch, task.payload);
  await addToTimelineOf(tx, ids, AWAITING_BACKUP, {
    actor: ACTOR,
    reason: batchRetryNote(task.attempts, ids.length, err, retryInMs),
    data: { code: err instanceof SluiceError ? err.code : 'unknown', task: task.id },
  });
}

/** `onTakenOver`: the takeover noted on each file of the batch still waiting. */
export function noteBatchTakeover(tx: Tx, task: TaskRow, cut: TakenOver): Promise<void> {
  const { files: ids } = parsePayload(Kind.backupBatch, task.payload);
  return noteTakeoverOnFiles(tx, ids, AWAITING_BACKUP, task, cut);
}
