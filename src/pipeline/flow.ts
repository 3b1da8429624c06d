/**
 * The flow: what follows what for a file. Stages do their own stage and report an outcome, in the
 * transaction that records it; this module decides (and enqueues, through the task catalogue) what
 * runs next. It is the one place to read the path of a file from discovered to done:
 *
 *   discovered → acquiring → acquired        intake (intake/scan-task.ts) reports `acquired`
 *   acquired → backup                        here: a `backup.copy` task per file, small ones batched (`onAcquired`)
 *   backing_up → backed_up                   backup (backup/backup-task.ts) reports `backed_up`; a batch
 *                                            (backup/batch-task.ts) `backed_up_many` (`onBackedUpMany`)
 *   backed_up → archive                      here: archive items + pack tasks (`archiveAfterBackup`, archive/pass.ts)
 *             → a copy to each S3 target      here: a `backup.s3` task per target (`copiesToTargets`)
 *             → processing | done_not_processed (or back to `keepStatus`)   here: `onBackedUp`
 *               (a batch sets done_not_processed with its backed_up, as `settledAtBackup` decides)
 *             → move to the instrument's Backup folder (`move_after_backup`)  here: `onBackedUp`
 *   processing → processed → done | processing_failed   process (process/tasks.ts `settleFile`)
 *   instrument copy removed when copies verify           cleanup (cleanup/remove.ts, scheduled)
 *   failures → error | lost | acquisition_failed         each stage's `onFailed`, in its own files
 *
 * Operator re-runs (retry, accept overwrite) are in ./actions.ts and use the same steps.
 *
 * The stages do not import this module: src/runtime/handlers.ts passes `report` into their deps.
 * This module may import the stages' planning functions (`planProcessing`).
 */

import { archiveAfterBackup } from '../archive/pass.ts';
import type { BackedUp, BackedUpMany } from '../backup/backup-task.ts';
import { planBackups } from '../backup/batch-plan.ts';
import { linkAcquired } from '../catalog/links.ts';
import type { Config } from '../core/config/index.ts';
import { targetPool } from '../core/config/schema/backup-targets.ts';
import type { Tx } from '../core/db/db.ts';
import { FALLBACK_KEEPS_DATA, isFallback } from '../core/instance.ts';
import { ownEntry } from '../core/own.ts';
import { addToTimeline, transition, transitionMany } from '../files/lifecycle.ts';
import type { FileRow } from '../files/repo.ts';
import type { Acquired } from '../intake/scan-task.ts';
import { NOT_PROCESSED_REASON, type PlanOptions, planProcessing } from '../process/jobs.ts';
import { applicableSettings, type FileFacts } from '../process/settings.ts';
import { enqueueTask, enqueueTasks, Kind } from '../tasks/catalogue.ts';

/** Every outcome a stage reports. */
export type Outcome = Acquired | BackedUp | BackedUpMany;

/** Who the flow's own timeline entries name (as when the backup stage decided the next step). */
const ACTOR = 'backup';

export interface Flow {
  /** Records what follows `outcome`, in `tx` (the transaction of the stage's writes). */
  report(tx: Tx, outcome: Outcome): Promise<void>;
  /** `settledAtBackup` for this config (handed to the backup stage). */
  settledAtBackup(file: FileFacts): SettledAtBackup | undefined;
}

/** Where a file goes right after its `backed_up` transition, decided before it (`settledAtBackup`). */
export interface SettledAtBackup {
  to: 'done_not_processed';
  reason: string;
}

/**
 * Pure: the status a file of a batch goes to right after `backed_up`, when the flow's next step for
 * it is only that transition: `done_not_processed` when no processing settings apply (what
 * `onBackedUpMany` would do). Settings depend on the file's instrument, project and name, which
 * never change after it was recorded, so the decision made before the backup's transition is the
 * one the flow makes after it. The batch (backup/batch-task.ts) moves such files on in the same row
 * update, both events recorded (files/lifecycle.ts `transitionMany` `next`); the flow then leaves
 * their status alone.
 */
export function settledAtBackup(config: Config, file: FileFacts): SettledAtBackup | undefined {
  return applicableSettings(config, file).length === 0
    ? { to: 'done_not_processed', reason: NOT_PROCESSED_REASON }
    : undefined;
}

export function createFlow(config: Config): Flow {
  return {
    settledAtBackup: (file) => settledAtBackup(config, file),
    async report(tx, outcome) {
      switch (outcome.kind) {
        case 'acquired':
          return onAcquired(tx, config, outcome);
        case 'backed_up':
          return onBackedUp(tx, config, outcome);
        case 'backed_up_many':
          return onBackedUpMany(tx, config, outcome.files);
      }
    },
  };
}

/**
 * Acquired files are backed up on a worker with the instrument's tags: small ones in batches
 * (`backup.batch`), the others one `backup.copy` task each (backup/batch-plan.ts decides).
 */
async function onAcquired(tx: Tx, config: Config, o: Acquired): Promise<void> {
  await linkAcquired(tx, config.catalog, o.files); // raw data → samples by filename patterns (#22)
  const tags = ownEntry(config.instruments, o.instrument)?.tags;
  const plan = planBackups(o.files, o.sizes ?? [], config.pools.copy);
  await enqueueTasks(
    tx,
    Kind.backupCopy,
    plan.single.map((subject) => ({ subject, payload: {}, opts: { tags } })),
  );
  const instrument = o.instrument;
  const batches = plan.batches.map((files) => ({
    subject: instrument,
    payload: { instrument, files },
    opts: { tags },
  }));
  await enqueueTasks(tx, Kind.backupBatch, batches);
}

/** What follows a verified backup, decided: the steps `onBackedUp` takes, in order. */
export interface AfterBackup {
  /** `plan`: processing (or done_not_processed); `keep`: back to the status processing had ended in. */
  processing: 'plan' | 'keep';
  /** `enqueue`: a `cleanup.move` task; `refuse`: a fallback instance keeps the instrument's data. */
  move: 'enqueue' | 'refuse' | 'none';
}

/** Pure: the steps after a verified backup of `file`, from the config and the retry's `keepStatus`. */
export function afterBackup(
  config: Pick<Config, 'instruments' | 'instance'>,
  file: Pick<FileRow, 'instrument_id' | 'instrument_copy'>,
  keepStatus: BackedUp['keepStatus'],
): AfterBackup {
  const inst = ownEntry(config.instruments, file.instrument_id);
  const wantsMove = inst?.move_after_backup === true && file.instrument_copy === 'present';
  return {
    processing: keepStatus ? 'keep' : 'plan',
    move: !wantsMove ? 'none' : isFallback(config) ? 'refuse' : 'enqueue',
  };
}

/**
 * What follows a verified backup (`afterBackup`): the archive items its policies name, processing (or
 * done_not_processed), and the optional move. With `keepStatus` (a backup repaired after its
 * processing had finished) the file goes back to that status and is not processed again.
 */
export async function onBackedUp(
  tx: Tx,
  config: Config,
  o: { file: FileRow; keepStatus?: BackedUp['keepStatus']; acceptOverwrite?: boolean } & PlanOptions,
): Promise<void> {
  const { file } = o;
  const next = afterBackup(config, file, o.keepStatus);
  await archiveAfterBackup(tx, config, file);
  await copiesToTargets(tx, config, file, o.acceptOverwrite);
  if (next.processing === 'keep' && o.keepStatus) {
    await transition(tx, file.id, o.keepStatus, {
      actor: ACTOR,
      from: ['backed_up'],
      reason: `the backup is whole again; processing had finished before and is not run again (\`sluice files retry ${file.id}\` runs it)`,
    });
  } else {
    await planProcessing(tx, config, file, ACTOR, { outputExists: o.outputExists });
  }
  if (next.move === 'refuse') {
    await addToTimeline(
      tx,
      file.id,
      ACTOR,
      `not moved to the instrument's Backup folder: ${FALLBACK_KEEPS_DATA}`,
    );
  } else if (next.move === 'enqueue') {
    const tags = ownEntry(config.instruments, file.instrument_id)?.tags;
    await enqueueTask(tx, Kind.cleanupMove, file.id, {}, { tags });
  }
}

/**
 * One `backup.s3` task per S3 target and one `backup.fs_copy` per filesystem target (`backup.targets`), each in the target's own pool, made from
 * the verified filesystem copy. Run where the filesystem copy was made (the instrument's tags).
 * After an operator accepted overwriting a differing filesystem backup, the same holds for the
 * targets: an object in the way is kept aside and the new content copied (backup/s3/copy-task.ts).
 */
export async function copiesToTargets(
  tx: Tx,
  config: Config,
  file: Pick<FileRow, 'id' | 'instrument_id'>,
  acceptOverwrite = false,
): Promise<void> {
  const tags = ownEntry(config.instruments, file.instrument_id)?.tags;
  for (const t of config.backup.targets) {
    const payload = { target: t.name, ...(acceptOverwrite ? { acceptOverwrite } : {}) };
    const kind = t.type === 's3' ? Kind.backupS3 : Kind.backupFsCopy;
    await enqueueTask(tx, kind, file.id, payload, { tags, pool: targetPool(t) });
  }
}

/**
 * `onBackedUp` for the files of a batch of small files (backup/batch-task.ts; no retry options),
 * the same steps set-wise where they are the common case: the copies to the other targets and the
 * moves enqueued in one statement each, and the files no processing settings apply to moved to
 * `done_not_processed` in one (`transitionMany`: the same guard, reason and events as `transition`),
 * unless the batch moved them there already (`settledAtBackup`). Archive items (nothing without
 * policies) and processing jobs stay per file.
 */
export async function onBackedUpMany(tx: Tx, config: Config, files: readonly FileRow[]): Promise<void> {
  if (files.length === 0) return;
  for (const f of files) await archiveAfterBackup(tx, config, f);
  const tagsOf = (f: FileRow) => ownEntry(config.instruments, f.instrument_id)?.tags;
  for (const t of config.backup.targets) {
    const kind = t.type === 's3' ? Kind.backupS3 : Kind.backupFsCopy;
    const items = files.map((f) => ({
      subject: f.id,
      payload: { target: t.name },
      opts: { tags: tagsOf(f), pool: targetPool(t) },
    }));
    await enqueueTasks(tx, kind, items);
  }
  // no processing applies (`settledAtBackup`, one rule for both); those the batch moved on already
  // are plain without deciding again, and are left as they are
  const plain = new Set(
    files.filter((f) => f.status === 'done_not_processed' || settledAtBackup(config, f) !== undefined),
  );
  await transitionMany(
    tx,
    [...plain].filter((f) => f.status === 'backed_up').map((f) => f.id),
    'done_not_processed',
    { actor: ACTOR, from: ['backed_up'], reason: NOT_PROCESSED_REASON },
  );
  for (const f of files) if (!plain.has(f)) await planProcessing(tx, config, f, ACTOR);
  const moves: FileRow[] = [];
  for (const f of files) {
    const move = afterBackup(config, f, undefined).move;
    if (move === 'enqueue') moves.push(f);
    else if (move === 'refuse') {
      await addToTimeline(
        tx,
        f.id,
        ACTOR,
        `not moved to the instrument's Backup folder: ${FALLBACK_KEEPS_DATA}`,
      );
    }
  }
  await enqueueTasks(
    tx,
    Kind.cleanupMove,
    moves.map((f) => ({ subject: f.id, payload: {}, opts: { tags: tagsOf(f) } })),
  );
}
