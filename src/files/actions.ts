/**
 * Operator actions on a file: retry, ignore, accept an overwrite of a differing backup. Shared by
 * the CLI and the API; each is one transaction with an event naming the operator.
 */
import path from 'node:path';
import { afterBackup } from '../backup/backup-task.ts';
import type { Config } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { cancelTasks, enqueue } from '../engine/enqueue.ts';
import { backupTaskFor } from '../intake/scan-task.ts';
import type { PlanOptions } from '../process/jobs.ts';
import { FILE_STATUSES, type FileStatus, transition } from './lifecycle.ts';
import { latestCorruptBackup, requireFile, verifiedCopy } from './repo.ts';

const RETRYABLE = FILE_STATUSES.filter(
  (s) => !['discovered', 'acquiring', 'backing_up', 'processing'].includes(s),
);

/**
 * Retry: a file with a verified backup goes back to `backed_up` and runs what follows a backup
 * again; any other file is declared acquired by the operator and backed up (an identical backup
 * already in place is associated, not copied again).
 */
/** Statuses after processing finished: a backup repaired then goes back to it (`keepStatus`). */
const PROCESSED: FileStatus[] = ['done', 'done_not_processed', 'processing_failed'];

/**
 * Run a file again: with a verified backup, its processing (`outputExists` overrides the variable
 * `output_exists_mode` for the new jobs); otherwise its backup. A backup the remover found damaged is
 * moved aside and made again; when processing had finished, the file goes back to that status.
 */
export async function retryFile(
  db: Db,
  config: Config,
  id: string,
  actor: string,
  opts: PlanOptions = {},
): Promise<string> {
  return db.tx(async (tx) => {
    const f = await requireFile(tx, id);
    if (!RETRYABLE.includes(f.status)) {
      throw new UsageError(
        `file ${id} is ${f.status}: work on it is under way`,
        'wait for it to finish, or see `sluice files show` for what it waits on',
      );
    }
    if (f.status === 'lost') {
      // The bytes it acquired were replaced before any copy: backing up what is there now would
      // record other data under it (that data has its own record).
      throw new UsageError(
        `file ${id} is lost: ${f.status_reason ?? 'its data changed on the instrument before any copy was made'}`,
        'there is nothing left to back up under this record; if the acquired data exists elsewhere, put it in the watch folder under a new name (it is recorded as new data), or `sluice files ignore` this record to acknowledge the loss',
      );
    }
    const inst = config.instruments[f.instrument_id];
    if (await verifiedCopy(tx, id)) {
      await transition(tx, id, 'backed_up', {
        actor,
        from: [f.status],
        reason: `retry requested by ${actor}`,
      });
      await afterBackup(tx, await requireFile(tx, id), inst, config, opts);
      return 'backed_up';
    }
    if (!inst)
      throw new UsageError(
        `file ${id} belongs to instrument ${f.instrument_id}, which is no longer in the config`,
      );
    if (f.instrument_copy === 'removing') {
      // The deletion had begun (everything verified then) when the backup went bad: the instrument
      // copy is incomplete, and a copy of it would be recorded as a complete backup.
      throw new UsageError(
        `file ${id} has no verified backup, and the removal of its instrument copy had begun: what is left at ${path.dirname(f.current_path ?? '')} is incomplete, so backing it up again would record an incomplete backup`,
        'keep what is left and the damaged backup (see `sluice files show` for both paths); recover the missing files from another copy (an archive), then put the complete data back in the watch folder as new data',
      );
    }
    if (f.instrument_copy === 'purged' || f.instrument_copy === 'missing') {
      throw new UsageError(
        `file ${id} has no verified backup and its instrument copy is ${f.instrument_copy}: there is nothing to back up`,
        f.instrument_copy === 'missing'
          ? 'if the data exists elsewhere, put it back in the watch folder unchanged (same size and modification time, e.g. with mv or cp -p): the next scan takes the file up again'
          : 'if the data exists elsewhere, put it back in the watch folder: a scan records it as new data',
      );
    }
    // A backup the remover found damaged is at the destination: the new copy needs its place. It is
    // moved aside (kept, renamed), as with accept-overwrite; without this the copy would stop on it.
    const corrupt = await latestCorruptBackup(tx, id);
    await transition(tx, id, 'acquired', {
      actor,
      from: [f.status],
      reason: corrupt
        ? `retry requested by ${actor}: backing up again; the damaged backup at ${corrupt.location} is kept renamed`
        : `retry requested by ${actor}: backing up again`,
    });
    const keepStatus = corrupt && PROCESSED.includes(f.status) ? f.status : undefined;
    await enqueue(
      tx,
      backupTaskFor(id, inst, {
        ...(corrupt ? { acceptOverwrite: true, replacing: 'corrupt' } : {}),
        ...(keepStatus ? { keepStatus } : {}),
        ...(opts.outputExists ? { outputExists: opts.outputExists } : {}),
      }),
    );
    return 'acquired';
  });
}

export async function ignoreFile(db: Db, id: string, actor: string, why?: string): Promise<void> {
  await db.tx(async (tx) => {
    const f = await requireFile(tx, id);
    if (f.status === 'ignored') return;
    await cancelTasks(tx, { subject: id });
    await transition(tx, id, 'ignored', {
      actor,
      from: [f.status],
      reason: why ? `ignored by ${actor}: ${why}` : `ignored by ${actor}`,
    });
  });
}

/** After `backup.target_differs`: move the differing backup aside and copy again. */
export async function acceptOverwrite(db: Db, config: Config, id: string, actor: string): Promise<void> {
  await db.tx(async (tx) => {
    const f = await requireFile(tx, id);
    if (f.status !== 'error' || !/differs from the source/.test(f.status_reason ?? '')) {
      throw new UsageError(
        `file ${id} is ${f.status}${f.status_reason ? ` (${f.status_reason})` : ''}: there is no differing backup to overwrite`,
        'accept-overwrite applies to a file whose backup failed because the existing backup differs',
      );
    }
    const inst = config.instruments[f.instrument_id];
    if (!inst)
      throw new UsageError(
        `file ${id} belongs to instrument ${f.instrument_id}, which is no longer in the config`,
      );
    await transition(tx, id, 'acquired', {
      actor,
      from: ['error'],
      reason: `${actor} accepted overwriting the differing backup; the old one is kept renamed`,
    });
    await enqueue(tx, backupTaskFor(id, inst, { acceptOverwrite: true }));
  });
}
