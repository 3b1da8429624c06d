/**
 * Copies per (target, state), kept exact by the database (migration 0048): triggers on `copies` add
 * delta rows to `copy_counts`, the counts are their sums. Part of the owner of `copies`; what
 * `copiesPerTarget` (./copies.ts) reads for the Health page, `sluice status` and `GET /api/status`.
 *
 * Past `COMPACT_AT` delta rows the table is folded into one row per (target, state) in one statement
 * (delete ... returning, insert the sums). A reader sees the rows before or after that statement,
 * both exact. Two things fold: a read that finds more (the Health page every 5 s at most, the
 * Prometheus scrape, `sluice status`), and the periodic task `files.copy_counts_fold`
 * (`foldCopyCounts`, every `FOLD_EVERY_MS`), which bounds the table when nobody reads (it grows by
 * about one row per statement writing `copies`).
 *
 * One fold at a time: a fold first takes a transaction-level advisory lock (`DbLock.copyCountsFold`)
 * without waiting; when another fold holds it, this one folds nothing (a read keeps the sums it read,
 * as exact; the periodic task skips that round). Without it two folds at once deleted the same rows
 * in the order each one's scan met them, and past several hundred thousand rows (synchronised
 * sequential scans start in the middle of the table) they could meet each other's row locks in
 * opposite orders: a deadlock, one of them failed.
 *
 * A read folds, and takes the baseline, only in a read-committed transaction that can write (the
 * usual case: each statement its own transaction). Elsewhere the write would fail the read (a
 * read-only transaction, a standby) or could (a repeatable-read transaction meeting a concurrent
 * fold: a serialization failure), so the read only sums: the counts are as exact, the fold waits
 * for the next read or period.
 */

import { DbLock, type Queryable } from '../core/db/db.ts';

/** Delta rows past which a read folds them (summing a few hundred rows takes well under 1 ms). */
export const COMPACT_AT = 500;

/** How often the periodic task looks (and folds past `COMPACT_AT`): a few minutes of backups' deltas. */
export const FOLD_EVERY_MS = 5 * 60_000;

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
 * locked by writers for `BASELINE_WAIT`, or this transaction may not take it (see the module
 * comment); the caller counts in full and the next read tries again.
 */
export async function copyCounts(q: Queryable): Promise<CopyCount[] | undefined> {
  // `taken`: true at once when the baseline exists (the function looks first, before any lock);
  // `writes`: whether this transaction may fold and take the baseline
  const { taken, writes } = await q.one<{ taken: boolean; writes: boolean }>(
    `select case when w.writes then sluice_copy_counts_baseline($1::interval)
                 else exists (select 1 from copy_counts_baseline) end as taken, w.writes
     from (select current_setting('transaction_read_only') = 'off'
                  and current_setting('transaction_isolation') = 'read committed' as writes) w`,
    [BASELINE_WAIT],
  );
  if (!taken) return undefined;
  const rows = await q.query<{ target: string; state: string; n: string; deltas: number }>(
    'select target, state, sum(n)::text as n, count(*)::int as deltas from copy_counts group by target, state',
  );
  if (writes && rows.reduce((s, r) => s + r.deltas, 0) > COMPACT_AT) await compactCopyCounts(q);
  return rows.filter((r) => r.n !== '0').map((r) => ({ target: r.target, state: r.state, n: Number(r.n) }));
}

/** Whether the counts have their starting point (migration 0048 on a database with copies: not yet). */
export async function hasBaseline(q: Queryable): Promise<boolean> {
  const r = await q.one<{ has: boolean }>('select exists (select 1 from copy_counts_baseline) as has');
  return r.has;
}

/**
 * Folds the delta rows into one row per (target, state) (groups summing to zero leave none); how many
 * rows were folded, or undefined when another fold holds the lock (nothing done, nothing waited for).
 * One statement: the lock, taken before any row is deleted, is held to the end of the transaction
 * the statement runs in (its own, or the caller's).
 */
export async function compactCopyCounts(q: Queryable): Promise<number | undefined> {
  const r = await q.one<{ got: boolean; folded: number }>(
    `with l as materialized (select pg_try_advisory_xact_lock($1, $2) as got),
       d as (delete from copy_counts where (select got from l) returning target, state, n),
       s as (insert into copy_counts (target, state, n)
             select target, state, sum(n) from d group by target, state having sum(n) <> 0)
     select (select got from l) as got, count(*)::int as folded from d`,
    [DbLock.namespace, DbLock.copyCountsFold],
  );
  return r.got ? r.folded : undefined;
}

/**
 * The periodic fold (task `files.copy_counts_fold`): folds the delta rows when there are more than
 * `COMPACT_AT`, whether or not the baseline was taken (a fold keeps every sum; the baseline, when
 * taken, replaces them all). Idempotent, one statement each: a crash leaves the rows before or after
 * the fold. Returns how many rows were folded (0: few enough, left alone; undefined: another fold
 * was running, this round left them to it).
 */
export async function foldCopyCounts(q: Queryable): Promise<number | undefined> {
  const { n } = await q.one<{ n: number }>('select count(*)::int as n from copy_counts');
  return n > COMPACT_AT ? compactCopyCounts(q) : 0;
}
