/**
 * A worker: claims tasks it has handlers for, runs them, keeps their leases alive, and finishes
 * them under the fencing token it claimed with.
 *
 * Loop states
 *   CLAIMING ─ got tasks ─▶ CLAIMING (while slots are free)
 *   CLAIMING ─ nothing / no free slot ─▶ WAITING ─ notify | slot freed | poll timer ─▶ CLAIMING
 *   any ─ stop() ─▶ DRAINING (no claims; running tasks get `graceMs` to finish, then are aborted
 *                   and their leases released so another worker starts them at once) ─▶ STOPPED
 *
 * Leases: one heartbeat query per interval extends every lease this worker holds. A task whose
 * lease did not extend (taken over, cancelled) is aborted at once. When heartbeats keep failing
 * (database unreachable) for longer than the lease, every running task is aborted: another
 * worker may own them by now.
 *
 * Stalls (stall.ts): a task of a kind with `stallMs` that reports no progress for that long is
 * aborted, leaves the running set at once and goes back to the queue with backoff (not counted as an
 * attempt). Until its handler returns (a call blocked on a hung share may never return) it counts as
 * stuck; with `maxStuck` stuck tasks the worker claims only kinds without a stall limit.
 */
import pg from 'pg';
import type { Db, Tx } from '../core/db/db.ts';
import { errorMessage, LeaseLostError, PermanentError, type SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { backoffMs } from './backoff.ts';
import {
  heartbeatProcess,
  markProcessStopped,
  newProcessId,
  reapDeadWorkers,
  registerProcess,
} from './processes.ts';
import { runDueSchedules } from './schedules.ts';
import { isStalled, stallError, stallRetryMs } from './stall.ts';
import { describeTakeover, type TaskContext, type TaskHandlerDef, type TaskRow } from './types.ts';

export interface WorkerOptions {
  db: Db;
  log: Logger;
  handlers: TaskHandlerDef[];
  id?: string;
  role?: string;
  version?: string;
  /** The instance mode recorded for `sluice status` (`normal`, `fallback`). */
  mode?: string;
  tags?: string[];
  concurrency?: number;
  leaseMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
  /** How often this worker looks for due schedules (0 = never). */
  scheduleTickMs?: number;
  graceMs?: number;
  /** Retry backoff base (tests shorten it). */
  backoffBaseMs?: number;
  /** Stall limit for kinds that watch progress but declare no `stallMs` of their own (absent: none). */
  stallMs?: number;
  /**
   * Stalled tasks whose handler has not returned yet (stuck on a hung share) this worker tolerates;
   * at this many it claims only kinds without a stall limit (default 8; see stall.ts).
   */
  maxStuck?: number;
  /** How often the stall watchdog looks (default 1 s). */
  stallCheckMs?: number;
}

interface Running {
  task: TaskRow;
  def: TaskHandlerDef;
  controller: AbortController;
  done: Promise<void>;
  /** For the stall watchdog: last `ctx.progress()` (or the start), and what the task said it does. */
  lastProgress: number;
  doing?: string;
}

/** A stalled task whose handler has not returned yet. */
export interface StuckTask {
  taskId: string;
  kind: string;
  subject: string | null;
  /** What it was doing when it stalled. */
  doing?: string;
  since: Date;
}

export class Worker {
  readonly id: string;
  private readonly db: Db;
  private readonly log: Logger;
  private readonly handlers = new Map<string, TaskHandlerDef>();
  private readonly tags: string[];
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly scheduleTickMs: number;
  private readonly graceMs: number;
  private readonly backoffBaseMs: number;
  private readonly role: string;
  private readonly version: string;
  private readonly mode: string;
  private readonly running = new Map<string, Running>();
  private readonly stuck = new Map<Running, StuckTask>();
  private readonly stallMs: number | undefined;
  private readonly maxStuck: number;
  private readonly stallCheckMs: number;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private listener: pg.Client | undefined;
  private timers: NodeJS.Timeout[] = [];
  private lastHeartbeatOk = Date.now();
  private lastScheduleTick = 0;

  constructor(opts: WorkerOptions) {
    this.db = opts.db;
    this.id = opts.id ?? newProcessId();
    this.log = opts.log.child({ worker: this.id });
    for (const h of opts.handlers) this.handlers.set(h.kind, h);
    this.tags = opts.tags ?? [];
    this.concurrency = opts.concurrency ?? 8;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.floor(this.leaseMs / 4);
    this.pollMs = opts.pollMs ?? 2000;
    this.scheduleTickMs = opts.scheduleTickMs ?? 1000;
    this.graceMs = opts.graceMs ?? 30_000;
    this.backoffBaseMs = opts.backoffBaseMs ?? 1000;
    this.role = opts.role ?? 'worker';
    this.version = opts.version ?? '0';
    this.mode = opts.mode ?? 'normal';
    this.stallMs = opts.stallMs;
    this.maxStuck = opts.maxStuck ?? 8;
    this.stallCheckMs = opts.stallCheckMs ?? 1000;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Stalled tasks whose handler has not returned yet (see stall.ts). */
  get stuckTasks(): StuckTask[] {
    return [...this.stuck.values()];
  }

  private stallLimit(def: TaskHandlerDef): number | undefined {
    return def.stallMs ?? this.stallMs;
  }

  async start(): Promise<void> {
    await registerProcess(this.db, {
      id: this.id,
      role: this.role,
      tags: this.tags,
      kinds: [...this.handlers.keys()],
      version: this.version,
      mode: this.mode,
    });
    // before the first claim: the dead processes of this host hand over their tasks now
    await this.reap();
    await this.listen();
    this.timers.push(setInterval(() => void this.heartbeat(), this.heartbeatMs));
    this.timers.push(setInterval(() => this.watchStalls(), this.stallCheckMs));
    this.loopDone = this.loop();
    this.log.info(
      { kinds: [...this.handlers.keys()], tags: this.tags, concurrency: this.concurrency, mode: this.mode },
      'worker started',
    );
  }

  /** Stop claiming; give running tasks `graceMs` to finish, then abort them and release leases. */
  async stop(graceMs = this.graceMs): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    this.wake?.();
    await this.loopDone;
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const left = [...this.running.values()];
      this.log.warn(
        { tasks: left.map((r) => r.task.id) },
        'grace period over: aborting running tasks and releasing their leases',
      );
      for (const r of left) r.controller.abort(new Error('worker shutting down'));
      await this.releaseLeases(left.map((r) => r.task)).catch((err) =>
        this.log.warn({ err: errorMessage(err) }, 'could not release leases; they will expire'),
      );
      await Promise.race([Promise.all(left.map((r) => r.done)), new Promise((r) => setTimeout(r, 2000))]);
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await markProcessStopped(this.db, this.id).catch(() => undefined);
    this.log.info('worker stopped');
  }

  /**
   * A dedicated connection (not from the pool) listens for `sluice_tasks` notifications. When it
   * drops (database restart), the worker keeps polling and reconnects in the background.
   */
  private async listen(): Promise<void> {
    if (this.stopping) return;
    const client = new pg.Client({
      connectionString: this.db.url,
      application_name: `sluice-listen ${this.id}`,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.stopping) return;
      this.log.warn({ err: err?.message }, 'wake-up connection lost; polling until it is back');
      setTimeout(() => void this.listen(), 1000);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', () => this.poke());
    try {
      await client.connect();
      await client.query('listen sluice_tasks');
      this.listener = client;
    } catch (err) {
      onLost(err as Error);
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.maybeRunSchedules();
        const free = this.concurrency - this.running.size;
        this.wakePending = false; // this claim round sees everything committed so far
        if (free > 0) {
          const tasks = await this.claim(free);
          failures = 0;
          for (const t of tasks) this.runTask(t);
          if (tasks.length === free) continue; // maybe more waiting
        }
      } catch (err) {
        failures++;
        this.log.warn({ err: errorMessage(err) }, 'claim failed; retrying');
        await sleep(Math.min(5000, 200 * 2 ** failures));
        continue;
      }
      await this.waitForWake();
    }
  }

  /** A wake-up (notification, freed slot) that arrived while no one was waiting: claim again at once. */
  private wakePending = false;

  private poke(): void {
    if (this.wake) this.wake();
    else this.wakePending = true;
  }

  private waitForWake(): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    // Wake for the next schedule tick too, so periodic work runs on time on an idle worker.
    const waitMs = this.scheduleTickMs > 0 ? Math.min(this.pollMs, this.scheduleTickMs) : this.pollMs;
    return new Promise((resolve) => {
      const timer = setTimeout(done, waitMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private async maybeRunSchedules(): Promise<void> {
    if (this.scheduleTickMs <= 0 || Date.now() - this.lastScheduleTick < this.scheduleTickMs) return;
    this.lastScheduleTick = Date.now();
    await runDueSchedules(this.db);
  }

  private async claim(limit: number): Promise<TaskRow[]> {
    let kinds = [...this.handlers.keys()];
    if (this.stuck.size >= this.maxStuck) {
      // Stuck on hung shares: take no more work that touches shares (stall.ts).
      kinds = kinds.filter((k) => this.stallLimit(this.handlers.get(k)!) === undefined);
      if (kinds.length === 0) return [];
    }
    return this.db.query<TaskRow>('select * from sluice_claim($1, $2, $3, $4, $5)', [
      this.id,
      kinds,
      this.tags,
      limit,
      this.leaseMs,
    ]);
  }

  private runTask(task: TaskRow): void {
    const def = this.handlers.get(task.kind)!;
    const controller = new AbortController();
    const log = this.log.child({ taskId: task.id, kind: task.kind, subject: task.subject ?? undefined });
    const entry: Running = { task, def, controller, done: Promise.resolve(), lastProgress: Date.now() };
    this.running.set(task.id, entry);
    const earlier = [...this.stuck.values()].find((s) => s.taskId === task.id);
    // An earlier attempt of this task is still stuck here: a new one would hang on the same share
    // and hold one more thread. Back to the queue, as another stall, without running it.
    const run = earlier
      ? this.retryStalled(def, task, stallError(this.stallLimit(def) ?? 0, earlier.doing), log, false)
      : this.execute(def, task, controller, log, entry);
    entry.done = run.finally(() => {
      // a stalled entry left the set already (and the task may run here again meanwhile)
      if (this.running.get(task.id) === entry) this.running.delete(task.id);
      const stuck = this.stuck.get(entry);
      if (stuck) {
        this.stuck.delete(entry);
        log.warn(
          { stuckForMs: Date.now() - stuck.since.getTime() },
          'the stalled attempt returned at last (the share answered)',
        );
      }
      this.poke();
    });
  }

  /** Give up the attempts that made no progress for their kind's stall limit (stall.ts). */
  private watchStalls(): void {
    const now = Date.now();
    for (const entry of [...this.running.values()]) {
      const stallMs = this.stallLimit(entry.def);
      if (!isStalled({ stallMs, lastProgress: entry.lastProgress }, now)) continue;
      const { task } = entry;
      const log = this.log.child({ taskId: task.id, kind: task.kind, subject: task.subject ?? undefined });
      const err = stallError(stallMs!, entry.doing);
      this.running.delete(task.id);
      this.stuck.set(entry, {
        taskId: task.id,
        kind: task.kind,
        subject: task.subject,
        doing: entry.doing,
        since: new Date(now),
      });
      entry.controller.abort(err);
      log.warn({ err: err.message, stuck: this.stuck.size }, 'task stalled; attempt given up');
      if (this.stuck.size >= this.maxStuck) {
        log.error(
          { stuck: this.stuckTasks },
          `${this.stuck.size} stalled tasks have not returned (hung shares): claiming no more work that reads shares until they do`,
        );
      }
      void this.retryStalled(entry.def, task, err, log).catch((e) =>
        log.error({ err: errorMessage(e) }, 'could not requeue the stalled task; its lease will expire'),
      );
      this.poke();
    }
  }

  /**
   * Back to the queue after a stall, without counting the attempt, the backoff growing with the
   * task's stalls (payload `stalls`); the handler's `onRetry` notes why in the same transaction.
   */
  private async retryStalled(
    def: TaskHandlerDef,
    task: TaskRow,
    err: SluiceError,
    log: Logger,
    note = true,
  ): Promise<void> {
    const stalls = Number(task.payload.stalls ?? 0) + 1;
    const delay = stallRetryMs(stalls, this.backoffBaseMs);
    await this.db.tx(async (tx) => {
      const n = await tx.exec(
        `update tasks set state = 'queued', last_error = $3, lease_owner = null, lease_expires_at = null,
           attempts = greatest(0, attempts - 1), run_after = now() + $4 * interval '1 millisecond',
           payload = payload || jsonb_build_object('stalls', $5::int)
         where id = $1 and token = $2 and state = 'running'`,
        [task.id, task.token, err.message, delay, stalls],
      );
      if (n !== 1) return; // finished or taken over meanwhile
      if (note) await def.onRetry?.(tx, task, err, delay);
    });
    log.warn({ stalls, retryInMs: delay }, 'stalled task requeued');
  }

  private async execute(
    def: TaskHandlerDef,
    task: TaskRow,
    controller: AbortController,
    log: Logger,
    entry: Running,
  ): Promise<void> {
    let finished = false;
    const fence = async (tx: Tx, sql: string, params: unknown[]) => {
      const n = await tx.exec(sql, params);
      if (n !== 1) throw new LeaseLostError(task.id);
    };
    const ctx: TaskContext = {
      task,
      signal: controller.signal,
      log,
      db: this.db,
      complete: async (fn) => {
        if (!fn) {
          await this.completeBatched(task);
          finished = true;
          return;
        }
        await this.db.tx(async (tx) => {
          await fence(
            tx,
            `update tasks set state = 'succeeded', finished_at = now(), lease_owner = null, lease_expires_at = null, last_error = null
             where id = $1 and token = $2 and state = 'running'`,
            [task.id, task.token],
          );
          await fn?.(tx);
        });
        finished = true;
      },
      again: async (delayMs, fn, payload) => {
        await this.db.tx(async (tx) => {
          await fence(
            tx,
            `update tasks set state = 'queued', run_after = now() + $3 * interval '1 millisecond', attempts = attempts - 1,
               lease_owner = null, lease_expires_at = null, payload = coalesce($4::jsonb, payload)
             where id = $1 and token = $2 and state = 'running'`,
            [task.id, task.token, delayMs, payload ? JSON.stringify(payload) : null],
          );
          await fn?.(tx);
        });
        finished = true;
      },
      remember: async (patch, tx) => {
        await fence(
          tx ?? this.db,
          `update tasks set payload = payload || $3::jsonb where id = $1 and token = $2 and state = 'running'`,
          [task.id, task.token, JSON.stringify(patch)],
        );
        Object.assign(task.payload, patch);
      },
      progress: (doing) => {
        entry.lastProgress = Date.now();
        if (doing !== undefined) entry.doing = doing;
      },
    };
    try {
      await this.noteTakeover(def, task, log);
      if (task.attempts > task.max_attempts) {
        // Started more often than max_attempts, and the last attempt did not even fail: it was cut
        // short (worker killed, hung, or cut off from the database; a PostgreSQL restart longer
        // than a lease cuts every running attempt). That says nothing against the work itself, and
        // a final 'failed' would wait for an operator: run it again after a growing pause (backoff,
        // at most 10 minutes) with a fresh budget of attempts (else every later start would land
        // here again and the work would never run), and say why. A task that kills its worker every
        // time costs max_attempts restarts per pause, not a crash loop, and stays visible
        // (last_error, stuck-file alert).
        await this.fail(
          def,
          task,
          new Error(
            `task ${task.kind} for ${task.subject ?? '-'} was started ${task.attempts - 1} times without finishing (its worker died, hung or lost the database each time); trying again after a pause`,
          ),
          log,
          { final: false, freshBudget: true },
        );
        return;
      }
      await def.run(ctx);
      if (!finished) await ctx.complete();
    } catch (err) {
      if (err instanceof LeaseLostError || (controller.signal.aborted && !finished)) {
        log.warn({ err: errorMessage(err) }, 'task abandoned: lease lost or worker stopping');
        return;
      }
      if (finished) {
        log.error({ err: errorMessage(err) }, 'error after the task was finished; ignored');
        return;
      }
      await this.fail(def, task, err, log).catch((e) =>
        log.error(
          { err: errorMessage(e) },
          'could not record task failure; the lease will expire and the task will run again',
        ),
      );
    }
  }

  /**
   * Completions without domain writes are batched: every completion requested in the same tick
   * goes out in one statement (one commit instead of one each, which is what limits throughput
   * with durable commits). The token check is the same; a task missing from the result lost its
   * lease and its caller gets LeaseLostError.
   */
  private pendingCompletions: { task: TaskRow; resolve: () => void; reject: (e: unknown) => void }[] = [];

  private completeBatched(task: TaskRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingCompletions.push({ task, resolve, reject });
      if (this.pendingCompletions.length === 1) setImmediate(() => void this.flushCompletions());
    });
  }

  private async flushCompletions(): Promise<void> {
    const batch = this.pendingCompletions;
    this.pendingCompletions = [];
    try {
      const done = await this.db.query<{ id: string }>(
        `update tasks t set state = 'succeeded', finished_at = now(), lease_owner = null, lease_expires_at = null, last_error = null
         from unnest($1::bigint[], $2::bigint[]) as x(id, token)
         where t.id = x.id and t.token = x.token and t.state = 'running'
         returning t.id`,
        [batch.map((b) => b.task.id), batch.map((b) => b.task.token)],
      );
      const ok = new Set(done.map((d) => d.id));
      for (const b of batch) {
        if (ok.has(b.task.id)) b.resolve();
        else b.reject(new LeaseLostError(b.task.id));
      }
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  private async fail(
    def: TaskHandlerDef,
    task: TaskRow,
    err: unknown,
    log: Logger,
    opts: { final?: boolean; freshBudget?: boolean } = {},
  ): Promise<void> {
    const permanent = err instanceof PermanentError;
    const final = opts.final ?? (permanent || task.attempts >= task.max_attempts);
    const message = errorMessage(err);
    const delay = final ? 0 : backoffMs(task.attempts, this.backoffBaseMs);
    await this.db.tx(async (tx) => {
      const n = await tx.exec(
        `update tasks set state = $3, last_error = $4, lease_owner = null, lease_expires_at = null,
           run_after = now() + $5 * interval '1 millisecond', finished_at = case when $3 = 'failed' then now() end,
           attempts = case when $6 then 0 else attempts end
         where id = $1 and token = $2 and state = 'running'`,
        [task.id, task.token, final ? 'failed' : 'queued', message, delay, opts.freshBudget === true],
      );
      if (n !== 1) return; // taken over meanwhile: the new owner decides
      if (final) await def.onFailed?.(tx, task, err);
      else await def.onRetry?.(tx, task, err, delay);
    });
    if (final) log.error({ err: message, attempts: task.attempts, permanent }, 'task failed');
    else log.warn({ err: message, attempts: task.attempts }, 'task failed; will retry');
  }

  private async heartbeat(): Promise<void> {
    try {
      await heartbeatProcess(this.db, this.id);
      const entries = [...this.running.values()];
      if (entries.length > 0) {
        const kept = await this.db.query<{ id: string }>(
          `update tasks t set lease_expires_at = now() + $3 * interval '1 millisecond'
           from unnest($1::bigint[], $2::bigint[]) as x(id, token)
           where t.id = x.id and t.token = x.token and t.state = 'running'
           returning t.id`,
          [entries.map((e) => e.task.id), entries.map((e) => e.task.token), this.leaseMs],
        );
        const keptIds = new Set(kept.map((k) => k.id));
        for (const e of entries) {
          if (!keptIds.has(e.task.id) && this.running.has(e.task.id)) {
            this.log.warn({ taskId: e.task.id }, 'lease lost (taken over or cancelled); aborting the task');
            e.controller.abort(new LeaseLostError(e.task.id));
          }
        }
      }
      this.lastHeartbeatOk = Date.now();
      void this.reap();
    } catch (err) {
      const silentFor = Date.now() - this.lastHeartbeatOk;
      this.log.warn({ err: errorMessage(err), silentForMs: silentFor }, 'heartbeat failed');
      if (silentFor > this.leaseMs) {
        for (const e of this.running.values())
          e.controller.abort(new Error('cannot reach the database to keep the lease'));
      }
    }
  }

  /**
   * Same-host recovery (processes.ts): workers of this host whose process is gone are marked dead
   * and their leases expire now; the claim loop is woken to take their tasks over at once.
   */
  private reaping = false;
  private async reap(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      const { dead } = await reapDeadWorkers(this.db, this.id, this.leaseMs);
      for (const d of dead)
        this.log.warn(
          { deadWorker: d.id, tasks: d.tasks, why: d.why },
          'worker found dead; its tasks are taken over',
        );
      if (dead.some((d) => d.tasks > 0)) this.poke();
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not check for dead workers on this host');
    } finally {
      this.reaping = false;
    }
  }

  /** A task taken over from a cut-short attempt: say so where its subject's history is shown. */
  private async noteTakeover(def: TaskHandlerDef, task: TaskRow, log: Logger): Promise<void> {
    const cut = task.taken_over;
    if (!cut) return;
    log.warn({ cutShort: cut }, describeTakeover(cut));
    if (!def.onTakenOver) return;
    await this.db.tx(async (tx) => {
      const n = await tx.exec(
        `select 1 from tasks where id = $1 and token = $2 and state = 'running' for update`,
        [task.id, task.token],
      );
      if (n !== 1) throw new LeaseLostError(task.id);
      await def.onTakenOver!(tx, task, cut);
    });
  }

  private async releaseLeases(tasks: TaskRow[]): Promise<void> {
    await this.db.exec(
      `update tasks t set state = 'queued', lease_owner = null, lease_expires_at = null, attempts = greatest(0, attempts - 1), run_after = now()
       from unnest($1::bigint[], $2::bigint[]) as x(id, token)
       where t.id = x.id and t.token = x.token and t.state = 'running'`,
      [tasks.map((t) => t.id), tasks.map((t) => t.token)],
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
