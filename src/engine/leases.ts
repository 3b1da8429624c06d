/**
 * Keeping a worker's leases (worker.ts): one heartbeat per interval records the process alive and
 * extends every lease it holds; a task whose lease did not extend (taken over, cancelled) is aborted
 * at once, and when heartbeats keep failing (database unreachable) for longer than the lease, every
 * running task is aborted: another worker may own them by now. After each good heartbeat, the dead
 * workers of this host are reaped (processes.ts) so their tasks are taken over at once.
 */
import type { Db } from '../core/db/db.ts';
import { errorMessage, LeaseLostError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { heartbeatProcess, reapDeadWorkers } from './processes.ts';
import { extendLeases } from './task-state.ts';
import type { TaskRow } from './types.ts';

/** A running attempt, as far as its lease goes. */
export interface Leased {
  task: TaskRow;
  controller: AbortController;
}

export class LeaseKeeper {
  private lastHeartbeatOk = Date.now();
  private reaping = false;

  constructor(
    private readonly db: Db,
    private readonly workerId: string,
    private readonly leaseMs: number,
    private readonly log: Logger,
    /** The attempts running now (by task id). */
    private readonly running: ReadonlyMap<string, Leased>,
    /** Wake the claim loop (dead workers' tasks are free). */
    private readonly poke: () => void,
  ) {}

  async heartbeat(): Promise<void> {
    try {
      await heartbeatProcess(this.db, this.workerId);
      const entries = [...this.running.values()];
      if (entries.length > 0) {
        const keptIds = await extendLeases(
          this.db,
          entries.map((e) => e.task),
          this.leaseMs,
        );
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
  async reap(): Promise<void> {
    if (this.reaping) return;
    this.reaping = true;
    try {
      const { dead } = await reapDeadWorkers(this.db, this.workerId, this.leaseMs);
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
}
