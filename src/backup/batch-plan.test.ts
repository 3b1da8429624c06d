import { describe, expect, it } from 'vitest';
import { BATCH_MAX_BYTES, BATCH_MAX_FILES, BATCH_MIN_FILES, planBackups } from './batch-plan.ts';

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `f${from + i}`);

describe('planBackups', () => {
  it('batches small files over the copy pool, keeps large and unknown sizes on their own', () => {
    const small = ids(40);
    const p = planBackups(
      [...small, 'big', 'unknown'],
      [...small.map(() => 100), BATCH_MAX_BYTES, undefined],
      4,
    );
    expect(p.single).toEqual(['big', 'unknown']);
    expect(p.batches).toHaveLength(4);
    expect(p.batches.flat()).toEqual(small); // every small file once, order kept
  });

  it('gives too few small files a task each', () => {
    const p = planBackups(ids(BATCH_MIN_FILES - 1), Array(BATCH_MIN_FILES - 1).fill(1), 8);
    expect(p.batches).toEqual([]);
    expect(p.single).toHaveLength(BATCH_MIN_FILES - 1);
  });

  it('keeps each batch at BATCH_MIN_FILES or more when the pool is larger than the files allow', () => {
    const p = planBackups(ids(10), Array(10).fill(1), 8);
    expect(p.batches).toHaveLength(2);
    for (const b of p.batches) expect(b.length).toBeGreaterThanOrEqual(BATCH_MIN_FILES);
  });

  it('never puts more than BATCH_MAX_FILES in a batch', () => {
    const n = BATCH_MAX_FILES * 5 + 3;
    const p = planBackups(ids(n), Array(n).fill(1), 2);
    expect(p.batches.flat()).toHaveLength(n);
    for (const b of p.batches) expect(b.length).toBeLessThanOrEqual(BATCH_MAX_FILES);
  });

  it('never batches a negative or non-finite size', () => {
    const p = planBackups(ids(6), [1, 1, 1, -1, Number.NaN, Number.POSITIVE_INFINITY], 1);
    expect(p.batches).toEqual([]);
    expect([...p.single].sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5']);
  });
});
