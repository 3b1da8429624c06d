/**
 * QC rules against a guide set (a baseline period an operator marked, `guide-sets.ts`): each point's
 * z-score against the mean and sd of the guide set in force at its time, the Westgard multirules,
 * CUSUM charts of the mean and of the variability, and the moving range. Pure: the caller supplies the
 * values in time order and, per point, the guide set's figures (or null before the first guide set).
 *
 * Westgard rules, evaluated on the points with a value and a guide set, in time order (z = (x − mean)/sd):
 *   1_3s  this point beyond ±3 sd
 *   2_2s  this and the previous point beyond 2 sd on the same side
 *   R_4s  this and the previous point beyond 2 sd on opposite sides (a range over 4 sd)
 *   4_1s  this and the previous 3 points beyond 1 sd on the same side
 *   10_x  this and the previous 9 points on the same side of the mean
 * A rule is named on the point that completes it. Consecutive means consecutive points with a value
 * (a run whose metric could not be computed is skipped, not a break).
 *
 * CUSUM (tabular, k = 0.5, decision limit h = 5 sd): mean_hi/mean_lo accumulate z − k and −z − k;
 * the variability CUSUM uses v = (√|z| − 0.822) / 0.349 (Hawkins), which has mean 0 and sd 1 for
 * normal data. Moving range: |xᵢ − xᵢ₋₁| between consecutive values, with the upper limit
 * 3.267 × the guide set's mean moving range.
 */

export const WESTGARD_RULES = ['1_3s', '2_2s', 'R_4s', '4_1s', '10_x'] as const;
export type WestgardRule = (typeof WESTGARD_RULES)[number];

/** The guide set's figures for one point (null: no guide set in force at that time). */
export interface GuideFigures {
  id: string;
  mean: number;
  sd: number;
  /** Mean moving range of the guide set's own points (null with fewer than 2 points). */
  meanMr: number | null;
}

export const CUSUM_K = 0.5;
export const CUSUM_H = 5;
export const MR_UCL_FACTOR = 3.267;

export interface QcEvaluation {
  z: (number | null)[];
  /** Per point, the rules it completes ([] for none). */
  rules: WestgardRule[][];
  cusum: {
    mean_hi: (number | null)[];
    mean_lo: (number | null)[];
    var_hi: (number | null)[];
    var_lo: (number | null)[];
  };
  mr: (number | null)[];
  mr_ucl: (number | null)[];
}

function sameSide(zs: readonly number[], n: number, limit: number): boolean {
  if (zs.length < n) return false;
  const last = zs.slice(-n);
  return last.every((z) => z > limit) || last.every((z) => z < -limit);
}

/** The rules the newest of `zs` (all earlier values with a guide set, oldest first) completes. */
export function rulesAt(zs: readonly number[]): WestgardRule[] {
  const out: WestgardRule[] = [];
  const z = zs[zs.length - 1];
  if (z === undefined) return out;
  if (Math.abs(z) > 3) out.push('1_3s');
  if (sameSide(zs, 2, 2)) out.push('2_2s');
  const prev = zs[zs.length - 2];
  if (prev !== undefined && ((z > 2 && prev < -2) || (z < -2 && prev > 2))) out.push('R_4s');
  if (sameSide(zs, 4, 1)) out.push('4_1s');
  if (sameSide(zs, 10, 0)) out.push('10_x');
  return out;
}

const finite = (v: number | null | undefined): v is number =>
  v !== null && v !== undefined && Number.isFinite(v);

export function evaluateQc(
  values: readonly (number | null)[],
  guides: readonly (GuideFigures | null)[],
): QcEvaluation {
  const out: QcEvaluation = {
    z: [],
    rules: [],
    cusum: { mean_hi: [], mean_lo: [], var_hi: [], var_lo: [] },
    mr: [],
    mr_ucl: [],
  };
  const zs: number[] = [];
  let hi = 0;
  let lo = 0;
  let vhi = 0;
  let vlo = 0;
  let prevValue: number | null = null;
  let prevGuide: string | null = null;
  values.forEach((v, i) => {
    const g = guides[i] ?? null;
    // A new guide set starts the sums afresh (it is a new baseline, e.g. after a column change).
    if (g?.id !== prevGuide) {
      hi = lo = vhi = vlo = 0;
      zs.length = 0;
      prevGuide = g?.id ?? null;
    }
    out.mr.push(finite(v) && prevValue !== null ? Math.abs(v - prevValue) : null);
    out.mr_ucl.push(g && g.meanMr !== null ? MR_UCL_FACTOR * g.meanMr : null);
    if (finite(v)) prevValue = v;
    if (!g || !finite(v) || !(g.sd > 0)) {
      out.z.push(null);
      out.rules.push([]);
      for (const k of ['mean_hi', 'mean_lo', 'var_hi', 'var_lo'] as const) out.cusum[k].push(null);
      return;
    }
    const z = (v - g.mean) / g.sd;
    zs.push(z);
    out.z.push(z);
    out.rules.push(rulesAt(zs));
    hi = Math.max(0, hi + z - CUSUM_K);
    lo = Math.max(0, lo - z - CUSUM_K);
    const w = (Math.sqrt(Math.abs(z)) - 0.822) / 0.349;
    vhi = Math.max(0, vhi + w - CUSUM_K);
    vlo = Math.max(0, vlo - w - CUSUM_K);
    out.cusum.mean_hi.push(hi);
    out.cusum.mean_lo.push(lo);
    out.cusum.var_hi.push(vhi);
    out.cusum.var_lo.push(vlo);
  });
  return out;
}
