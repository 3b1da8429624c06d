/**
 * Copies per backup target as the health page shows them (`src/views/health.ts`): when the newest
 * copy there was verified, how long ago the copy read longest ago was last read (fixity), and copies
 * found corrupt. Read-only.
 *
 * Each figure is read from an index on (target, …) over the verified (or corrupt) copies
 * (migration 0044): a max or min is one index descent, and corrupt copies are few, so the cost does
 * not grow with the number of copies (grouping all of `copies` took 1.9 s at 2,000,000 copies).
 */
import type { Queryable } from '../core/db/db.ts';

export interface CopyTargetHealth {
  target: string;
  last_verified_at: Date | null;
  /** The oldest `coalesce(last_fixity_at, verified_at)` among verified copies. */
  oldest_read_at: Date | null;
  corrupt: number;
}

/** The figures of each of `targets` (in that order; a target without copies has nulls and 0). */
export async function copyTargetsHealth(
  q: Queryable,
  targets: readonly string[],
): Promise<CopyTargetHealth[]> {
  return q.query<CopyTargetHealth>(
    `select t.target,
       (select max(verified_at) from copies where target = t.target and state = 'verified') as last_verified_at,
       (select min(coalesce(last_fixity_at, verified_at)) from copies
         where target = t.target and state = 'verified') as oldest_read_at,
       (select count(*)::int from copies where target = t.target and state = 'corrupt') as corrupt
     from unnest($1::text[]) with ordinality as t(target, n) order by t.n`,
    [targets],
  );
}
