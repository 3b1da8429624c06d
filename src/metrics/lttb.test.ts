import { describe, expect, it } from 'vitest';
import { lttb, pickPoints } from './lttb.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('lttb', () => {
  it('keeps every point with a value when there are no more than the threshold', () => {
    expect(lttb([0, 1, 2, 3], [5, null, 7, 8], 10)).toEqual([0, 2, 3]);
  });

  it('keeps the first and the last point and returns exactly the threshold, ascending', () => {
    const t = range(10_000);
    const v = t.map((i) => Math.sin(i / 50));
    const idx = lttb(t, v, 500);
    expect(idx).toHaveLength(500);
    expect(idx[0]).toBe(0);
    expect(idx.at(-1)).toBe(9_999);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    expect(new Set(idx).size).toBe(500);
  });

  it('keeps a lone spike and a lone dip in a flat series', () => {
    const t = range(100_000);
    const v = t.map(() => 100);
    v[31_337] = 1_000;
    v[77_777] = -1_000;
    const idx = lttb(t, v, 200);
    expect(idx).toContain(31_337);
    expect(idx).toContain(77_777);
  });

  it('never picks a point without a value, and adds the points it is told to keep', () => {
    const t = range(1_000);
    const v: (number | null)[] = t.map((i) => (i % 3 === 0 ? null : i % 7));
    const keep = t.map((i) => i === 500 || i === 501);
    const idx = lttb(t, v, 50, keep);
    expect(idx.filter((i) => v[i] === null && !keep[i])).toEqual([]);
    expect(idx).toContain(500);
    expect(idx).toContain(501);
    expect(idx.length).toBeLessThanOrEqual(52);
  });
});

describe('pickPoints', () => {
  it('cuts every per-point array at any depth and leaves the rest alone', () => {
    const s = {
      t: [1, 2, 3, 4],
      value: [10, 20, 30, 40],
      truncated: true,
      tags: ['a', 'b'],
      guide: { rules: [[], ['1_3s'], [], []], cusum: { hi: [0, 1, 2, 3] } },
    };
    expect(pickPoints(s, [0, 3], 4)).toEqual({
      t: [1, 4],
      value: [10, 40],
      truncated: true,
      tags: ['a', 'b'],
      guide: { rules: [[], []], cusum: { hi: [0, 3] } },
    });
  });
});
