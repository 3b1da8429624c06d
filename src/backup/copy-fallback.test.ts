/**
 * Where the fast checksum binding cannot be loaded, copies still verify: the read-back then uses the
 * recorded algorithm, with a debug message. The binding is made unavailable by mocking fastsum.ts.
 */
import { chmodSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../core/errors.ts';
import { copyVerified } from './copy.ts';
import { hashFile } from './hash.ts';
import { makeTmp, writeDataFile } from './testing.ts';

vi.mock('./fastsum.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('./fastsum.ts')>();
  const missing = real.loadFastChecksum('@sluice-test/no-such-xxhash');
  return {
    ...real,
    fastChecksum: () => undefined,
    fastChecksumError: () => ('error' in missing ? missing.error : 'unexpectedly loaded'),
  };
});

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

describe('copyVerified without the fast checksum binding', () => {
  it('copies, records sha256 of the source, and logs why it reads back with sha256', async () => {
    const s = join(tmp.dir, 'a.raw');
    await writeDataFile(s, 70 * 1024 * 1024 + 1); // more than one flushed window
    const logs: [object, string][] = [];
    const r = await copyVerified({
      source: { kind: 'file', path: s },
      dest: join(tmp.dir, 'out', 'a.raw'),
      log: { debug: (obj, msg) => logs.push([obj, msg]) },
    });
    expect(r.manifest.entries[0]!.hash).toBe((await hashFile(s)).hash);
    expect(logs).toEqual([
      [
        { reason: expect.stringContaining('@sluice-test/no-such-xxhash cannot be loaded') },
        'fast read-back checksum unavailable, reading back with sha256',
      ],
    ]);
  });

  it('still catches a corrupted read-back (verify_failed with sha256)', async () => {
    const s = join(tmp.dir, 'b.raw');
    await writeDataFile(s, 5 * 1024 * 1024);
    await mkdir(join(tmp.dir, 'out2'));
    const onPhase = async (ph: string, info: { temp: string }) => {
      if (ph !== 'verify') return;
      chmodSync(info.temp, 0o644);
      const fh = await open(info.temp, 'r+');
      await fh.write(Buffer.from([0]), 0, 1, 5 * 1024 * 1024); // one byte longer
      await fh.close();
    };
    const err = await copyVerified({
      source: { kind: 'file', path: s },
      dest: join(tmp.dir, 'out2', 'b.raw'),
      onPhase,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.code).toBe('backup.verify_failed');
    expect(err.message).toMatch(/source 5242880 bytes sha256 [0-9a-f]{64}, copy 5242881 bytes [0-9a-f]{64}$/);
  });
});
