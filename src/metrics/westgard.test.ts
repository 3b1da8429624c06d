import { describe, expect, it } from 'vitest';
import { CUSUM_H, evaluateQc, type GuideFigures, rulesAt } from './westgard.ts';

const G: GuideFigures = { id: '1', mean: 100, sd: 10, meanMr: 5 };
const at = (zs: number[]) => rulesAt(zs);
/** Values from z-scores against G. */
const vals = (zs: number[]) => zs.map((z) => 100 + 10 * z);

describe('Westgard rules on the point that completes them', () => {
  it('1_3s: one point beyond 3 sd, either side', () => {
    expect(at([3.1])).toEqual(['1_3s']);
    expect(at([-3.5])).toEqual(['1_3s']);
    expect(at([2.9])).toEqual([]);
  });
  it('2_2s: two in a row beyond 2 sd on the same side, not on opposite sides', () => {
    expect(at([2.1, 2.2])).toEqual(['2_2s']);
    expect(at([-2.1, -2.5])).toEqual(['2_2s']);
    expect(at([2.1, 1.9])).toEqual([]);
  });
  it('R_4s: two in a row beyond 2 sd on opposite sides', () => {
    expect(at([2.1, -2.1])).toEqual(['R_4s']);
    expect(at([-2.5, 2.5])).toEqual(['R_4s']);
    expect(at([1.9, -2.5])).toEqual([]);
  });
  it('4_1s and 10_x: runs on one side', () => {
    expect(at([1.1, 1.2, 1.5, 1.1])).toEqual(['4_1s']);
    expect(at([1.1, 1.2, -1.5, 1.1])).toEqual([]);
    const ten = [0.1, 0.2, 0.3, 0.1, 0.5, 0.2, 0.1, 0.4, 0.3, 0.2];
    expect(at(ten)).toEqual(['10_x']);
    expect(at(ten.slice(1))).toEqual([]);
    expect(at(ten.map((z) => -z))).toEqual(['10_x']);
  });
  it('names every rule a point completes', () => {
    expect(at([2.5, 2.6, 2.7, 3.2])).toEqual(['1_3s', '2_2s', '4_1s']);
  });
});

describe('evaluateQc', () => {
  it('computes z per point against its guide set, skipping null values and points before any guide set', () => {
    const values = [95, null, ...vals([2.5, 2.5])];
    const r = evaluateQc(values, [null, G, G, G]);
    expect(r.z).toEqual([null, null, 2.5, 2.5]);
    expect(r.rules).toEqual([[], [], [], ['2_2s']]);
  });

  it('starts afresh with a new guide set (a new baseline is not judged by the old run)', () => {
    const g2: GuideFigures = { id: '2', mean: 200, sd: 10, meanMr: 4 };
    const values = [...vals([2.5]), 200 + 25];
    // against the new guide set 225 is z 2.5 again, but the run of two belongs to two baselines
    expect(evaluateQc(values, [G, g2]).rules).toEqual([[], []]);
    expect(evaluateQc(values, [G, g2]).z).toEqual([2.5, 2.5]);
    // under one guide set the same two points complete 2_2s (and 225 is beyond 3 sd)
    expect(evaluateQc(values, [G, G]).rules[1]).toEqual(['1_3s', '2_2s']);
  });

  it('mean CUSUM crosses its limit after a sustained shift of 1 sd, not with noise around the mean', () => {
    const noise = vals([0.3, -0.4, 0.2, -0.1, 0.5, -0.3, 0.1, -0.2, 0.4, -0.5, 0.2, -0.2]);
    const quiet = evaluateQc(
      noise,
      noise.map(() => G),
    );
    expect(Math.max(...quiet.cusum.mean_hi.map(Number), ...quiet.cusum.mean_lo.map(Number))).toBeLessThan(
      CUSUM_H,
    );
    const shifted = vals(Array(12).fill(1));
    const r = evaluateQc(
      shifted,
      shifted.map(() => G),
    );
    // each point adds z − k = 0.5: over the limit after 11 points
    expect(r.cusum.mean_hi[9]).toBeCloseTo(5);
    expect(r.cusum.mean_hi[11]).toBeGreaterThan(CUSUM_H);
    expect(r.cusum.mean_lo.every((x) => x === 0)).toBe(true);
  });

  it('variability CUSUM rises when the spread grows while the mean stays', () => {
    const wide = vals([2.5, -2.5, 2.4, -2.6, 2.5, -2.5, 2.6, -2.4]);
    const r = evaluateQc(
      wide,
      wide.map(() => G),
    );
    expect(r.cusum.var_hi.at(-1)!).toBeGreaterThan(CUSUM_H);
    expect(Math.abs(r.cusum.mean_hi.at(-1)! - r.cusum.mean_lo.at(-1)!)).toBeLessThan(3);
  });

  it('moving range between consecutive values, with its upper limit from the guide set', () => {
    const r = evaluateQc([100, 103, null, 90], [G, G, G, null]);
    expect(r.mr).toEqual([null, 3, null, 13]);
    expect(r.mr_ucl).toEqual(
      [16.335, 16.335, 16.335, null].map((x) => (x === null ? null : expect.closeTo(x, 6))),
    );
  });
});
