/**
 * Operator actions on a file: retry, ignore, accept an overwrite of a differing backup. Shared by
 * the CLI and the API; each is one transaction with an event naming the operator. They decide what
 * runs next (the retry's decision is `planRetry`, pure), with the flow's steps (./flow.ts).
 */
import path from 'node:path';
import type { Config } from '../core/config/index.ts';
import type { Db, Tx } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { ownEntry } from '../core/own.ts';
import { cancelTasks } from '../engine/enqueue.ts';
import { FILE_STATUSES, type FileStatus, transition } from '../files/lifecycle.ts';
import { type FileRow, latestCorruptBackup, requireFile, verifiedCopy } from '../files/repo.ts';
import type { PlanOptions } from '../process/jobs.ts';
import { enqueueTask, Kind } from '../tasks/catalogue.ts';
import { onBackedUp } from './flow.ts';

const RETRYABLE = FILE_STATUSES.filter(
  (s) => !['discovered', 'acquiring', 'backing_up', 'processing'].includes(s),
);

/** Statuses after processing finished: a backup repaired then goes back to it (`keepStatus`). */
const PROCESSED: FileStatus[] = ['done', 'done_not_processed', 'processing_failed'];

/** What a retry of a file does: refused (and why), its processing again, or its backup again. */
export type RetryPlan =
  | { kind: 'refuse'; error: UsageError }
  | { kind: 'rerun_processing' }
  | { kind: 'backup_again' };

/**
 * The decision of a retry, from the record, whether it has a verified backup and whether its
 * instrument is still in the config. A file with a verified backup runs what follows a backup
 * again; any other is backed up again when there is something whole to back up.
 */
export function planRetry(
  f: Pick<FileRow, 'id' | 'status' | 'status_reason' | 'instrument_id' | 'instrument_copy' | 'current_path'>,
  verified: boolean,
  instrumentKnown: boolean,
): RetryPlan {
  const refuse = (message: string, hint?: string): RetryPlan => ({
    kind: 'refuse',
    error: new UsageError(message, hint),
  });
  const id = f.id;
  if (!RETRYABLE.includes(f.status)) {
    return refuse(
      `file ${id} is ${f.status}: work on it is under way`,
      'wait for it to finish, or see `sluice files show` for what it waits on',
    );
  }
  if (f.status === 'lost') {
    // The bytes it acquired were replaced before any copy: backing up what is there now would
    // record other data under it (that data has its own record).
    return refuse(
      `file ${id} is lost: ${f.status_reason ?? 'its data changed on the instrument before any copy was made'}`,
      'there is nothing left to back up under this record; if the acquired data exists elsewhere, put it in the watch folder under a new name (it is recorded as new data), or `sluice files ignore` this record to acknowledge the loss',
    );
  }
  if (verified) return { kind: 'rerun_processing' };
  if (!instrumentKnown) {
    return refuse(`file ${id} belongs to instrument ${f.instrument_id}, which is no longer in the config`);
  }
  if (f.instrument_copy === 'removing') {
    // The deletion had begun (everything verified then) when the backup went bad: the instrument
    // copy is incomplete, and a copy of it would be recorded as a complete backup.
    return refuse(
      `file ${id} has no verified backup, and the removal of its instrument copy had begun: what is left at ${path.dirname(f.current_path ?? '')} is incomplete, so backing it up again would record an incomplete backup`,
      'keep what is left and the damaged backup (see `sluice files show` for both paths); recover the missing files from another copy (an archive), then put the complete data back in the watch folder as new data',
    );
  }
  if (f.instrument_copy === 'purged' || f.instrument_copy === 'missing') {
    return refuse(
      `file ${id} has no verified backup and its instrument copy is ${f.instrument_copy}: there is nothing to back up`,
      f.instrument_copy === 'missing'
        ? 'if the data exists elsewhere, put it back in the watch folder unchanged (same size and modification time, e.g. with mv or cp -p): the next scan takes the file up again'
        : 'if the data exists elsewhere, put it back in the watch folder: a scan records it as new data',
    );
  }
  return { kind: 'backup_again' };
}

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
    // asked only when the status allows a retry, as before the decision was a function of its own
    const verified = RETRYABLE.includes(f.status) && f.status !== 'lost' && !!(await verifiedCopy(tx, id));
    const inst = ownEntry(config.instruments, f.instrument_id);
    const plan = planRetry(f, verified, inst !== undefined);
    if (plan.kind === 'refuse') throw plan.error;
    if (plan.kind === 'rerun_processing') {
      await transition(tx, id, 'backed_up', {
        actor,
        from: [f.status],
        reason: `retry requested by ${actor}`,
      });
      const file = await requireFile(tx, id);
      await onBackedUp(tx, config, { file, ...opts });
      return 'backed_up';
    }
    await backupAgain(tx, f, actor, inst!.tags, opts);
    return 'acquired';
  });
}

/**
 * `acquired` and a new backup task. A backup the remover found damaged is at the destination: the
 * new copy needs its place. It is moved aside (kept, renamed), as with accept-overwrite; without this
 * the copy would stop on it.
 */
async function backupAgain(
  tx: Tx,
  f: FileRow,
  actor: string,
  tags: string[],
  opts: PlanOptions,
): Promise<void> {
  const corrupt = await latestCorruptBackup(tx, f.id);
  await transition(tx, f.id, 'acquired', {
    actor,
    from: [f.status],
    reason: corrupt
      ? `retry requested by ${actor}: backing up again; the damaged backup at ${corrupt.location} is kept renamed`
      : `retry requested by ${actor}: backing up again`,
  });
  const keepStatus = corrupt && PROCESSED.includes(f.status) ? f.status : undefined;
  await enqueueTask(
    tx,
    Kind.backupCopy,
    f.id,
    {
      ...(corrupt ? { acceptOverwrite: true, replacing: 'corrupt' as const } : {}),
      ...(keepStatus ? { keepStatus } : {}),
      ...(opts.outputExists ? { outputExists: opts.outputExists } : {}),
    },
    { tags },
  );
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
    const inst = ownEntry(config.instruments, f.instrument_id);
    if (!inst)
      throw new UsageError(
        `file ${id} belongs to instrument ${f.instrument_id}, which is no longer in the config`,
      );
    await transition(tx, id, 'acquired', {
      actor,
      from: ['error'],
      reason: `${actor} accepted overwriting the differing backup; the old one is kept renamed`,
    });
    await enqueueTask(tx, Kind.backupCopy, id, { acceptOverwrite: true }, { tags: inst.tags });
  });
}
