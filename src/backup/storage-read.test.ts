import { createHash, randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from './hash.ts';
import { directReadAvailable, hashFromStorage, probeStorageRead, throttleDelayMs } from './storage-read.ts';
import { makeTmp } from './testing.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

const sha256 = (d: Buffer) => createHash('sha256').update(d).digest('hex');
const refused = (code: string) => Object.assign(new Error(`${code}: refused (stand-in)`), { code });

describe('hashFromStorage', () => {
  it('loads the aligned-buffer binding here (else every read would be a cached one)', () => {
    expect(directReadAvailable()).toBe(true);
  });

  // sizes around the 4096-byte alignment and the buffer size: the direct read must stop at the
  // short tail, never read at an unaligned offset
  for (const size of [0, 1, 4095, 4096, 4097, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES + 12345]) {
    it(`reads ${size} bytes with O_DIRECT and gets the same digest as a normal read`, async () => {
      const data = randomBytes(size);
      const p = join(tmp.dir, `f${size}`);
      await writeFile(p, data);
      const seen: number[] = [];
      const got = await hashFromStorage(p, { algorithm: 'sha256', onBytes: (n) => seen.push(n) });
      expect(got).toEqual({ hash: sha256(data), size, read: 'direct' });
      if (size > 0) expect(seen.at(-1)).toBe(size);
    });
  }

  it('falls back to a read through the cache when the filesystem refuses O_DIRECT at open, and says so', async () => {
    const data = randomBytes(CHUNK_BYTES + 7);
    const p = join(tmp.dir, 'refused-open');
    await writeFile(p, data);
    const got = await hashFromStorage(p, {
      algorithm: 'sha256',
      openDirect: () => Promise.reject(refused('EINVAL')),
    });
    expect(got).toEqual({
      hash: sha256(data),
      size: data.length,
      read: 'cached',
      fallback: 'the filesystem refused O_DIRECT (EINVAL)',
    });
  });

  it('falls back when the open succeeds and the first direct read is refused', async () => {
    const data = randomBytes(5000);
    const p = join(tmp.dir, 'refused-read');
    await writeFile(p, data);
    const got = await hashFromStorage(p, {
      algorithm: 'sha256',
      openDirect: async (path) => {
        const fh = await open(path, 'r');
        fh.read = (() => Promise.reject(refused('EOPNOTSUPP'))) as typeof fh.read;
        return fh;
      },
    });
    expect(got).toMatchObject({ hash: sha256(data), read: 'cached' });
    expect(got.fallback).toMatch(/refused O_DIRECT reads \(EOPNOTSUPP\)/);
  });

  it('throws other errors unchanged (a missing file is not a refusal)', async () => {
    await expect(hashFromStorage(join(tmp.dir, 'nope'), { algorithm: 'sha256' })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});

describe('probeStorageRead', () => {
  it('says whether a folder reads from storage, and leaves nothing behind', async () => {
    const { mkdir, readdir } = await import('node:fs/promises');
    const dir = join(tmp.dir, 'probe');
    await mkdir(dir);
    expect(await probeStorageRead(dir)).toEqual({ read: 'direct' });
    expect(await probeStorageRead(dir, { openDirect: () => Promise.reject(refused('EINVAL')) })).toEqual({
      read: 'cached',
      fallback: 'the filesystem refused O_DIRECT (EINVAL)',
    });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('throttleDelayMs', () => {
  it('waits until the average rate since the start is at most the limit', () => {
    // 100 MB at 50 MB/s is due after 2 s: at 0.5 s, wait 1.5 s more; past 2 s, no wait
    expect(throttleDelayMs(100e6, 500, 50e6)).toBe(1500);
    expect(throttleDelayMs(100e6, 2000, 50e6)).toBe(0);
    expect(throttleDelayMs(100e6, 3000, 50e6)).toBe(0);
    expect(throttleDelayMs(8 * 1024 * 1024, 0, 1e6)).toBe(8389);
  });

  it('never waits without a limit', () => {
    expect(throttleDelayMs(1e12, 0, undefined)).toBe(0);
    expect(throttleDelayMs(1e12, 0, 0)).toBe(0);
  });
});
