import { describe, expect, it } from 'vitest';
import { rollingBands } from './bands.ts';

describe('rollingBands', () => {
  it('flags a point outside mean ± k·sd of the points before it', () => {
    const b = rollingBands([3, 4, 3, 4, 3, 9, 4], { window: 4, k: 2 });
    expect(b.mean.slice(0, 3)).toEqual([null, null, null]);
    expect(b.outlier).toEqual([false, false, false, false, false, true, false]);
    // the band of the 9 comes from [4,3,4,3]: mean 3.5, sample sd 0.577
    expect(b.mean[5]).toBeCloseTo(3.5);
    expect(b.upper[5]! - b.mean[5]!).toBeCloseTo(2 * Math.sqrt(1 / 3));
  });

  it('slides the window and skips null values', () => {
    const b = rollingBands([10, null, 10, 10, 100, 100, 100, 100], { window: 3, k: 3 });
    expect(b.mean[4]).toBe(10); // [10, 10, 10]: the null is not a zero
    expect(b.outlier[4]).toBe(true); // sd 0: anything else is outside
    expect(b.outlier[1]).toBe(false); // no value, never an outlier
    expect(b.mean[7]).toBe(100); // the window has moved past the 10s
    expect(b.outlier[7]).toBe(false);
  });

  it('stays numerically sane for large, nearly equal values', () => {
    const b = rollingBands([1e9, 1e9 + 1, 1e9, 1e9 + 1, 1e9], { window: 4, k: 2 });
    expect(b.lower[4]).toBeLessThan(1e9 + 0.5);
    expect(b.outlier[4]).toBe(false);
  });
});
