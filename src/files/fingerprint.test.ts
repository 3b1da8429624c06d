import { describe, expect, it } from 'vitest';
import { fingerprint, fingerprintDiffers, recordFingerprint } from './fingerprint.ts';

const T = Date.parse('2026-12-01T10:00:00Z');

describe('fingerprintDiffers', () => {
  it('a single file: the same size and mtime (to the millisecond), whatever its name', () => {
    const fp = fingerprint(100, T + 0.7, [{ rel: 'a.raw', size: 100, mtimeMs: T + 0.7 }]);
    expect(fingerprintDiffers('file', fp, [{ rel: 'x', size: 100, mtimeMs: T + 0.2 }], '/w/a.raw')).toEqual(
      [],
    );
    expect(fingerprintDiffers('file', fp, [{ rel: 'a.raw', size: 50, mtimeMs: T }], '/w/a.raw')).toEqual([
      '/w/a.raw: 50 bytes, 100 were acquired',
    ]);
    expect(fingerprintDiffers('file', fp, [{ rel: 'a.raw', size: 100, mtimeMs: T + 1 }], '/w/a.raw')).toEqual(
      ['/w/a.raw: modified 2026-12-01T10:00:00.001Z, acquired as of 2026-12-01T10:00:00.000Z'],
    );
  });

  it('a folder: every member by name, size and mtime; gone and added members too', () => {
    const fp = fingerprint(30, T, [
      { rel: 'b/c.bin', size: 20, mtimeMs: T },
      { rel: 'a.tdf', size: 10, mtimeMs: T },
    ]);
    expect(fp.members!.map((m) => m.rel)).toEqual(['a.tdf', 'b/c.bin']);
    const now = [
      { rel: 'a.tdf', size: 10, mtimeMs: T },
      { rel: 'b/d.bin', size: 20, mtimeMs: T },
    ];
    expect(fingerprintDiffers('folder', fp, now, '/w/r.d')).toEqual([
      '/w/r.d/b/c.bin: gone',
      '/w/r.d/b/d.bin: not there when it was acquired',
    ]);
  });

  it('a record from before fingerprints: total size, and mtime (a folder: not newer than recorded)', () => {
    const old = recordFingerprint({ acquired_fingerprint: null, size_bytes: '30', mtime: new Date(T) });
    expect(old.members).toBeUndefined();
    const files = [
      { rel: 'a', size: 10, mtimeMs: T - 5 },
      { rel: 'b', size: 20, mtimeMs: T - 9 },
    ];
    expect(fingerprintDiffers('folder', old, files, '/w/r.d')).toEqual([]);
    expect(fingerprintDiffers('files', old, files, '/w/s.wiff')).toHaveLength(1); // a set's mtime is its newest file's
    expect(
      fingerprintDiffers('folder', old, [{ rel: 'a', size: 30, mtimeMs: T + 1 }], '/w/r.d'),
    ).toHaveLength(1);
  });
});
