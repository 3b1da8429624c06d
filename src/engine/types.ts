/**
 * The engine: leased tasks on PostgreSQL.
 *
 * Glossary
 * - **task**: one row in `tasks`, a unit of work of some `kind` about a `subject` (e.g. a file id).
 * - **worker**: a Sluice process that claims and runs tasks of the kinds it has handlers for.
 * - **lease**: a claimed task belongs to one worker until `lease_expires_at`; the worker extends it
 *   by heartbeats. A lease that expires (worker killed, hung, cut off) lets another worker take
 *   the task over: that is the whole crash-recovery story, with no manual step.
 * - **fencing token**: bumped on every claim. Completing or failing a task requires the token the
 *   worker claimed with, so a stale worker can never overwrite newer state.
 * - **pool**: a named limit on concurrently running tasks across all processes and machines. Size
 *   0 drains it: running work finishes, nothing new starts.
 * - **tags**: a task runs only on a worker that has all of its tags (e.g. `instrument:astral1`
 *   for work that needs that instrument's mount).
 * - **schedule**: periodic work (interval or cron); any worker enqueues it when due, once per period.
 *
 * Task states
 *   queued ──claim──▶ running ──complete──▶ succeeded
 *     ▲                 │  │  └──permanent error / attempts exhausted──▶ failed
 *     └─retry(backoff)──┘  └──lease expired: another worker claims it (token+1)
 *   queued|running ──cancel──▶ cancelled
 */
import type { Db, Tx } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';

export type TaskState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface TaskRow {
  id: string;
  kind: string;
  subject: string | null;
  payload: Record<string, unknown>;
  pool: string;
  tags: string[];
  state: TaskState;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  token: string;
  dedupe_key: string | null;
  last_error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  /** Set when this claim took the task over from a cut-short attempt (migration 0015). */
  taken_over?: TakenOver | null;
  /**
   * Set while running when an enqueue with its de-duplication key asked for one more run: the
   * payload that run gets; `rerun_after`, the earliest time asked for (migration 0040).
   */
  rerun_payload?: Record<string, unknown> | null;
  rerun_after?: Date | null;
}

/** The attempt a takeover cut short, as the claim recorded it (trigger `sluice_task_takeover`). */
export interface TakenOver {
  attempt: number;
  worker: string;
  by: string;
  /** worker_died: found dead (its process is gone); no_heartbeat: it went silent; lease_expired: else. */
  cause: 'worker_died' | 'no_heartbeat' | 'lease_expired';
  death: string | null;
  lease_expired_at: string | null;
  last_heartbeat_at: string | null;
}

/** "attempt 2 on w1 was cut short (its worker died: …); taken over by w2". */
export function describeTakeover(t: TakenOver): string {
  const why =
    t.cause === 'worker_died'
      ? `its worker died${t.death ? `: ${t.death}` : ''}`
      : t.cause === 'no_heartbeat'
        ? `its worker stopped sending heartbeats${t.last_heartbeat_at ? ` after ${t.last_heartbeat_at}` : ''} (died, hung or cut off from the database); the lease expired`
        : `its lease expired${t.lease_expired_at ? ` at ${t.lease_expired_at}` : ''}`;
  return `attempt ${t.attempt} on ${t.worker} was cut short (${why}); taken over by ${t.by}`;
}

export interface TaskSpec {
  kind: string;
  subject?: string;
  payload?: Record<string, unknown>;
  pool?: string;
  tags?: string[];
  priority?: number;
  maxAttempts?: number;
  runAfter?: Date;
  /**
   * At most one queued or running task per key: a second enqueue while it is queued adds nothing;
   * while it runs, it asks that task to run once more after it completes (migration 0040), unless
   * `whileRunning` is 'skip' (periodic schedules: the next period comes anyway).
   */
  dedupeKey?: string;
  whileRunning?: 'rerun' | 'skip';
}

export interface TaskContext {
  task: TaskRow;
  /** Aborted when the lease is lost or the worker shuts down past its grace period. */
  signal: AbortSignal;
  log: Logger;
  db: Db;
  /**
   * Finish the task in the same transaction as the domain writes `fn` makes. Throws
   * `LeaseLostError` (and rolls `fn` back) when another worker owns the task now.
   */
  complete(fn?: (tx: Tx) => Promise<void>): Promise<void>;
  /**
   * Put the task back in the queue to run again after `delayMs`, without counting an attempt
   * (polling: "not finished yet, look again later"). Optional domain writes in the same transaction.
   */
  again(delayMs: number, fn?: (tx: Tx) => Promise<void>, payload?: Record<string, unknown>): Promise<void>;
  /**
   * Merge `patch` into the task's payload, so that a later attempt of this task sees it (a choice
   * made before a step that must not be made differently on a retry). In `tx` when given (with the
   * domain writes it belongs to). Throws `LeaseLostError` when another worker owns the task now.
   */
  remember(patch: Record<string, unknown>, tx?: Tx): Promise<void>;
  /**
   * The task made progress (bytes copied, a folder listed); `doing` says what it does now, for the
   * message when it stalls ("reading /share/x.raw"). Only kinds with `stallMs` are watched (stall.ts).
   */
  progress(doing?: string): void;
}

export interface TaskHandlerDef {
  kind: string;
  run(ctx: TaskContext): Promise<void>;
  /**
   * Called in the same transaction that marks the task `failed` for good (permanent error, or
   * attempts exhausted): the domain records the outcome (e.g. the file ends in `error`).
   */
  onFailed?(tx: Tx, task: TaskRow, error: unknown): Promise<void>;
  /**
   * Called in the transaction that puts a failed attempt back in the queue (a retry will follow),
   * so the domain can show the error while the task waits (e.g. "backup target full; retrying").
   */
  onRetry?(tx: Tx, task: TaskRow, error: unknown, retryInMs: number): Promise<void>;
  /**
   * Called as an attempt that took the task over from a cut-short one starts, in a transaction
   * fenced by its token, so the domain can note it where people look (e.g. the file's timeline).
   */
  onTakenOver?(tx: Tx, task: TaskRow, cut: TakenOver): Promise<void>;
  /** Lease length for this kind (default: the worker's). */
  leaseMs?: number;
  /**
   * Stall watchdog (stall.ts): with no `ctx.progress()` for this long (from the start or the last
   * call), the attempt is given up (`task.stalled`) and retried after a backoff, without counting an
   * attempt. Absent: never (for kinds that do not touch shares).
   */
  stallMs?: number;
}
