/**
 * Copies per (target, state), kept exact by the database (migration 0048): triggers on `copies` add
 * delta rows to `copy_counts`, the counts are their sums. Part of the owner of `copies`; what
 * `copiesPerTarget` (./copies.ts) reads for the Health page, `sluice status` and `GET /api/status`.
 *
 * The reader keeps the table small: past `COMPACT_AT` delta rows it folds them into one row per
 * (target, state) in one statement (delete ... returning, insert the sums). A reader sees the rows
 * before or after that statement, both exact; a second compaction at the same time skips the rows
 * the first deleted and sums only the others. Readers (the Health page every 5 s at most, the
 * Prometheus scrape, `sluice status`) are what bounds the table: with nobody reading, it grows by
 * about one row per backup statement until the next read folds it.
 */

import type { Queryable } from '../core/db/db.ts';

/** Delta rows past which a read folds them (summing a few hundred rows takes well under 1 ms). */
export const COMPACT_AT = 500;

/** How long the first read waits for writers of `copies` before counting in full instead. */
const BASELINE_WAIT = '1 second';

/** How many copies there are on `target` in `state`. */
export interface CopyCount {
  target: string;
  state: string;
  n: number;
}

/**
 * The counts per (target, state) with a non-zero count, or undefined while the database has no
 * baseline yet (copies from before migration 0048) and one could not be taken now: `copies` stayed
 * locked by writers for `BASELINE_WAIT`; the caller counts in full and the next read tries again.
 */
export async function copyCounts(q: Queryable): Promise<CopyCount[] | undefined> {
  // true at once when the baseline exists (the function looks first, before taking any lock)
  const { taken } = await q.one<{ taken: boolean }>(
    'select sluice_copy_counts_baseline($1::interval) as taken',
    [BASELINE_WAIT],
  );
  if (!taken) return undefined;
  const rows = await q.query<{ target: string; state: string; n: string; deltas: number }>(
    'select target, state, sum(n)::text as n, count(*)::int as deltas from copy_counts group by target, state',
  );
  if (rows.reduce((s, r) => s + r.deltas, 0) > COMPACT_AT) await compactCopyCounts(q);
  return rows.filter((r) => r.n !== '0').map((r) => ({ target: r.target, state: r.state, n: Number(r.n) }));
}

/** Whether the counts have their starting point (migration 0048 on a database with copies: not yet). */
export async function hasBaseline(q: Queryable): Promise<boolean> {
  const r = await q.one<{ has: boolean }>('select exists (select 1 from copy_counts_baseline) as has');
  return r.has;
}

/** Folds the delta rows into one row per (target, state) (groups summing to zero leave none); how many rows were folded. */
export async function compactCopyCounts(q: Queryable): Promise<number> {
  const r = await q.one<{ folded: number }>(
    `with d as (delete from copy_counts returning target, state, n),
       s as (insert into copy_counts (target, state, n)
             select target, state, sum(n) from d group by target, state having sum(n) <> 0)
     select count(*)::int as folded from d`,
  );
  return r.folded;
}
