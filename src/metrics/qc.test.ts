import { describe, expect, it } from 'vitest';
import { outliers, rollingStats, type SeriesPoint } from './qc.ts';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function series(n: number, seed: number, nullEvery = 0): SeriesPoint[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    t: 1000 + i * 60,
    v: nullEvery && i % nullEvery === 3 ? null : 100 + (r() - 0.5) * 10,
  }));
}

/** Brute force: stats of the previous `window` non-null values. */
function naive(points: SeriesPoint[], window: number) {
  return points.map((p, i) => {
    const prev = points
      .slice(0, i)
      .map((x) => x.v)
      .filter((v): v is number => v !== null)
      .slice(-window);
    if (prev.length < 2) return { t: p.t, mean: null, sd: null, n: prev.length };
    const mean = prev.reduce((a, b) => a + b, 0) / prev.length;
    const sd = Math.sqrt(prev.reduce((a, b) => a + (b - mean) ** 2, 0) / (prev.length - 1));
    return { t: p.t, mean, sd, n: prev.length };
  });
}

describe('rollingStats', () => {
  it('matches a brute-force computation on generated series with gaps', () => {
    for (const [n, seed, nullEvery, window] of [
      [50, 1, 0, 5],
      [200, 2, 7, 20],
      [30, 3, 4, 2],
      [10, 4, 0, 50],
    ]) {
      const pts = series(n!, seed!, nullEvery);
      const got = rollingStats(pts, window!);
      const want = naive(pts, window!);
      expect(got).toHaveLength(n!);
      got.forEach((g, i) => {
        const w = want[i]!;
        expect(g.t).toBe(w.t);
        expect(g.n).toBe(w.n);
        if (w.mean === null) {
          expect(g.mean).toBeNull();
          expect(g.sd).toBeNull();
        } else {
          expect(g.mean).toBeCloseTo(w.mean, 9);
          expect(g.sd).toBeCloseTo(w.sd!, 9);
        }
      });
    }
  });

  it('orders by t (stable) and excludes the point itself', () => {
    const got = rollingStats(
      [
        { t: 3, v: 30 },
        { t: 1, v: 10 },
        { t: 2, v: 20 },
      ],
      5,
    );
    expect(got.map((g) => g.t)).toEqual([1, 2, 3]);
    expect(got[2]).toEqual({ t: 3, mean: 15, sd: Math.sqrt(50), n: 2 });
  });

  it('rejects a bad window', () => {
    for (const w of [0, 1, 2.5, Number.NaN]) expect(() => rollingStats([], w)).toThrow(RangeError);
  });
});

describe('outliers (Levey-Jennings)', () => {
  it('flags injected spikes and nothing in a calm series', () => {
    const pts = series(100, 7, 11);
    expect(outliers(pts, 4, { window: 20 })).toEqual([]);
    const spiked = pts.map((p, i) => (i === 40 ? { ...p, v: 200 } : i === 70 ? { ...p, v: 0 } : p));
    const found = outliers(spiked, 4, { window: 20 });
    expect(found.map((o) => o.t)).toEqual([pts[40]!.t, pts[70]!.t]);
    expect(found[0]!.z).toBeGreaterThan(4);
    expect(found[1]!.z).toBeLessThan(-4);
  });

  it('uses only the previous window: a level shift stops being an outlier once the window has moved', () => {
    const pts: SeriesPoint[] = Array.from({ length: 40 }, (_, i) => ({
      t: i,
      v: (i < 20 ? 10 : 50) + (i % 2 ? 0.5 : -0.5),
    }));
    const ts = outliers(pts, 3, { window: 5 }).map((o) => o.t);
    expect(ts[0]).toBe(20);
    expect(Math.max(...ts)).toBeLessThan(26);
  });

  it('needs minPoints earlier values; null values are neither judged nor counted', () => {
    const pts: SeriesPoint[] = [
      { t: 1, v: 1 },
      { t: 2, v: 1.1 },
      { t: 3, v: null },
      { t: 4, v: 100 },
    ];
    expect(outliers(pts, 3, { window: 10, minPoints: 3 })).toEqual([]);
    expect(outliers(pts, 3, { window: 10, minPoints: 2 }).map((o) => o.t)).toEqual([4]);
  });

  it('with sd 0 any different value is an outlier', () => {
    const pts = [1, 2, 3, 4, 5]
      .map((t) => ({ t, v: 7 }))
      .concat([
        { t: 6, v: 7.001 },
        { t: 7, v: 7 },
      ]);
    const out = outliers(pts, 2, { window: 10 });
    expect(out.map((o) => o.t)).toEqual([6]);
    expect(out[0]!.z).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects bad k, window, minPoints', () => {
    expect(() => outliers([], 0)).toThrow(RangeError);
    expect(() => outliers([], Number.NaN)).toThrow(RangeError);
    expect(() => outliers([], 2, { window: 5, minPoints: 6 })).toThrow(RangeError);
    expect(() => outliers([], 2, { window: 1 })).toThrow(RangeError);
  });
});
