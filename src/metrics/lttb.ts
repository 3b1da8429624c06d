/**
 * Display downsampling of a metric series: Largest-Triangle-Three-Buckets (Steinarsson, 2013) picks
 * `threshold` of the points so that a line chart of them looks like the chart of all of them (peaks
 * and dips survive, flat stretches thin out). The answer is indexes into the series, so every kept
 * point is a real point with its file. Points without a value are never picked (they do not draw);
 * `keep` names points that must survive whatever their shape (outliers, rule violations), added on
 * top of the threshold.
 */

/** Indexes of the points to draw, ascending; every index with a value when there are few enough. */
export function lttb(
  t: readonly number[],
  value: readonly (number | null)[],
  threshold: number,
  keep: readonly boolean[] = [],
): number[] {
  // the points with a value, in a typed array (pushing 100,000 indexes to a plain one is 40× slower)
  const all = new Int32Array(value.length);
  let m = 0;
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    if (typeof v === 'number' && Number.isFinite(v)) all[m++] = i;
  }
  const present = all.subarray(0, m);
  const picked =
    m <= threshold || threshold < 3 ? Array.from(present) : triangles(t, value, present, threshold);
  const forced: number[] = [];
  for (let i = 0; i < keep.length; i++) if (keep[i]) forced.push(i);
  if (forced.length === 0) return picked;
  return [...new Set([...picked, ...forced])].sort((a, b) => a - b);
}

/**
 * LTTB over the points `idx` (indexes with values, ascending): first and last kept, one per bucket
 * between. The points are copied into typed arrays first: the loops below then read flat memory
 * (100,000 points in a few milliseconds).
 */
function triangles(
  t: readonly number[],
  value: readonly (number | null)[],
  idx: Int32Array,
  threshold: number,
): number[] {
  const n = idx.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    x[k] = t[idx[k]!]!;
    y[k] = value[idx[k]!] as number;
  }
  const out = [idx[0]!];
  const every = (n - 2) / (threshold - 2);
  let a = 0; // the point picked in the previous bucket
  for (let b = 0; b < threshold - 2; b++) {
    // the next bucket's average is the third corner of the triangle
    const nextStart = Math.floor((b + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((b + 2) * every) + 1, n);
    let avgX = 0;
    let avgY = 0;
    for (let k = nextStart; k < nextEnd; k++) {
      avgX += x[k]!;
      avgY += y[k]!;
    }
    const span = Math.max(nextEnd - nextStart, 1);
    avgX /= span;
    avgY /= span;
    if (nextStart >= n) {
      avgX = x[n - 1]!;
      avgY = y[n - 1]!;
    }
    const start = Math.floor(b * every) + 1;
    const end = Math.floor((b + 1) * every) + 1;
    const ax = x[a]!;
    const ay = y[a]!;
    let best = start;
    let bestArea = -1;
    for (let k = start; k < end; k++) {
      const area = Math.abs((ax - avgX) * (y[k]! - ay) - (ax - x[k]!) * (avgY - ay));
      if (area > bestArea) {
        bestArea = area;
        best = k;
      }
    }
    out.push(idx[best]!);
    a = best;
  }
  out.push(idx[n - 1]!);
  return out;
}

/**
 * `o` with every per-point array (an array of length `n`, at any depth of plain objects) cut down to
 * the points `idx`; other fields as they are. Used to thin a series with its bands and QC rules.
 */
export function pickPoints<T>(o: T, idx: readonly number[], n: number): T {
  if (Array.isArray(o)) return (o.length === n ? idx.map((i) => o[i]) : o) as T;
  if (o === null || typeof o !== 'object') return o;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = pickPoints(v, idx, n);
  return out as T;
}
