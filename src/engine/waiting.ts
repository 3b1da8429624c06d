/**
 * Waking tasks that wait: a task that put itself back to look again later (`ctx.again`, e.g. a
 * `process.submit` that found no free cluster slot) is made runnable at once when what it waits for
 * happened. Setting `run_after` to now fires the `tasks_notify` trigger (migration 0001), whose
 * `pg_notify('sluice_tasks', pool)` — delivered when the caller's transaction commits — makes an idle
 * worker claim it without waiting for its poll interval.
 */
import type { Queryable } from '../core/db/db.ts';

/**
 * Makes up to `n` queued tasks of `kind` whose `run_after` is still in the future runnable now,
 * oldest first (by id). With `waitingFor`, only those whose payload says they wait for that
 * (`payload.waitingFor`, set by the task when it put itself back): a task waiting out a retry's
 * backoff after a failure is left to wait. Returns how many were woken. Call it in the transaction
 * of the write that freed what they wait for, so the wake-up and its cause commit together.
 */
export async function wakeWaiting(
  q: Queryable,
  kind: string,
  n: number,
  waitingFor?: string,
): Promise<number> {
  if (n <= 0) return 0;
  return q.exec(
    `update tasks set run_after = now()
     where id in (
       select id from tasks
       where kind = $1 and state = 'queued' and run_after > now()
         and ($3::text is null or payload->>'waitingFor' = $3)
       order by id
       limit $2
       for update skip locked
     )`,
    [kind, n, waitingFor ?? null],
  );
}

/**
 * Makes one queued task runnable now (its wait ran out here, or what it waits for happened): the
 * write fires the same notification, so an idle worker claims it at once instead of at its next
 * idle look. False when it is not queued (already claimed, finished).
 */
export async function wakeTask(q: Queryable, id: string): Promise<boolean> {
  return (
    (await q.exec(`update tasks set run_after = least(run_after, now()) where id = $1 and state = 'queued'`, [
      id,
    ])) === 1
  );
}
