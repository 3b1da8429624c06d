import { describe, expect, it } from 'vitest';
import { collisionId, fileId, identify, type RecordedFile, sameAcquisition } from './file-id.ts';

const finished: RecordedFile = { size: 100, mtimeMs: 1_700_000_000_000.25, acquisitionFinished: true };

describe('file ids', () => {
  it('fileId is the name as given', () => {
    expect(fileId('Run 01_ÄB.raw')).toBe('Run 01_ÄB.raw');
  });

  it('collisionId stamps the UTC time before the name', () => {
    expect(collisionId('a.raw', new Date('2025-03-04T05:06:07.890Z'))).toBe('20250304-050607-a.raw');
    expect(collisionId('b.d', new Date('2025-12-31T23:59:59+02:00'))).toBe('20251231-215959-b.d');
    expect(() => collisionId('a.raw', new Date('nope'))).toThrow(/invalid date for a\.raw/);
  });
});

describe('sameAcquisition', () => {
  it('same size and mtime (sub-millisecond rounding tolerated) → same file', () => {
    expect(sameAcquisition(finished, { size: 100, mtimeMs: 1_700_000_000_000 })).toBe(true);
    expect(sameAcquisition(finished, { size: 100, mtimeMs: 1_700_000_000_001.5 })).toBe(false);
  });

  it('finished record, different size or mtime → new acquisition (collision)', () => {
    expect(sameAcquisition(finished, { size: 101, mtimeMs: finished.mtimeMs })).toBe(false);
    expect(sameAcquisition(finished, { size: 100, mtimeMs: finished.mtimeMs + 60_000 })).toBe(false);
  });

  it('a file still acquiring is the same file however it changes', () => {
    const growing = { ...finished, acquisitionFinished: false };
    expect(sameAcquisition(growing, { size: 5_000, mtimeMs: finished.mtimeMs + 60_000 })).toBe(true);
  });

  it('equal hashes decide "same" even when mtime differs; different hashes decide "new"', () => {
    const hashed = { ...finished, hash: 'abc' };
    expect(sameAcquisition(hashed, { size: 100, mtimeMs: 0, hash: 'abc' })).toBe(true);
    expect(sameAcquisition(hashed, { size: 100, mtimeMs: finished.mtimeMs, hash: 'def' })).toBe(false);
    expect(sameAcquisition(hashed, { size: 100, mtimeMs: finished.mtimeMs, hash: null })).toBe(true);
  });

  it('identify: new name, same file, collision', () => {
    const at = new Date('2025-01-02T03:04:05Z');
    expect(identify('a.raw', undefined, { size: 1, mtimeMs: 1 }, at)).toEqual({
      id: 'a.raw',
      collision: false,
    });
    const known = { ...finished, id: 'a.raw' };
    expect(identify('a.raw', known, { size: 100, mtimeMs: finished.mtimeMs }, at)).toEqual({
      id: 'a.raw',
      collision: false,
    });
    expect(identify('a.raw', known, { size: 7, mtimeMs: 1 }, at)).toEqual({
      id: '20250102-030405-a.raw',
      collision: true,
    });
  });
});
