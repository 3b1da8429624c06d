/**
 * Task kinds of one stage: Intake, backup (filesystem, S3 and filesystem targets, batches, fixity) and cleanup. Their names and specs (payload, pool, attempts,
 * de-duplication); src/tasks/catalogue.ts joins every stage's into `Kind` and `TASKS`. A new kind of
 * this stage goes here (a name and a spec), then a handler in src/runtime/handlers.ts.
 */

import { z } from 'zod';
import { OUTPUT_EXISTS_MODES } from '../../core/variables.ts';
import { FILE_STATUSES } from '../../files/lifecycle.ts';
import { type KindSpec, scheduled } from './spec.ts';

export const BackupKind = {
  intakeScan: 'intake.scan',
  backupCopy: 'backup.copy',
  backupFixity: 'backup.fixity',
  backupS3: 'backup.s3',
  backupS3Upkeep: 'backup.s3_upkeep',
  backupFsCopy: 'backup.fs_copy',
  backupFsUpkeep: 'backup.fs_upkeep',
  backupBatch: 'backup.batch',
  cleanupMove: 'cleanup.move',
  cleanupRemove: 'cleanup.remove',
} as const;
const K = BackupKind;

export const BACKUP_TASKS = {
  /** One scan of an instrument's watch folder (intake/scan-task.ts); one schedule per instrument. */
  [K.intakeScan]: {
    payload: z.object({ instrument: z.string(), ...scheduled }),
    pool: 'scan',
  },
  /** The verified copy of one acquisition (subject: the file id; backup/backup-task.ts). */
  [K.backupCopy]: {
    payload: z.object({
      /** The operator accepted overwriting a differing backup (or it is a damaged one: `replacing`). */
      acceptOverwrite: z.boolean().optional(),
      /** Why the backup in place is overwritten: the remover found it corrupt. */
      replacing: z.literal('corrupt').optional(),
      /** Remembered: the backup in place was moved aside already (by an earlier attempt). */
      movedAside: z.boolean().optional(),
      /** A repaired backup after processing had finished: the file goes back to this status. */
      keepStatus: z.enum(FILE_STATUSES).optional(),
      /** Overrides `output_exists_mode` for the jobs planned after this backup (a retry's option). */
      outputExists: z.enum(OUTPUT_EXISTS_MODES).optional(),
      /** How many times the backup target was found unusable in a row (backoff of the recheck). */
      targetWaits: z.number().optional(),
    }),
    pool: 'copy',
    maxAttempts: 12,
    dedupe: (file) => `backup:${file}`,
  },
  /** A fixity run: re-reads its share of the verified copies (backup/fixity.ts). */
  [K.backupFixity]: { payload: z.object(scheduled), pool: 'fixity' },
  /**
   * The verified copy of one file to an S3 target (subject: the file id; backup/s3/copy-task.ts),
   * from its verified filesystem copy. Enqueued in the target's own pool (`copy.<target>`, passed
   * as `pool` when enqueued): a slow bucket never stalls the filesystem copies.
   */
  [K.backupS3]: {
    payload: z.object({
      target: z.string(),
      /** Remembered: multipart uploads started by an attempt, aborted by the next (a killed one's). */
      uploads: z.array(z.object({ bucket: z.string(), key: z.string(), uploadId: z.string() })).optional(),
      /** After an accepted overwrite of the filesystem backup: objects that differ are kept aside, not refused. */
      acceptOverwrite: z.boolean().optional(),
    }),
    pool: 'copy',
    maxAttempts: 20,
    dedupe: (file, p) => `s3:${String(p.target)}:${file}`,
  },
  /**
   * Upkeep of one S3 target (backup/s3/upkeep.ts; one schedule per target): copies of files that
   * have none on it yet (a target added to a running site, copies that failed for good) are
   * enqueued a batch at a time, and multipart uploads left behind are aborted.
   */
  [K.backupS3Upkeep]: {
    payload: z.object({ target: z.string(), ...scheduled }),
    pool: 'default',
  },
  /**
   * The verified copy of one file to a filesystem target of `backup.targets` (subject: the file id;
   * backup/fs-target/copy-task.ts), from its verified primary copy, in the target's own pool.
   */
  [K.backupFsCopy]: {
    payload: z.object({
      target: z.string(),
      /** After an accepted overwrite of the primary backup: a differing copy there is moved aside. */
      acceptOverwrite: z.boolean().optional(),
      /** Remembered: the differing copy was moved aside already. */
      movedAside: z.boolean().optional(),
      /** Remembered: waits for the target (unmounted, marker missing) so far; not attempts. */
      targetWaits: z.number().optional(),
    }),
    pool: 'copy',
    maxAttempts: 20,
    dedupe: (file, p) => `fs:${String(p.target)}:${file}`,
  },
  /** Catch-up of one filesystem target (backup/fs-target/upkeep.ts; one schedule per target). */
  [K.backupFsUpkeep]: {
    payload: z.object({ target: z.string(), ...scheduled }),
    pool: 'default',
  },
  /**
   * The verified copies of several small files of one instrument, recorded in one transaction
   * (subject: the instrument; backup/batch-task.ts). A file the batch cannot finish is handed to a
   * `backup.copy` task of its own.
   */
  [K.backupBatch]: {
    payload: z.object({ instrument: z.string(), files: z.array(z.string()).min(1) }),
    pool: 'copy',
    maxAttempts: 12,
  },
  /** Moves a backed-up file into the instrument's Backup folder (subject: the file id; cleanup/move.ts). */
  [K.cleanupMove]: {
    payload: z.object({
      /** Remembered: the suffix chosen for the whole set before the first rename. */
      suffix: z.string().optional(),
    }),
    pool: 'cleanup',
    dedupe: (file) => `move:${file}`,
  },
  /** A remover pass over one instrument (cleanup/remove.ts); one schedule per instrument. */
  [K.cleanupRemove]: {
    payload: z.object({ instrument: z.string(), ...scheduled }),
    pool: 'cleanup',
  },
} as const satisfies Record<(typeof K)[keyof typeof K], KindSpec>;
