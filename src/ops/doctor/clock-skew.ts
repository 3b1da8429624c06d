/**
 * Doctor check `clock skew`: this host's clock against the database's, warn above 2 s, fail above
 * 30 s (leases and schedules use both). `judgeClockSkew` decides; `checkClockSkew` measures.
 */
import type { Db } from '../../core/db/db.ts';
import { type CheckResult, fail, ok, warn } from './result.ts';

/**
 * The row for a host clock `skewS` seconds ahead of the database's (negative: behind), measured
 * over a round trip of `roundTripMs`.
 */
export function judgeClockSkew(skewS: number, roundTripMs: number): CheckResult {
  const abs = Math.abs(skewS);
  const detail = `host clock is ${abs.toFixed(3)} s ${skewS >= 0 ? 'ahead of' : 'behind'} the database's (round trip ${roundTripMs} ms)`;
  const hint =
    'synchronise the clocks with NTP (chrony, systemd-timesyncd) on this host and the database server';
  if (abs > 30) return fail('clock skew', 'host vs database', detail, hint);
  if (abs > 2) return warn('clock skew', 'host vs database', detail, hint);
  return ok('clock skew', 'host vs database', detail);
}

/** Host clock against the database's, the host's taken halfway through the query. */
export async function checkClockSkew(db: Db, now: () => number = Date.now): Promise<CheckResult> {
  const before = now();
  const row = await db.one<{ t: number }>('select extract(epoch from clock_timestamp())::float8 as t');
  const after = now();
  const host = (before + after) / 2;
  return judgeClockSkew((host - row.t * 1000) / 1000, after - before);
}
