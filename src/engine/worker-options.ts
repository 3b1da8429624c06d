/**
 * A worker's options (worker.ts) and their defaults: `workerSettings` fills in every option the
 * caller left out (a pure function).
 */
import type { Db } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';
import type { TaskHandlerDef } from './types.ts';

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

/** The options that have defaults, all filled in. */
export interface WorkerSettings {
  tags: string[];
  concurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  scheduleTickMs: number;
  graceMs: number;
  backoffBaseMs: number;
  role: string;
  version: string;
  mode: string;
  stallMs: number | undefined;
  maxStuck: number;
  stallCheckMs: number;
}

/** `opts` with the defaults: 8 tasks at a time, 60 s leases renewed every quarter lease, and so on. */
export function workerSettings(opts: Omit<WorkerOptions, 'db' | 'log' | 'handlers'>): WorkerSettings {
  const leaseMs = opts.leaseMs ?? 60_000;
  return {
    tags: opts.tags ?? [],
    concurrency: opts.concurrency ?? 8,
    leaseMs,
    heartbeatMs: opts.heartbeatMs ?? Math.floor(leaseMs / 4),
    pollMs: opts.pollMs ?? 2000,
    scheduleTickMs: opts.scheduleTickMs ?? 1000,
    graceMs: opts.graceMs ?? 30_000,
    backoffBaseMs: opts.backoffBaseMs ?? 1000,
    role: opts.role ?? 'worker',
    version: opts.version ?? '0',
    mode: opts.mode ?? 'normal',
    stallMs: opts.stallMs,
    maxStuck: opts.maxStuck ?? 8,
    stallCheckMs: opts.stallCheckMs ?? 1000,
  };
}
