/**
 * Copies per backup target as the health page shows them (`src/views/health.ts`): verified copies,
 * when the newest was verified, how long ago the copy read longest ago was last read (fixity), and
 * copies found corrupt. Read-only.
 */
import type { Queryable } from '../core/db/db.ts';

export interface CopyTargetHealth {
  target: string;
  verified: number;
  last_verified_at: Date | null;
  /** The oldest `coalesce(last_fixity_at, verified_at)` among verified copies. */
  oldest_read_at: Date | null;
  corrupt: number;
}

export async function copyTargetsHealth(q: Queryable): Promise<CopyTargetHealth[]> {
  const rows = await q.query<{
    target: string;
    verified: string;
    last_verified_at: Date | null;
    oldest_read_at: Date | null;
    corrupt: string;
  }>(
    `select target, count(*) filter (where state = 'verified') as verified,
       max(verified_at) filter (where state = 'verified') as last_verified_at,
       min(coalesce(last_fixity_at, verified_at)) filter (where state = 'verified') as oldest_read_at,
       count(*) filter (where state = 'corrupt') as corrupt
     from copies group by target order by target`,
  );
  return rows.map((r) => ({ ...r, verified: Number(r.verified), corrupt: Number(r.corrupt) }));
}
