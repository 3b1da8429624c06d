/**
 * QC rules for metric time series (pure functions, for the dashboard and alerts).
 *
 * Levey-Jennings: a point is out of control when it lies outside mean ± k·sd of the `window` points
 * before it. Points are ordered by `t`; `null` values (missing metrics) are neither judged nor counted
 * in windows.
 */

export interface SeriesPoint {
  t: number;
  v: number | null;
}

export interface RollingStat {
  t: number;
  /** Mean of the up to `window` non-null values before this point; null with fewer than 2. */
  mean: number | null;
  /** Sample standard deviation (n − 1) of the same values; null with fewer than 2. */
  sd: number | null;
  /** How many values the figures come from. */
  n: number;
}

export interface Outlier {
  t: number;
  v: number;
  mean: number;
  sd: number;
  /** (v − mean) / sd; ±Infinity when sd is 0. */
  z: number;
}

function checkWindow(window: number): void {
  if (!Number.isInteger(window) || window < 2) {
    throw new RangeError(`window must be an integer >= 2, got ${window}`);
  }
}

function sortedByT(values: readonly SeriesPoint[]): SeriesPoint[] {
  return values
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.t - b.p.t || a.i - b.i)
    .map((x) => x.p);
}

function isValue(v: number | null): v is number {
  return v !== null && Number.isFinite(v);
}

/**
 * For each point (in `t` order), the mean and sd of the up to `window` non-null values BEFORE it:
 * the control limits that apply to that point.
 */
export function rollingStats(values: readonly SeriesPoint[], window: number): RollingStat[] {
  checkWindow(window);
  const out: RollingStat[] = [];
  const prev: number[] = [];
  for (const p of sortedByT(values)) {
    const n = prev.length;
    if (n < 2) {
      out.push({ t: p.t, mean: null, sd: null, n });
    } else {
      let sum = 0;
      for (const x of prev) sum += x;
      const mean = sum / n;
      let ss = 0;
      for (const x of prev) ss += (x - mean) ** 2;
      out.push({ t: p.t, mean, sd: Math.sqrt(ss / (n - 1)), n });
    }
    if (isValue(p.v)) {
      prev.push(p.v);
      if (prev.length > window) prev.shift();
    }
  }
  return out;
}

/**
 * Points outside mean ± k·sd of the previous `window` non-null values (Levey-Jennings, e.g. k = 2 for
 * a warning, 3 for a rejection). A point is only judged once `minPoints` earlier values exist. When the
 * earlier values are all equal (sd 0), any different value is an outlier.
 */
export function outliers(
  points: readonly SeriesPoint[],
  k: number,
  opts: { window?: number; minPoints?: number } = {},
): Outlier[] {
  if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`k must be a positive number, got ${k}`);
  const window = opts.window ?? 20;
  const minPoints = opts.minPoints ?? Math.min(5, window);
  checkWindow(window);
  if (!Number.isInteger(minPoints) || minPoints < 2 || minPoints > window) {
    throw new RangeError(`minPoints must be an integer from 2 to window (${window}), got ${minPoints}`);
  }
  const sorted = sortedByT(points);
  const stats = rollingStats(sorted, window);
  const out: Outlier[] = [];
  sorted.forEach((p, i) => {
    const s = stats[i]!;
    if (!isValue(p.v) || s.mean === null || s.sd === null || s.n < minPoints) return;
    const dev = p.v - s.mean;
    if (Math.abs(dev) > k * s.sd) {
      const z = s.sd === 0 ? (dev > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY) : dev / s.sd;
      out.push({ t: p.t, v: p.v, mean: s.mean, sd: s.sd, z });
    }
  });
  return out;
}
