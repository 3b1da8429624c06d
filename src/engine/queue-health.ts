/**
 * The queue as the health page shows it (`src/views/health.ts`): per kind and pool, how many tasks
 * wait and run, and the oldest runnable waiting task (its id, subject, tags and how long it waits),
 * so an operator sees which pool or tag a stuck queue needs. Read-only.
 */
import type { Queryable } from '../core/db/db.ts';

export interface PoolQueue {
  kind: string;
  pool: string;
  queued: number;
  running: number;
  /** The oldest queued task whose `run_after` has come (waiting now); null when none waits. */
  oldest: { id: string; subject: string | null; tags: string[]; waiting_s: number } | null;
}

/** Queued and running tasks per kind and pool, with the oldest runnable waiting task of each. */
export async function queuesByPool(q: Queryable): Promise<PoolQueue[]> {
  const rows = await q.query<{
    kind: string;
    pool: string;
    queued: string;
    running: string;
    oldest_id: string | null;
    oldest_subject: string | null;
    oldest_tags: string[] | null;
    oldest_s: number | null;
  }>(
    `with counts as (
       select kind, pool, count(*) filter (where state = 'queued') as queued,
         count(*) filter (where state = 'running') as running
       from tasks where state in ('queued', 'running') group by kind, pool),
     oldest as (
       select distinct on (kind, pool) kind, pool, id, subject, tags,
         extract(epoch from now() - run_after)::float8 as waiting_s
       from tasks where state = 'queued' and run_after <= now()
       order by kind, pool, run_after, id)
     select c.kind, c.pool, c.queued, c.running, o.id as oldest_id, o.subject as oldest_subject,
       o.tags as oldest_tags, o.waiting_s as oldest_s
     from counts c left join oldest o on o.kind = c.kind and o.pool = c.pool
     order by c.pool, c.kind`,
  );
  return rows.map((r) => ({
    kind: r.kind,
    pool: r.pool,
    queued: Number(r.queued),
    running: Number(r.running),
    oldest:
      r.oldest_id === null
        ? null
        : {
            id: String(r.oldest_id),
            subject: r.oldest_subject,
            tags: r.oldest_tags ?? [],
            waiting_s: Math.max(0, Math.round(Number(r.oldest_s))),
          },
  }));
}
