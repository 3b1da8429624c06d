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
 * A kind's string is written in its stage's file of src/tasks/kinds/ and nowhere else in src/
 * (test/task-kinds.test.ts checks it): use `Kind.x`. To add a kind: a name and a spec (payload, pool,
 * attempts, dedupe) in its stage's file (a new stage: a new file, spread into `Kind` and `TASKS`
 * here), then a handler with `defineHandler` added to src/runtime/handlers.ts. One file per stage
 * keeps parallel work from editing one long object literal.
 */
import { z } from 'zod';
import type { Queryable } from '../core/db/db.ts';
import { PermanentError } from '../core/errors.ts';
import { enqueue, enqueueMany } from '../engine/enqueue.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskContext, TaskHandlerDef } from '../engine/types.ts';
import { ARCHIVE_TASKS, ArchiveKind } from './kinds/archive.ts';
import { BACKUP_TASKS, BackupKind } from './kinds/backup.ts';
import { CATALOG_TASKS, CatalogKind } from './kinds/catalog.ts';
import { OPS_TASKS, OpsKind } from './kinds/ops.ts';
import { PROCESS_TASKS, ProcessKind } from './kinds/process.ts';
import type { KindSpec } from './kinds/spec.ts';

/** The kinds, by a name code can use (`Kind.backupCopy`) instead of the string; per stage in kinds/. */
export const Kind = {
  ...BackupKind,
  ...ProcessKind,
  ...ArchiveKind,
  ...OpsKind,
  ...CatalogKind,
} as const;
export type TaskKind = (typeof Kind)[keyof typeof Kind];

export const TASKS = {
  ...BACKUP_TASKS,
  ...PROCESS_TASKS,
  ...ARCHIVE_TASKS,
  ...OPS_TASKS,
  ...CATALOG_TASKS,
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
