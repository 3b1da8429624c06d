/**
 * Levey-Jennings bands for QC metrics: for each point, the mean and standard deviation of the
 * `window` points before it (the point itself is left out, so an outlier does not widen its own
 * band), and whether the point lies outside mean ± k·sd.
 *
 *   values   3  4  3  4  3  9  4
 *   window 4                ↑ mean 3.5, sd 0.58 over [3,4,3,4] → 9 is an outlier (k = 2)
 *
 * Points with fewer than `minPoints` finite values before them get no band (null) and are never
 * outliers; null values (a metric that could not be computed) are skipped, not counted as 0.
 * O(n) with running sums over the window, taken relative to the first value so that large values
 * close together (1e9 ± 1) keep their precision.
 */

export interface Bands {
  mean: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  /** True where the value lies outside [lower, upper]. */
  outlier: boolean[];
}

export function rollingBands(
  values: readonly (number | null)[],
  opts: { window: number; k: number; minPoints?: number },
): Bands {
  const minPoints = Math.max(2, Math.min(opts.minPoints ?? 3, opts.window));
  const out: Bands = { mean: [], lower: [], upper: [], outlier: [] };
  const win: number[] = []; // the finite values in the current window, oldest first
  let sum = 0;
  let sumSq = 0;
  const ref = values.find((v): v is number => v !== null && Number.isFinite(v)) ?? 0;
  for (const v of values) {
    const n = win.length;
    if (n >= minPoints) {
      const shifted = sum / n;
      const mean = ref + shifted;
      // sample standard deviation; clamp rounding noise below zero
      const sd = Math.sqrt(Math.max(0, (sumSq - n * shifted * shifted) / (n - 1)));
      const lower = mean - opts.k * sd;
      const upper = mean + opts.k * sd;
      out.mean.push(mean);
      out.lower.push(lower);
      out.upper.push(upper);
      out.outlier.push(v !== null && Number.isFinite(v) && (v < lower || v > upper));
    } else {
      out.mean.push(null);
      out.lower.push(null);
      out.upper.push(null);
      out.outlier.push(false);
    }
    if (v !== null && Number.isFinite(v)) {
      const x = v - ref;
      win.push(x);
      sum += x;
      sumSq += x * x;
      if (win.length > opts.window) {
        const old = win.shift()!;
        sum -= old;
        sumSq -= old * old;
      }
    }
  }
  return out;
}
