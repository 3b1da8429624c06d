/**
 * The writes a worker makes to the tasks it claimed (worker.ts), each fenced by the token it claimed
 * with: a write that finds the row no longer `running` under that token (taken over, cancelled)
 * changes nothing, and where the caller must know, throws LeaseLostError. Also the leases: extended
 * together per heartbeat, released together on shutdown, and completions without domain writes
 * batched into one statement, which also claims the tasks that take their places (claim.ts).
 * Also what a failed attempt becomes (failed for good, or again after backoff).
 * A completion of a task that an enqueue asked to run once more (its de-duplication key matched while
 * it ran) queues it again instead: the database does that in the same update (migration 0040), so
 * every completion here may leave the row `queued`, never `running`. A retry, `again`, a stall or a
 * release drops the mark (the trigger): the task is queued anyway and runs after the enqueuer
 * committed, as if the enqueue had found it queued; its own payload and delay stand.
 */
import type { Db, Queryable, Tx } from '../core/db/db.ts';
import { errorMessage, LeaseLostError, PermanentError, type SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { backoffMs } from './backoff.ts';
import { type ClaimRequest, claimTasks, finishAndClaim } from './claim.ts';
import { stallRetryMs } from './stall.ts';
import type { TakenOver, TaskHandlerDef, TaskRow } from './types.ts';

/** Run a fenced update: exactly one row, else the lease was lost. */
async function fence(q: Queryable, task: TaskRow, sql: string, params: unknown[]): Promise<void> {
  const n = await q.exec(sql, params);
  if (n !== 1) throw new LeaseLostError(task.id);
}

/**
 * Succeeded, together with the handler's domain writes `fn` in the same transaction. With `claim`,
 * the same transaction then claims the tasks that take this one's place (claim.ts): its slot is
 * refilled by the commit that frees it, not by a claim of its own (a round trip and a commit later,
 * while the slot stands empty). Returns the tasks claimed; a rollback claims nothing.
 */
export async function completeTask(
  db: Db,
  task: TaskRow,
  fn?: (tx: Tx) => Promise<void>,
  claim?: ClaimRequest,
): Promise<TaskRow[]> {
  return db.tx(async (tx) => {
    await fence(
      tx,
      task,
      `update tasks set state = 'succeeded', finished_at = now(), lease_owner = null, lease_expires_at = null, last_error = null
       where id = $1 and token = $2 and state = 'running'`,
      [task.id, task.token],
    );
    await fn?.(tx);
    return claim ? claimTasks(tx, claim) : [];
  });
}

/** Back to the queue after `delayMs`, this attempt not counted, optionally with a new payload. */
export async function runTaskAgain(
  db: Db,
  task: TaskRow,
  delayMs: number,
  fn?: (tx: Tx) => Promise<void>,
  payload?: Record<string, unknown>,
): Promise<void> {
  await db.tx(async (tx) => {
    await fence(
      tx,
      task,
      `update tasks set state = 'queued', run_after = now() + $3 * interval '1 millisecond', attempts = attempts - 1,
         lease_owner = null, lease_expires_at = null, payload = coalesce($4::jsonb, payload)
       where id = $1 and token = $2 and state = 'running'`,
      [task.id, task.token, delayMs, payload ? JSON.stringify(payload) : null],
    );
    await fn?.(tx);
  });
}

/** Merge `patch` into the running task's payload (in `q`'s transaction when given one). */
export async function rememberInPayload(
  q: Queryable,
  task: TaskRow,
  patch: Record<string, unknown>,
): Promise<void> {
  await fence(
    q,
    task,
    `update tasks set payload = payload || $3::jsonb where id = $1 and token = $2 and state = 'running'`,
    [task.id, task.token, JSON.stringify(patch)],
  );
}

/**
 * A failed attempt: `failed` when `final`, else queued again after `delayMs` (with `freshBudget`,
 * its attempts start over); the handler's `onFailed` / `onRetry` in the same transaction. Nothing
 * when the task was taken over meanwhile (the new owner decides).
 */
export async function recordFailure(
  db: Db,
  def: TaskHandlerDef,
  task: TaskRow,
  err: unknown,
  f: { final: boolean; message: string; delayMs: number; freshBudget: boolean },
): Promise<void> {
  await db.tx(async (tx) => {
    const n = await tx.exec(
      `update tasks set state = $3, last_error = $4, lease_owner = null, lease_expires_at = null,
         run_after = now() + $5 * interval '1 millisecond', finished_at = case when $3 = 'failed' then now() end,
         attempts = case when $6 then 0 else attempts end
       where id = $1 and token = $2 and state = 'running'`,
      [task.id, task.token, f.final ? 'failed' : 'queued', f.message, f.delayMs, f.freshBudget],
    );
    if (n !== 1) return; // taken over meanwhile: the new owner decides
    if (f.final) await def.onFailed?.(tx, task, err);
    else await def.onRetry?.(tx, task, err, f.delayMs);
  });
}

/**
 * A failed attempt, decided and recorded: `final` (given, else: a PermanentError, or the last
 * attempt) or again after backoff (`backoffBaseMs`); logged either way.
 */
export async function failAttempt(
  db: Db,
  def: TaskHandlerDef,
  task: TaskRow,
  err: unknown,
  log: Logger,
  backoffBaseMs: number,
  opts: { final?: boolean; freshBudget?: boolean } = {},
): Promise<void> {
  const permanent = err instanceof PermanentError;
  const final = opts.final ?? (permanent || task.attempts >= task.max_attempts);
  const message = errorMessage(err);
  const delay = final ? 0 : backoffMs(task.attempts, backoffBaseMs);
  await recordFailure(db, def, task, err, {
    final,
    message,
    delayMs: delay,
    freshBudget: opts.freshBudget === true,
  });
  if (final) log.error({ err: message, attempts: task.attempts, permanent }, 'task failed');
  else log.warn({ err: message, attempts: task.attempts }, 'task failed; will retry');
}

/**
 * A task started more often than max_attempts whose last attempt did not even fail: it was cut
 * short (worker killed, hung, or cut off from the database; a PostgreSQL restart longer than a lease
 * cuts every running attempt). That says nothing against the work itself, and a final 'failed'
 * would wait for an operator: run it again after a growing pause (backoff, at most 10 minutes) with
 * a fresh budget of attempts (else every later start would land here again and the work would never
 * run), and say why. A task that kills its worker every time costs max_attempts restarts per pause,
 * not a crash loop, and stays visible (last_error, stuck-file alert).
 */
export async function retryCutShort(
  db: Db,
  def: TaskHandlerDef,
  task: TaskRow,
  log: Logger,
  backoffBaseMs: number,
): Promise<void> {
  const err = new Error(
    `task ${task.kind} for ${task.subject ?? '-'} was started ${task.attempts - 1} times without finishing (its worker died, hung or lost the database each time); trying again after a pause`,
  );
  await failAttempt(db, def, task, err, log, backoffBaseMs, { final: false, freshBudget: true });
}

/**
 * Back to the queue after a stall, without counting the attempt, the backoff growing with the
 * task's stalls (payload `stalls`, stall.ts); with `note`, the handler's `onRetry` says why in the
 * same transaction.
 */
export async function requeueStalled(
  db: Db,
  def: TaskHandlerDef,
  task: TaskRow,
  err: SluiceError,
  s: { log: Logger; backoffBaseMs: number; note: boolean },
): Promise<void> {
  const stalls = Number(task.payload.stalls ?? 0) + 1;
  const delayMs = stallRetryMs(stalls, s.backoffBaseMs);
  await db.tx(async (tx) => {
    const n = await tx.exec(
      `update tasks set state = 'queued', last_error = $3, lease_owner = null, lease_expires_at = null,
         attempts = greatest(0, attempts - 1), run_after = now() + $4 * interval '1 millisecond',
         payload = payload || jsonb_build_object('stalls', $5::int)
       where id = $1 and token = $2 and state = 'running'`,
      [task.id, task.token, err.message, delayMs, stalls],
    );
    if (n !== 1) return; // finished or taken over meanwhile
    if (s.note) await def.onRetry?.(tx, task, err, delayMs);
  });
  s.log.warn({ stalls, retryInMs: delayMs }, 'stalled task requeued');
}

/** The handler's `onTakenOver` for a task taken over from a cut-short attempt, under its row lock. */
export async function noteTakenOver(
  db: Db,
  task: TaskRow,
  cut: TakenOver,
  onTakenOver: NonNullable<TaskHandlerDef['onTakenOver']>,
): Promise<void> {
  await db.tx(async (tx) => {
    const n = await tx.exec(
      `select 1 from tasks where id = $1 and token = $2 and state = 'running' for update`,
      [task.id, task.token],
    );
    if (n !== 1) throw new LeaseLostError(task.id);
    await onTakenOver(tx, task, cut);
  });
}

/** Extend the leases of `tasks` by `leaseMs`; returns the ids whose lease was extended. */
export async function extendLeases(db: Db, running: TaskRow[], leaseMs: number): Promise<Set<string>> {
  const tasks = byId(running);
  const kept = await db.query<{ id: string }>(
    `update tasks t set lease_expires_at = now() + $3 * interval '1 millisecond'
     from unnest($1::bigint[], $2::bigint[]) as x(id, token)
     where t.id = x.id and t.token = x.token and t.state = 'running'
     returning t.id`,
    [tasks.map((t) => t.id), tasks.map((t) => t.token), leaseMs],
  );
  return new Set(kept.map((k) => k.id));
}

/** Give `tasks` back to the queue at once (shutdown), the attempts not counted. */
export async function releaseLeases(db: Db, running: TaskRow[]): Promise<void> {
  const tasks = byId(running);
  await db.exec(
    `update tasks t set state = 'queued', lease_owner = null, lease_expires_at = null, attempts = greatest(0, attempts - 1), run_after = now()
     from unnest($1::bigint[], $2::bigint[]) as x(id, token)
     where t.id = x.id and t.token = x.token and t.state = 'running'`,
    [tasks.map((t) => t.id), tasks.map((t) => t.token)],
  );
}

/**
 * Refilling the slots a batch of completions frees (worker.ts): `request` says, just before the
 * batch goes out, what to claim with it (undefined: nothing, e.g. stopping); `claimed` gets the
 * tasks claimed (none when the statement failed) and the request back, so the worker can release
 * what it set aside for it.
 */
export interface Refill {
  request(finishing: number): ClaimRequest | undefined;
  claimed(req: ClaimRequest, tasks: TaskRow[]): void;
}

/**
 * Completions without domain writes are batched: every completion requested in the same tick
 * goes out in one statement (one commit instead of one each, which is what limits throughput
 * with durable commits). The token check is the same; a task missing from the result lost its
 * lease and its caller gets LeaseLostError. With a `refill`, the same statement claims the tasks
 * that take the finished ones' places (claim.ts). Only completions marked `last` (the handler has
 * returned) count towards the refill: a handler that completes early may still be running.
 */
export class CompletionBatcher {
  private pending: { task: TaskRow; last: boolean; resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(
    private readonly db: Db,
    private readonly refill?: Refill,
  ) {}

  complete(task: TaskRow, last = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ task, last, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const tasks = byId(batch.map((b) => b.task));
    const req = this.refill?.request(batch.filter((b) => b.last).length);
    let claimed: TaskRow[] = [];
    try {
      let ok: Set<string> | undefined;
      for (let attempt = 1; !ok; attempt++) {
        try {
          if (req) ({ done: ok, claimed } = await finishAndClaim(this.db, tasks, req));
          else ok = await completeMany(this.db, tasks);
        } catch (err) {
          if (!isDeadlock(err) || attempt >= DEADLOCK_RETRIES) throw err;
        }
      }
      for (const b of batch) {
        if (ok.has(b.task.id)) b.resolve();
        else b.reject(new LeaseLostError(b.task.id));
      }
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      if (req) this.refill!.claimed(req, claimed);
    }
  }
}

/**
 * Statements that update several tasks get them in id order, the order in which an enqueue marking
 * several running tasks locks them (migration 0043): each row is locked as the statement meets it,
 * and two statements meeting the same rows in opposite orders would wait for each other (a
 * deadlock; PostgreSQL rolls one back).
 */
const byId = (tasks: TaskRow[]) => [...tasks].sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));

/**
 * A batch of completions can still deadlock with a transaction that marks two of its tasks to run
 * once more in two statements, or in the opposite order (migration 0040). PostgreSQL then rolls one
 * side back; when that is the batch, nothing of it happened, and it is sent again (fenced as
 * before), instead of recording a failed attempt for every task in it.
 */
const DEADLOCK_RETRIES = 3;
const isDeadlock = (err: unknown) => (err as { code?: unknown }).code === '40P01';

/** Succeeded, several at once (no domain writes); returns the ids completed. */
async function completeMany(db: Db, tasks: TaskRow[]): Promise<Set<string>> {
  const done = await db.query<{ id: string }>(
    `update tasks t set state = 'succeeded', finished_at = now(), lease_owner = null, lease_expires_at = null, last_error = null
     from unnest($1::bigint[], $2::bigint[]) as x(id, token)
     where t.id = x.id and t.token = x.token and t.state = 'running'
     returning t.id`,
    [tasks.map((t) => t.id), tasks.map((t) => t.token)],
  );
  return new Set(done.map((d) => d.id));
}
