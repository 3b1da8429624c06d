/**
 * Adding and cancelling tasks: the engine's generic insert, used by the task catalogue
 * (src/tasks/catalogue.ts: the domain enqueues through it, typed by kind) and by the schedules.
 *
 * De-duplication (`dedupeKey`): a task whose key is queued already is not added (it has not
 * started; it will see what the caller wrote). One whose key is RUNNING asks that task to run once
 * more when it completes (migration 0040: the completion queues it again instead of finishing it,
 * atomically), so work that fell due while it ran is not left for the next schedule.
 */
import type { Queryable } from '../core/db/db.ts';
import type { TaskRow, TaskSpec } from './types.ts';

/** A spec as the insert statements take it (jsonb_to_recordset), `ord` its place in the call. */
function specRow(s: TaskSpec, ord: number) {
  return {
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
  };
}

/**
 * Keyed specs of which some found their key taken: a running task with the key is marked to run
 * once more; where the key is gone by now (that task finished meanwhile) the task is added after all
 * (0040). Keys this call just added are queued: nothing more. Returns the ids added.
 */
async function enqueueTaken(q: Queryable, rows: ReturnType<typeof specRow>[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const added = await q.query<{ id: string }>('select sluice_enqueue_taken($1::jsonb) as id', [
    JSON.stringify(rows),
  ]);
  return added.map((a) => a.id);
}

/**
 * Adds a task. Returns its id, or `undefined` when a queued/running task with the same
 * `dedupeKey` exists (a running one then runs once more, see above). Call it inside a transaction
 * to enqueue atomically with domain writes.
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
  if (row || !spec.dedupeKey || spec.whileRunning === 'skip') return row?.id;
  return (await enqueueTaken(q, [specRow(spec, 0)]))[0];
}

/**
 * Many tasks in one statement, in the order given, with the same de-duplication as `enqueue` (when
 * not all were added, the keyed ones go through a second statement). Returns how many were added.
 */
export async function enqueueMany(q: Queryable, specs: TaskSpec[]): Promise<number> {
  if (specs.length === 0) return 0;
  const rows = specs.map(specRow);
  const n = await q.exec(
    `insert into tasks (kind, subject, payload, pool, tags, priority, max_attempts, run_after, dedupe_key)
     select x.kind, x.subject, x.payload, x.pool, x.tags, x.priority, x.max_attempts, coalesce(x.run_after, now()), x.dedupe_key
     from jsonb_to_recordset($1::jsonb) as x(kind text, subject text, payload jsonb, pool text, tags text[], priority int, max_attempts int, run_after timestamptz, dedupe_key text, ord int)
     order by x.ord
     on conflict (dedupe_key) where dedupe_key is not null and state in ('queued', 'running') do nothing`,
    [JSON.stringify(rows)],
  );
  if (n === specs.length) return n;
  const taken = rows.filter((r, i) => r.dedupe_key !== null && specs[i]!.whileRunning !== 'skip');
  return n + (await enqueueTaken(q, taken)).length;
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
