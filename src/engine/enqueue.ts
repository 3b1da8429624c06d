/**
 * Adding and cancelling tasks: the engine's generic insert, used by the task catalogue
 * (src/tasks/catalogue.ts: the domain enqueues through it, typed by kind) and by the schedules.
 */
import type { Queryable } from '../core/db/db.ts';
import type { TaskRow, TaskSpec } from './types.ts';

/**
 * Adds a task. Returns its id, or `undefined` when a queued/running task with the same
 * `dedupeKey` exists. Call it inside a transaction to enqueue atomically with domain writes.
 */
export async function enqueue(q: Queryable, spec: TaskSpec): Promise<string | undefined> {
  const row = await q.maybeOne<{ id: string }>(
    `insert into tasks (kind, subject, payload, pool, tags, priority, max_attempts, run_after, dedupe_key)
     values ($1, $2, $3::jsonb, $4, $5, $6, $7, coalesce($8, now()), $9)
     on conflict (dedupe_key) where dedupe_key is not null and state in ('queued', 'running') do nothing
     returning id`,
    [
      spec.kind,
      spec.subject ?? null,
      JSON.stringify(spec.payload ?? {}),
      spec.pool ?? 'default',
      spec.tags ?? [],
      spec.priority ?? 0,
      spec.maxAttempts ?? 10,
      spec.runAfter ?? null,
      spec.dedupeKey ?? null,
    ],
  );
  return row?.id;
}

/**
 * Many tasks in one statement, in the order given, with the same de-duplication as `enqueue`: a task
 * whose `dedupeKey` is queued or running already is not added. Returns how many were added.
 */
export async function enqueueMany(q: Queryable, specs: TaskSpec[]): Promise<number> {
  if (specs.length === 0) return 0;
  return q.exec(
    `insert into tasks (kind, subject, payload, pool, tags, priority, max_attempts, run_after, dedupe_key)
     select x.kind, x.subject, x.payload, x.pool, x.tags, x.priority, x.max_attempts, coalesce(x.run_after, now()), x.dedupe_key
     from jsonb_to_recordset($1::jsonb) as x(kind text, subject text, payload jsonb, pool text, tags text[], priority int, max_attempts int, run_after timestamptz, dedupe_key text, ord int)
     order by x.ord
     on conflict (dedupe_key) where dedupe_key is not null and state in ('queued', 'running') do nothing`,
    [
      JSON.stringify(
        specs.map((s, ord) => ({
          kind: s.kind,
          subject: s.subject ?? null,
          payload: s.payload ?? {},
          pool: s.pool ?? 'default',
          tags: s.tags ?? [],
          priority: s.priority ?? 0,
          max_attempts: s.maxAttempts ?? 10,
          run_after: s.runAfter ?? null,
          dedupe_key: s.dedupeKey ?? null,
          ord,
        })),
      ),
    ],
  );
}

export async function getTask(q: Queryable, id: string): Promise<TaskRow | undefined> {
  return q.maybeOne<TaskRow>('select * from tasks where id = $1', [id]);
}

/** Cancels queued tasks at once; a running one is marked and its worker sees the lease gone. */
export async function cancelTasks(q: Queryable, where: { subject: string; kind?: string }): Promise<number> {
  return q.exec(
    `update tasks set state = 'cancelled', finished_at = now(), lease_owner = null, lease_expires_at = null
     where subject = $1 and ($2::text is null or kind = $2) and state in ('queued', 'running')`,
    [where.subject, where.kind ?? null],
  );
}
