/**
 * Which of the newest QC runs broke a Westgard rule, for the `qc_rule_violation` alert: per
 * instrument and metric with an active guide set, the newest run judged against it with the runs
 * before it (the rules look back at most 10 runs), reported when it was recorded after `since`.
 */
import type { Queryable } from '../core/db/db.ts';
import { guideFor, listGuideSets } from './guide-sets.ts';
import { recentPoints } from './store.ts';
import { evaluateQc, type WestgardRule } from './westgard.ts';

/** The longest look back of any rule (10_x). */
const RUN_LENGTH = 10;

export interface QcViolation {
  instrument: string;
  metric: string;
  file_id: string;
  value: number;
  at: Date;
  rules: WestgardRule[];
  mean: number;
  sd: number;
}

export async function recentQcViolations(q: Queryable, since: Date): Promise<QcViolation[]> {
  const sets = await listGuideSets(q, {});
  const pairs = new Map<string, typeof sets>();
  for (const s of sets) {
    const key = `${s.instrument_id}\u0000${s.metric}`;
    pairs.set(key, [...(pairs.get(key) ?? []), s]);
  }
  const out: QcViolation[] = [];
  for (const [key, own] of pairs) {
    const [instrument, metric] = key.split('\u0000') as [string, string];
    const points = await recentPoints(q, { instrument, metric, n: RUN_LENGTH });
    const newest = points.at(-1);
    if (!newest || newest.created_at < since || newest.value === null) continue;
    const guides = guideFor(
      points.map((p) => p.created_at.getTime()),
      own,
    );
    const judged = evaluateQc(
      points.map((p) => p.value),
      guides,
    );
    const rules = judged.rules.at(-1) ?? [];
    const g = guides.at(-1);
    if (rules.length === 0 || !g) continue;
    out.push({
      instrument,
      metric,
      file_id: newest.file_id,
      value: newest.value,
      at: newest.created_at,
      rules,
      mean: g.mean,
      sd: g.sd,
    });
  }
  return out;
}
