/**
 * A worker: claims tasks it has handlers for, runs them, keeps their leases alive, and finishes
 * them under the fencing token it claimed with.
 *
 * Claims (claim.ts) come from the loop below, for the free slots, from each batch of completions
 * (one statement completes and claims), and from a completion with domain writes (`completeWith`:
 * its transaction claims too): a freed slot is refilled by the commit that frees it. Slots set aside
 * for a claim under way or for tasks not yet started (`reserved`) are not claimed twice.
 *
 * Loop states
 *   CLAIMING ─ got tasks ─▶ CLAIMING (while slots are free)
 *   CLAIMING ─ nothing / no free slot ─▶ WAITING ─ notify | slot freed | poll timer ─▶ CLAIMING
 *   any ─ stop() ─▶ DRAINING (no claims; running tasks get `graceMs` to finish, then are aborted
 *                   and their leases released so another worker starts them at once) ─▶ STOPPED
 *
 * Leases (leases.ts): one heartbeat query per interval extends every lease this worker holds. A task
 * whose lease did not extend (taken over, cancelled) is aborted at once. When heartbeats keep failing
 * (database unreachable) for longer than the lease, every running task is aborted: another
 * worker may own them by now.
 *
 * Stalls (stall.ts): a task of a kind with `stallMs` that reports no progress for that long is
 * aborted, leaves the running set at once and goes back to the queue with backoff (not counted as an
 * attempt). Until its handler returns (a call blocked on a hung share may never return) it counts as
 * stuck; with `maxStuck` stuck tasks the worker claims only kinds without a stall limit.
 *
 * Beside it: the fenced writes to its tasks (task-state.ts), the wake-up connection and signal
 * (wake.ts), the options and their defaults (worker-options.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db, Tx } from '../core/db/db.ts';
import { errorMessage, LeaseLostError, type SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { type ClaimRequest, claimableKinds, claimTasks } from './claim.ts';
import { LeaseKeeper } from './leases.ts';
import { markProcessStopped, newProcessId, registerProcess } from './processes.ts';
import { runDueSchedules } from './schedules.ts';
import { isStalled, type StuckTask, stallError } from './stall.ts';
import {
  CompletionBatcher,
  completeTask,
  failAttempt,
  noteTakenOver,
  releaseLeases,
  rememberInPayload,
  requeueStalled,
  retryCutShort,
  runTaskAgain,
} from './task-state.ts';
import { describeTakeover, type TaskContext, type TaskHandlerDef, type TaskRow } from './types.ts';
import { WakeListener, WakeSignal } from './wake.ts';
import { type WorkerOptions, type WorkerSettings, workerSettings } from './worker-options.ts';

export type { StuckTask, WorkerOptions };

interface Running {
  task: TaskRow;
  def: TaskHandlerDef;
  controller: AbortController;
  done: Promise<void>;
  /** For the stall watchdog: last `ctx.progress()` (or the start), and what the task said it does. */
  lastProgress: number;
  doing?: string;
  /** Claimed by its completing transaction; started when its handler returns or stalls. */
  successors?: TaskRow[];
  refilled?: boolean;
}

export class Worker {
  readonly id: string;
  private readonly db: Db;
  private readonly log: Logger;
  private readonly handlers = new Map<string, TaskHandlerDef>();
  /** The options with their defaults. */
  private readonly s: WorkerSettings;
  private readonly running = new Map<string, Running>();
  private readonly stuck = new Map<Running, StuckTask>();
  private stopping = false;
  /** stop()'s grace is over: tasks a completion claimed, not started yet, are released (else expire). */
  private graceOver = false;
  private loopDone: Promise<void> | undefined;
  private readonly wakeup = new WakeSignal();
  private readonly listener: WakeListener;
  private readonly completions: CompletionBatcher;
  private timers: NodeJS.Timeout[] = [];
  private readonly leases: LeaseKeeper;
  private lastScheduleTick = 0;
  /** Slots set aside for a claim that goes out with a batch of completions (task-state.ts). */
  private reserved = 0;
  /** Running tasks whose completion claimed the task taking their slot (counted in `reserved`). */
  private readonly handed = new Set<Running>();

  constructor(opts: WorkerOptions) {
    this.db = opts.db;
    this.id = opts.id ?? newProcessId();
    this.log = opts.log.child({ worker: this.id });
    for (const h of opts.handlers) this.handlers.set(h.kind, h);
    this.s = workerSettings(opts);
    this.completions = new CompletionBatcher(this.db, {
      request: (finishing) => this.claimRequest(this.free() + finishing),
      claimed: (req, tasks) => {
        this.reserved -= req.limit;
        for (const t of tasks) this.runTask(t);
      },
    });
    const [poke, stopping] = [() => this.wakeup.poke(), () => this.stopping];
    this.leases = new LeaseKeeper(this.db, this.id, this.s.leaseMs, this.log, this.running, poke);
    this.listener = new WakeListener(this.db.url, this.id, this.log, poke, stopping);
  }

  get runningCount(): number {
    return this.running.size;
  }

  /** Stalled tasks whose handler has not returned yet (see stall.ts). */
  get stuckTasks(): StuckTask[] {
    return [...this.stuck.values()];
  }

  private stallLimit = (def: TaskHandlerDef) => def.stallMs ?? this.s.stallMs;

  async start(): Promise<void> {
    await registerProcess(this.db, {
      id: this.id,
      role: this.s.role,
      tags: this.s.tags,
      kinds: [...this.handlers.keys()],
      version: this.s.version,
      mode: this.s.mode,
    });
    // before the first claim: the dead processes of this host hand over their tasks now
    await this.leases.reap();
    await this.listener.start();
    this.timers.push(setInterval(() => void this.leases.heartbeat(), this.s.heartbeatMs));
    this.timers.push(setInterval(() => this.watchStalls(), this.s.stallCheckMs));
    this.loopDone = this.loop();
    const { tags, concurrency, mode } = this.s;
    this.log.info({ kinds: [...this.handlers.keys()], tags, concurrency, mode }, 'worker started');
  }

  /** Stop claiming; give running tasks `graceMs` to finish, then abort them and release leases. */
  async stop(graceMs = this.s.graceMs): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    this.wakeup.release();
    await this.loopDone;
    const all = this.settled();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.graceOver = true;
      const left = [...this.running.values()];
      this.log.warn(
        { tasks: left.map((r) => r.task.id) },
        'grace period over: aborting running tasks and releasing their leases',
      );
      for (const r of left) r.controller.abort(new Error('worker shutting down'));
      const tasks = left.map((r) => r.task);
      await releaseLeases(this.db, tasks).catch((err) =>
        this.log.warn({ err: errorMessage(err) }, 'could not release leases; they will expire'),
      );
      await Promise.race([Promise.all(left.map((r) => r.done)), new Promise((r) => setTimeout(r, 2000))]);
    }
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.listener.stop();
    await markProcessStopped(this.db, this.id).catch(() => undefined);
    this.log.info('worker stopped');
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.maybeRunSchedules();
        const free = this.free();
        this.wakeup.clear(); // this claim round sees everything committed so far
        const req = this.claimRequest(free);
        if (req) {
          const tasks = await claimTasks(this.db, req).finally(() => {
            this.reserved -= req.limit;
          });
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
      // Wake for the next schedule tick too, so periodic work runs on time on an idle worker.
      const { pollMs, scheduleTickMs } = this.s;
      await this.wakeup.wait(scheduleTickMs > 0 ? Math.min(pollMs, scheduleTickMs) : pollMs);
    }
  }

  private async maybeRunSchedules(): Promise<void> {
    if (this.s.scheduleTickMs <= 0 || Date.now() - this.lastScheduleTick < this.s.scheduleTickMs) return;
    this.lastScheduleTick = Date.now();
    await runDueSchedules(this.db);
  }

  /** Slots free for a new claim: not running, not set aside for a claim under way. */
  private free(): number {
    return this.s.concurrency - (this.running.size - this.handed.size) - this.reserved;
  }

  /** What to claim for `limit` free slots, those set aside until it returns; undefined: nothing. */
  private claimRequest(limit: number): ClaimRequest | undefined {
    if (limit <= 0 || this.stopping) return undefined;
    const stallLimit = (k: string) => this.stallLimit(this.handlers.get(k)!);
    const kinds = claimableKinds([...this.handlers.keys()], stallLimit, this.stuck.size >= this.s.maxStuck);
    if (kinds.length === 0) return undefined;
    this.reserved += limit;
    return { worker: this.id, kinds, tags: this.s.tags, limit, leaseMs: this.s.leaseMs };
  }

  /** Until nothing runs here and no claim is under way (tasks a batch claimed while stopping too). */
  private async settled(): Promise<void> {
    while (this.running.size > 0 || this.reserved > 0) {
      await Promise.all([...this.running.values()].map((r) => r.done));
      if (this.running.size === 0 && this.reserved > 0) await sleep(10);
    }
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
      ? this.requeue(def, task, stallError(this.stallLimit(def) ?? 0, earlier.doing), log, false)
      : this.execute(def, task, controller, log, entry);
    entry.done = run.finally(() => {
      // a stalled entry left the set already (and the task may run here again meanwhile)
      if (this.running.get(task.id) === entry) this.running.delete(task.id);
      this.handed.delete(entry);
      const stuck = this.stuck.get(entry);
      if (stuck) {
        this.stuck.delete(entry);
        log.warn(
          { stuckForMs: Date.now() - stuck.since.getTime() },
          'the stalled attempt returned at last (the share answered)',
        );
      }
      if (!entry.refilled) this.wakeup.poke(); // else its completion claimed already
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
      this.handed.delete(entry);
      this.stuck.set(entry, {
        taskId: task.id,
        kind: task.kind,
        subject: task.subject,
        doing: entry.doing,
        since: new Date(now),
      });
      entry.controller.abort(err);
      this.startSuccessors(entry);
      log.warn({ err: err.message, stuck: this.stuck.size }, 'task stalled; attempt given up');
      if (this.stuck.size >= this.s.maxStuck) {
        log.error(
          { stuck: this.stuckTasks },
          `${this.stuck.size} stalled tasks have not returned (hung shares): claiming no more work that reads shares until they do`,
        );
      }
      void this.requeue(entry.def, task, err, log).catch((e) =>
        log.error({ err: errorMessage(e) }, 'could not requeue the stalled task; its lease will expire'),
      );
      this.wakeup.poke();
    }
  }

  private async execute(
    def: TaskHandlerDef,
    task: TaskRow,
    controller: AbortController,
    log: Logger,
    entry: Running,
  ): Promise<void> {
    let finished = false;
    const ctx: TaskContext = {
      task,
      signal: controller.signal,
      log,
      db: this.db,
      complete: async (fn) => {
        await (fn ? this.completeWith(entry, fn) : this.completions.complete(task));
        finished = true;
      },
      again: async (delayMs, fn, payload) => {
        await runTaskAgain(this.db, task, delayMs, fn, payload);
        finished = true;
      },
      remember: async (patch, tx) => {
        await rememberInPayload(tx ?? this.db, task, patch);
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
        // cut short every time so far: again after a pause, with a fresh budget (task-state.ts)
        await retryCutShort(this.db, def, task, log, this.s.backoffBaseMs);
        return;
      }
      await def.run(ctx);
      if (!finished) {
        await this.completions.complete(task, this.running.get(task.id) === entry); // slot refilled unless stalled
        finished = true;
      }
    } catch (err) {
      if (err instanceof LeaseLostError || (controller.signal.aborted && !finished)) {
        log.warn({ err: errorMessage(err) }, 'task abandoned: lease lost or worker stopping');
        return;
      }
      if (finished) {
        log.error({ err: errorMessage(err) }, 'error after the task was finished; ignored');
        return;
      }
      await failAttempt(this.db, def, task, err, log, this.s.backoffBaseMs).catch((e) =>
        log.error(
          { err: errorMessage(e) },
          'could not record task failure; the lease will expire and the task will run again',
        ),
      );
    } finally {
      this.startSuccessors(entry);
    }
  }

  /**
   * `ctx.complete(fn)`: the transaction also claims for this task's slot (`handed`) and any other free
   * one, unless the attempt stalled (its slot is free already). Those claimed start when the handler
   * returns or stalls (`startSuccessors`): never more handlers than `concurrency`; until then their
   * slots stay set aside (`reserved`).
   */
  private async completeWith(entry: Running, fn: (tx: Tx) => Promise<void>): Promise<void> {
    const own = this.running.get(entry.task.id) === entry;
    if (own) this.handed.add(entry);
    const req = own ? this.claimRequest(this.free()) : undefined;
    let claimed: TaskRow[] = [];
    try {
      claimed = await completeTask(this.db, entry.task, fn, req);
    } finally {
      if (req) this.reserved -= req.limit - claimed.length;
      // nothing claimed: the slot stays this handler's until it returns
      if (claimed.length === 0) this.handed.delete(entry);
    }
    entry.successors = claimed;
    entry.refilled = claimed.length > 0;
  }

  /** Back to the queue after a stall, the attempt not counted (task-state.ts). */
  private requeue(def: TaskHandlerDef, task: TaskRow, err: SluiceError, log: Logger, note = true) {
    return requeueStalled(this.db, def, task, err, { log, backoffBaseMs: this.s.backoffBaseMs, note });
  }

  private startSuccessors(entry: Running): void {
    const next = entry.successors;
    if (!next) return;
    entry.successors = undefined;
    this.reserved -= next.length;
    if (this.graceOver) void releaseLeases(this.db, next).catch(() => undefined);
    else for (const t of next) this.runTask(t);
  }

  /** A task taken over from a cut-short attempt: say so where its subject's history is shown. */
  private async noteTakeover(def: TaskHandlerDef, task: TaskRow, log: Logger): Promise<void> {
    const cut = task.taken_over;
    if (!cut) return;
    log.warn({ cutShort: cut }, describeTakeover(cut));
    if (def.onTakenOver) await noteTakenOver(this.db, task, cut, def.onTakenOver);
  }
}
