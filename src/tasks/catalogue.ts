/**
 * The task catalogue: every kind of task Sluice runs, with its payload (a zod schema: the type is
 * inferred from it, checked when a task is enqueued and parsed when its handler reads it), its pool,
 * its attempts and its de-duplication key. The engine (src/engine/) is generic and knows no kind;
 * the domain enqueues and declares handlers only through this module:
 *
 * - `enqueueTask(tx, Kind.backupCopy, fileId, { acceptOverwrite: true }, { tags })` — typed by kind,
 *   in the caller's transaction (atomic with its writes); `enqueueTasks` for many of one kind in one
 *   statement (the scan's new acquisitions);
 * - `defineHandler(Kind.backupCopy, { run(ctx) { ctx.payload.acceptOverwrite … } })` — `ctx.payload`
 *   typed, `ctx.remember` takes only the kind's fields;
 * - `scheduleOf(Kind.intakeScan, { name, payload, intervalMs })` — periodic work of a kind.
 *
 * A kind's string is written here and nowhere else in src/ (test/task-kinds.test.ts checks it): use
 * `Kind.x`. To add a kind: a `Kind` entry, a `TASKS` entry (payload, pool, attempts, dedupe), then a
 * handler with `defineHandler` added to src/runtime/handlers.ts.
 */
import { z } from 'zod';
import type { Queryable } from '../core/db/db.ts';
import { PermanentError } from '../core/errors.ts';
import { OUTPUT_EXISTS_MODES } from '../core/variables.ts';
import { enqueue, enqueueMany } from '../engine/enqueue.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskContext, TaskHandlerDef } from '../engine/types.ts';
import { FILE_STATUSES } from '../files/lifecycle.ts';

/** The kinds, by a name code can use (`Kind.backupCopy`) instead of the string. */
export const Kind = {
  intakeScan: 'intake.scan',
  backupCopy: 'backup.copy',
  backupFixity: 'backup.fixity',
  backupS3: 'backup.s3',
  backupS3Upkeep: 'backup.s3_upkeep',
  cleanupMove: 'cleanup.move',
  cleanupRemove: 'cleanup.remove',
  processSubmit: 'process.submit',
  processPoll: 'process.poll',
  processCancel: 'process.cancel',
  opsAlerts: 'ops.alerts',
  dbBackup: 'db.backup',
  enginePrune: 'engine.prune',
  streamsCompute: 'streams.compute',
  streamsReaction: 'streams.reaction',
  streamsRerun: 'streams.rerun',
  archivePack: 'archive.pack',
  archivePass: 'archive.pass',
  archiveRetrieve: 'archive.retrieve',
  archiveRetrievalSweep: 'archive.retrieval_sweep',
  archiveFixity: 'archive.fixity',
  backupFsCopy: 'backup.fs_copy',
  backupFsUpkeep: 'backup.fs_upkeep',
  backupBatch: 'backup.batch',
  processRerun: 'process.rerun',
} as const;
export type TaskKind = (typeof Kind)[keyof typeof Kind];

/** Set by the engine on every task a schedule enqueues (engine/schedules.ts). */
const scheduled = { scheduledFor: z.string().optional() };

interface KindSpec {
  payload: z.ZodObject;
  /** Pool the task runs in (engine/pools.ts). */
  pool: string;
  /** Attempts before it fails for good (engine default: 10). */
  maxAttempts?: number;
  /** At most one queued or running task per key: a second enqueue is a no-op. */
  dedupe?: (subject: string, payload: Record<string, unknown>) => string;
}

export const TASKS = {
  /** One scan of an instrument's watch folder (intake/scan-task.ts); one schedule per instrument. */
  [Kind.intakeScan]: {
    payload: z.object({ instrument: z.string(), ...scheduled }),
    pool: 'scan',
  },
  /** The verified copy of one acquisition (subject: the file id; backup/backup-task.ts). */
  [Kind.backupCopy]: {
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
  [Kind.backupFixity]: { payload: z.object(scheduled), pool: 'fixity' },
  /**
   * The verified copy of one file to an S3 target (subject: the file id; backup/s3/copy-task.ts),
   * from its verified filesystem copy. Enqueued in the target's own pool (`copy.<target>`, passed
   * as `pool` when enqueued): a slow bucket never stalls the filesystem copies.
   */
  [Kind.backupS3]: {
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
  [Kind.backupS3Upkeep]: {
    payload: z.object({ target: z.string(), ...scheduled }),
    pool: 'default',
  },
  /** Moves a backed-up file into the instrument's Backup folder (subject: the file id; cleanup/move.ts). */
  [Kind.cleanupMove]: {
    payload: z.object({
      /** Remembered: the suffix chosen for the whole set before the first rename. */
      suffix: z.string().optional(),
    }),
    pool: 'cleanup',
    dedupe: (file) => `move:${file}`,
  },
  /** A remover pass over one instrument (cleanup/remove.ts); one schedule per instrument. */
  [Kind.cleanupRemove]: {
    payload: z.object({ instrument: z.string(), ...scheduled }),
    pool: 'cleanup',
  },
  /** Submits one processing job (subject: the job row id; process/tasks.ts). */
  [Kind.processSubmit]: {
    payload: z.object({
      outputExists: z.enum(OUTPUT_EXISTS_MODES).optional(),
      /** Remembered: the output folder a launch was started in. */
      launching: z.string().optional(),
      /** Set while it waits for a free cluster slot (not a retry's backoff): a freed slot wakes it. */
      waitingFor: z.enum(['cluster-slot']).nullable().optional(),
    }),
    pool: 'cluster',
    maxAttempts: 8,
    dedupe: (job) => `submit:${job}`,
  },
  /**
   * One poll round over the running jobs (process/tasks.ts); one schedule, plus one asked for when
   * a local job's process exits (process/submit.ts `pollSoon`; at most one queued or running).
   */
  [Kind.processPoll]: { payload: z.object(scheduled), pool: 'default', dedupe: (why) => `poll:${why}` },
  /** Cancels one submitted job on its executor (subject: the job row id). */
  [Kind.processCancel]: {
    payload: z.object({}),
    pool: 'default',
    dedupe: (job) => `cancel:${job}`,
  },
  /** One alerts pass (ops/alerts/run.ts). */
  [Kind.opsAlerts]: { payload: z.object(scheduled), pool: 'default' },
  /** One run of a database backup strategy (ops/db-backup/strategy.ts). */
  [Kind.dbBackup]: {
    payload: z.object({ strategy: z.string().optional(), ...scheduled }),
    pool: 'default',
  },
  /** Deletes finished tasks and long-stopped workers (runtime/handlers.ts). */
  [Kind.enginePrune]: { payload: z.object(scheduled), pool: 'default' },
  /**
   * A compute unit on one stream item that failed when the item was stored, retried with backoff
   * (subject: `ITEM/UNIT`; streams/compute-task.ts).
   */
  [Kind.streamsCompute]: {
    payload: z.object({ item: z.string(), unit: z.string() }),
    pool: 'default',
    maxAttempts: 8,
    dedupe: (itemUnit) => `compute:${itemUnit}`,
  },
  /** One run of a scheduled reaction (streams/reaction-task.ts); one schedule per reaction. */
  [Kind.streamsReaction]: {
    payload: z.object({ reaction: z.string(), ...scheduled }),
    pool: 'default',
    maxAttempts: 5,
  },
  /** A compute unit's re-run over past items, a batch per step (subject: the re-run id; streams/reruns.ts). */
  [Kind.streamsRerun]: {
    payload: z.object({}),
    pool: 'default',
    maxAttempts: 8,
    dedupe: (rerun) => `rerun:${rerun}`,
  },
  /**
   * Packs, writes and verifies the archives of one archive target, one after the other (subject:
   * the target's name; archive/pack-task.ts). One per target at a time; an archive left unfinished
   * by a killed attempt is taken up again first.
   */
  [Kind.archivePack]: {
    payload: z.object({
      /** Remembered: the archive being written and the multipart upload started for it (s3). */
      archiveId: z.string().optional(),
      uploads: z.array(z.object({ bucket: z.string(), key: z.string(), uploadId: z.string() })).optional(),
    }),
    pool: 'archive.write',
    maxAttempts: 20,
    dedupe: (target) => `archive:${target}`,
  },
  /** The archive policy pass (archive/pass.ts): files due after processing or N days; pack tasks. */
  [Kind.archivePass]: { payload: z.object(scheduled), pool: 'default' },
  /**
   * One fetch of an archive into the retrieval area (subject: the fetch id; archive/retrieve-task.ts):
   * restore a cold object (polling with `again`), download, extract, verify every member. One task
   * per fetch however many requests it serves.
   */
  [Kind.archiveRetrieve]: {
    payload: z.object({
      /** Restore polls so far (the wait between them grows). */
      polls: z.number().optional(),
      /** Since when (ms since the epoch) the download waits for room in the retrieval area. */
      space_since: z.number().optional(),
    }),
    pool: 'archive.read',
    maxAttempts: 5,
    dedupe: (fetch) => `retrieve:${fetch}`,
  },
  /** Removes retrieved copies past their expiry (archive/retrieve-sweep.ts; scheduled). */
  [Kind.archiveRetrievalSweep]: { payload: z.object(scheduled), pool: 'default' },
  /** A fixity run over archived sets: re-reads the archives due (archive/fixity.ts; scheduled). */
  [Kind.archiveFixity]: { payload: z.object(scheduled), pool: 'archive.read' },
  /**
   * The verified copy of one file to a filesystem target of `backup.targets` (subject: the file id;
   * backup/fs-target/copy-task.ts), from its verified primary copy, in the target's own pool.
   */
  [Kind.backupFsCopy]: {
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
  [Kind.backupFsUpkeep]: {
    payload: z.object({ target: z.string(), ...scheduled }),
    pool: 'default',
  },
  /**
   * The verified copies of several small files of one instrument, recorded in one transaction
   * (subject: the instrument; backup/batch-task.ts). A file the batch cannot finish is handed to a
   * `backup.copy` task of its own.
   */
  [Kind.backupBatch]: {
    payload: z.object({ instrument: z.string(), files: z.array(z.string()).min(1) }),
    pool: 'copy',
    maxAttempts: 12,
  },
  /**
   * Processing settings run again over past files, a batch of jobs per step (subject: the re-run id;
   * process/reruns.ts). The jobs themselves go through `process.submit` in the cluster pool.
   */
  [Kind.processRerun]: {
    payload: z.object({}),
    pool: 'default',
    maxAttempts: 8,
    dedupe: (rerun) => `process-rerun:${rerun}`,
  },
} as const satisfies Record<TaskKind, KindSpec>;

/** What a handler of `K` reads. */
export type Payload<K extends TaskKind> = z.output<(typeof TASKS)[K]['payload']>;
/** What an enqueue of `K` gives (optional fields may be left out). */
export type PayloadInput<K extends TaskKind> = z.input<(typeof TASKS)[K]['payload']>;

export interface EnqueueOptions {
  /** The task runs only on a worker with all of these tags (e.g. the instrument's). */
  tags?: string[];
  runAfter?: Date;
  priority?: number;
  /** Another pool than the kind's (a backup target's own pool, `copy.<target>`). */
  pool?: string;
}

function specOf<K extends TaskKind>(
  kind: K,
  subject: string,
  payload: PayloadInput<K>,
  opts: EnqueueOptions,
) {
  const def: KindSpec = TASKS[kind];
  const parsed = def.payload.parse(payload) as Record<string, unknown>;
  return {
    kind,
    subject,
    payload: parsed,
    pool: opts.pool ?? def.pool,
    tags: opts.tags,
    priority: opts.priority,
    runAfter: opts.runAfter,
    maxAttempts: def.maxAttempts,
    dedupeKey: def.dedupe?.(subject, parsed),
  };
}

/**
 * Adds a task of `kind` about `subject`. Returns its id, or `undefined` when the kind's
 * de-duplication key is queued or running already. Call it in the transaction of the writes it
 * belongs to.
 */
export async function enqueueTask<K extends TaskKind>(
  q: Queryable,
  kind: K,
  subject: string,
  payload: PayloadInput<K>,
  opts: EnqueueOptions = {},
): Promise<string | undefined> {
  return enqueue(q, specOf(kind, subject, payload, opts));
}

/** Many tasks of one kind in one statement, with the same de-duplication; returns how many were added. */
export async function enqueueTasks<K extends TaskKind>(
  q: Queryable,
  kind: K,
  items: { subject: string; payload: PayloadInput<K>; opts?: EnqueueOptions }[],
): Promise<number> {
  return enqueueMany(
    q,
    items.map((i) => specOf(kind, i.subject, i.payload, i.opts ?? {})),
  );
}

/** A handler's context: the task's payload parsed by its kind's schema. */
export interface KindContext<K extends TaskKind> extends Omit<TaskContext, 'remember' | 'again'> {
  payload: Payload<K>;
  /** Puts the task back to run again after `delayMs`, uncounted (see TaskContext.again); `payload` replaces it. */
  again(delayMs: number, fn?: Parameters<TaskContext['again']>[1], payload?: Payload<K>): Promise<void>;
  /** Merges `patch` into the payload for later attempts (see TaskContext.remember). */
  remember(patch: Partial<Payload<K>>, tx?: Parameters<TaskContext['remember']>[1]): Promise<void>;
}

export interface KindHandler<K extends TaskKind> extends Omit<TaskHandlerDef, 'kind' | 'run'> {
  run(ctx: KindContext<K>): Promise<void>;
}

/** The payload of a task of `kind` as stored, parsed; a payload that does not fit fails for good. */
export function parsePayload<K extends TaskKind>(kind: K, raw: unknown): Payload<K> {
  const r = (TASKS[kind].payload as z.ZodObject).safeParse(raw ?? {});
  if (!r.success) {
    throw new PermanentError(
      'task.bad_payload',
      `task ${kind} has a payload that does not fit its kind: ${z.prettifyError(r.error)}`,
      'the task was enqueued by another version of Sluice or by hand; enqueue it again',
    );
  }
  return r.data as Payload<K>;
}

/** The engine's handler of `kind`, with `ctx.payload` parsed and typed. */
export function defineHandler<K extends TaskKind>(kind: K, def: KindHandler<K>): TaskHandlerDef {
  return {
    ...def,
    kind,
    run: (ctx) => {
      const payload = parsePayload(kind, ctx.task.payload);
      return def.run({
        ...ctx,
        payload,
        // kept in step with the stored payload, as the engine keeps `ctx.task.payload`
        remember: async (patch, tx) => {
          await ctx.remember(patch, tx);
          Object.assign(payload, patch);
        },
      });
    },
  };
}

/** Periodic work of `kind`: the engine enqueues it when due (engine/schedules.ts), in the kind's pool. */
export function scheduleOf<K extends TaskKind>(
  kind: K,
  s: Omit<ScheduleSpec, 'kind' | 'pool' | 'payload'> & { payload?: PayloadInput<K> },
): ScheduleSpec {
  const payload = s.payload === undefined ? undefined : (TASKS[kind].payload as z.ZodObject).parse(s.payload);
  return { ...s, kind, pool: TASKS[kind].pool, payload };
}

/** Is `kind` one the catalogue knows (a task read back from the table)? */
export function isTaskKind(kind: string): kind is TaskKind {
  return Object.hasOwn(TASKS, kind);
}
