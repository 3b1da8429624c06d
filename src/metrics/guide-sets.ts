/**
 * QC guide sets (the `qc_guide_sets` table's owner): an operator marks a baseline period of one
 * instrument's metric; its mean, sd and mean moving range are computed from the points of that period
 * once (`periodStats` in the metrics store) and recorded with who and when. A guide set is in force from
 * the start of its period until the next one of the same instrument and metric starts; retiring one
 * hands its time back to the one before. `guideFor` assigns each point of a series its guide set.
 */
import type { Queryable } from '../core/db/db.ts';
import { PermanentError } from '../core/errors.ts';
import { periodStats } from './store.ts';
import type { GuideFigures } from './westgard.ts';

/** Fewest points a baseline may have: fewer give an sd nobody should trust. */
export const MIN_GUIDE_POINTS = 5;

export interface GuideSetRow {
  id: string;
  instrument_id: string;
  metric: string;
  from_at: Date;
  to_at: Date;
  points: number;
  mean: number;
  sd: number;
  mean_mr: number | null;
  note: string | null;
  created_by: string;
  created_at: Date;
  retired_at: Date | null;
  retired_by: string | null;
}

export interface NewGuideSet {
  instrument: string;
  metric: string;
  from: Date;
  to: Date;
  note?: string;
  actor: string;
}

/** Records a guide set from the points of its period; refuses a period with too few points or no spread. */
export async function createGuideSet(q: Queryable, g: NewGuideSet): Promise<GuideSetRow> {
  if (!(g.to > g.from)) {
    throw new PermanentError(
      'qc.bad_period',
      'the guide set period must end after it starts',
      'give to later than from',
    );
  }
  const s = await periodStats(q, { instrument: g.instrument, metric: g.metric, from: g.from, to: g.to });
  if (s.points < MIN_GUIDE_POINTS || s.mean === null || s.sd === null) {
    throw new PermanentError(
      'qc.too_few_points',
      `${g.instrument} has ${s.points} value(s) of ${g.metric} from ${g.from.toISOString()} to ${g.to.toISOString()}; a guide set needs at least ${MIN_GUIDE_POINTS}`,
      'choose a longer baseline period, or one in which QC runs were recorded',
    );
  }
  if (!(s.sd > 0)) {
    throw new PermanentError(
      'qc.no_spread',
      `every value of ${g.metric} in that period is ${s.mean}: a guide set needs some spread to draw its limits`,
      'choose a period with more runs',
    );
  }
  return q.one<GuideSetRow>(
    `insert into qc_guide_sets (instrument_id, metric, from_at, to_at, points, mean, sd, mean_mr, note, created_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning *`,
    [g.instrument, g.metric, g.from, g.to, s.points, s.mean, s.sd, s.mean_mr, g.note ?? null, g.actor],
  );
}

/** The guide sets of an instrument (and metric), oldest start first; retired ones only when asked. */
export async function listGuideSets(
  q: Queryable,
  f: { instrument?: string; metric?: string; retired?: boolean },
): Promise<GuideSetRow[]> {
  return q.query<GuideSetRow>(
    `select * from qc_guide_sets where ($1::text is null or instrument_id = $1) and ($2::text is null or metric = $2)
       and ($3::boolean or retired_at is null)
     order by instrument_id, metric, from_at, id`,
    [f.instrument ?? null, f.metric ?? null, f.retired ?? false],
  );
}

/** Retires a guide set (kept on record); false when there is no such active one. */
export async function retireGuideSet(q: Queryable, id: string, actor: string): Promise<boolean> {
  const n = await q.exec(
    `update qc_guide_sets set retired_at = now(), retired_by = $2 where id = $1 and retired_at is null`,
    [id, actor],
  );
  return n > 0;
}

/**
 * Per point time (epoch ms, ascending), the guide set in force: the active one with the latest start
 * at or before the point (ties: the newest recorded). Points before every guide set get null.
 */
export function guideFor(times: readonly number[], sets: readonly GuideSetRow[]): (GuideFigures | null)[] {
  const active = sets
    .filter((s) => s.retired_at === null)
    .map((s) => ({ start: s.from_at.getTime(), id: Number(s.id), g: figures(s) }))
    .sort((a, b) => a.start - b.start || a.id - b.id);
  const out: (GuideFigures | null)[] = [];
  let j = -1;
  for (const t of times) {
    while (j + 1 < active.length && active[j + 1]!.start <= t) j++;
    out.push(j >= 0 ? active[j]!.g : null);
  }
  return out;
}

function figures(s: GuideSetRow): GuideFigures {
  return { id: String(s.id), mean: s.mean, sd: s.sd, meanMr: s.mean_mr };
}
