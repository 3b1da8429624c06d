/** The task queue seen whole: queue depth per kind (CLI status, Prometheus), failed tasks (alerts), the status snapshot, and pruning of finished tasks. */
import type { Queryable } from '../core/db/db.ts';
import { listPools } from './pools.ts';
import { listProcesses } from './processes.ts';

export interface QueueRow {
  kind: string;
  queued: number;
  running: number;
  failed_24h: number;
  oldest_waiting_s: number | null;
}

/** Queue depth and the age of the oldest runnable task, per kind. */
export async function queueStatus(q: Queryable): Promise<QueueRow[]> {
  const rows = await q.query<{
    kind: string;
    queued: string;
    running: string;
    failed_24h: string;
    oldest: string | null;
  }>(
    `select kind,
       count(*) filter (where state = 'queued') as queued,
       count(*) filter (where state = 'running') as running,
       count(*) filter (where state = 'failed' and finished_at > now() - interval '24 hours') as failed_24h,
       extract(epoch from now() - min(run_after) filter (where state = 'queued' and run_after <= now()))::float8 as oldest
     from tasks where state in ('queued', 'running') or (state = 'failed' and finished_at > now() - interval '24 hours')
     group by kind order by kind`,
  );
  return rows.map((r) => ({
    kind: r.kind,
    queued: Number(r.queued),
    running: Number(r.running),
    failed_24h: Number(r.failed_24h),
    oldest_waiting_s: r.oldest === null ? null : Math.round(Number(r.oldest)),
  }));
}

/** Deletes finished tasks older than `days` (their outcome lives on in the domain tables and events). */
export async function pruneTasks(q: Queryable, days: number): Promise<number> {
  return q.exec(
    `delete from tasks where state in ('succeeded', 'cancelled', 'failed') and finished_at < now() - $1 * interval '1 day'`,
    [days],
  );
}

/**
 * What runs where (`sluice status`, `GET /api/status`): a process is alive when it heartbeated
 * within `staleMs` and was not found dead. Processes found dead (`dead_at`, `death`) are listed for
 * 24 h (`allDead`: all of them), then left out.
 */
export async function statusSnapshot(db: Queryable, staleMs: number, opts: { allDead?: boolean } = {}) {
  const [procs, pools, queues] = await Promise.all([
    listProcesses(db, undefined, opts.allDead ? null : undefined),
    listPools(db),
    queueStatus(db),
  ]);
  const processes = procs.map((p) => ({
    id: p.id,
    host: p.host,
    pid: p.pid,
    role: p.role,
    mode: p.mode,
    tags: p.tags,
    running: Number(p.running),
    started_at: p.started_at,
    last_heartbeat_at: p.last_heartbeat_at,
    alive: !p.died_at && Date.now() - p.last_heartbeat_at.getTime() < staleMs,
    dead_at: p.died_at,
    death: p.death,
  }));
  return { processes, pools, queues };
}

/** Queued and running tasks per kind, and the seconds the oldest runnable queued one waits (counts as text). */
export async function taskCountsByKind(
  q: Queryable,
): Promise<{ kind: string; queued: string; running: string; oldest: number | null }[]> {
  return q.query<{ kind: string; queued: string; running: string; oldest: number | null }>(
    `select kind,
         count(*) filter (where state = 'queued') as queued,
         count(*) filter (where state = 'running') as running,
         extract(epoch from now() - min(run_after) filter (where state = 'queued' and run_after <= now()))::float8 as oldest
       from tasks where state in ('queued', 'running') group by kind`,
  );
}

/** A task that failed for good. */
export interface FailedTask {
  id: string;
  kind: string;
  subject: string | null;
  last_error: string | null;
  finished_at: Date;
}

/** Tasks of a kind still being retried after failed attempts, per pool (the alert `s3_target_failing`). */
export interface RetryingTasks {
  kind: string;
  pool: string;
  /** The payload's `target` (a backup target's copies: `backup.s3`), null for kinds without one. */
  target: string | null;
  tasks: number;
  /** The most failed attempts among them. */
  attempts: number;
  /** When the oldest of them was enqueued. */
  since: Date;
  last_error: string | null;
}

/**
 * Per payload `target`: queued or running tasks of `kinds` put back at least `minWaits` times in a
 * row because their target was unavailable (payload `targetWaits`; not attempts).
 */
export async function waitingTasks(
  q: Queryable,
  kinds: readonly string[],
  minWaits: number,
): Promise<{ target: string; tasks: number; since: Date }[]> {
  const rows = await q.query<{ target: string; tasks: string; since: Date }>(
    `select payload->>'target' as target, count(*) as tasks, min(created_at) as since from tasks
     where kind = any($1) and state in ('queued', 'running') and payload ? 'target'
       and coalesce((payload->>'targetWaits')::int, 0) >= $2
     group by payload->>'target' order by target`,
    [kinds, minWaits],
  );
  return rows.map((r) => ({ ...r, tasks: Number(r.tasks) }));
}

/**
 * Per kind, pool and payload `target`: queued or running tasks of `kinds` with at least `minAttempts`
 * failed attempts.
 */
export async function retryingTasks(
  q: Queryable,
  kinds: readonly string[],
  minAttempts: number,
): Promise<RetryingTasks[]> {
  const rows = await q.query<Omit<RetryingTasks, 'tasks'> & { tasks: string }>(
    `select kind, pool, payload->>'target' as target, count(*) as tasks, max(attempts) as attempts, min(created_at) as since,
       (array_agg(last_error order by run_after desc))[1] as last_error
     from tasks
     where kind = any($1) and state in ('queued', 'running') and attempts >= $2 and last_error is not null
     group by kind, pool, payload->>'target' order by kind, pool, target`,
    [kinds, minAttempts],
  );
  return rows.map((r) => ({ ...r, tasks: Number(r.tasks) }));
}

/**
 * The first 100 tasks that failed for good after `after` (ISO time), of one of `kinds` or a kind
 * matching one of `kindPatterns` (SQL `like`), in the order they finished.
 */
export async function failedTasksSince(
  q: Queryable,
  after: string,
  kinds: readonly string[],
  kindPatterns: readonly string[],
): Promise<FailedTask[]> {
  return q.query<FailedTask>(
    `select id, kind, subject, last_error, finished_at from tasks
     where state = 'failed' and finished_at > $1 and (kind = any($2) or kind like any($3))
     order by finished_at, id limit 100`,
    [after, kinds, kindPatterns],
  );
}

/**
 * Per value of the payload field `key` (e.g. a compute unit's name): tasks of `kind` waiting for
 * another attempt after a failed one (`retrying`), and tasks failed for good, not pruned yet (`failed`).
 */
export async function taskFailuresBy(
  q: Queryable,
  kind: string,
  key: string,
): Promise<{ value: string; retrying: number; failed: number }[]> {
  return q.query(
    `select payload->>$2 as value,
       count(*) filter (where state in ('queued', 'running'))::int as retrying,
       count(*) filter (where state = 'failed')::int as failed
     from tasks where kind = $1 and payload ? $2
       and (state = 'failed' or (state in ('queued', 'running') and last_error is not null))
     group by 1 order by 1`,
    [kind, key],
  );
}
