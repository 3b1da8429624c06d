import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, SluiceError } from '../core/errors.ts';
import {
  allocBuffers,
  CHUNK_BYTES,
  checkAlgorithm,
  hashFile,
  RING_CHUNK_BYTES,
  releaseBuffers,
  sameHash,
} from './hash.ts';
import { makeTmp } from './testing.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

describe('hashFile', () => {
  it('hashes a file spanning several buffers exactly like a one-shot digest', async () => {
    const data = randomBytes(2 * CHUNK_BYTES + 12345);
    const p = join(tmp.dir, 'multi.bin');
    await writeFile(p, data);
    const seen: number[] = [];
    const got = await hashFile(p, { onBytes: (n) => seen.push(n) });
    expect(got).toEqual({ hash: createHash('sha256').update(data).digest('hex'), size: data.length });
    expect(seen).toEqual([CHUNK_BYTES, 2 * CHUNK_BYTES, data.length]);
  });

  it('hashes an empty file', async () => {
    const p = join(tmp.dir, 'empty');
    await writeFile(p, '');
    expect(await hashFile(p)).toEqual({
      hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      size: 0,
    });
  });

  it('supports md5, sha1 and blake2b512 (known vectors for "abc")', async () => {
    const p = join(tmp.dir, 'abc');
    await writeFile(p, 'abc');
    expect((await hashFile(p, { algorithm: 'md5' })).hash).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect((await hashFile(p, { algorithm: 'SHA1' })).hash).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect((await hashFile(p, { algorithm: 'blake2b512' })).hash).toMatch(
      /^ba80a53f981c4d0d6a2797b69f12f6e9/,
    );
  });

  it('rejects unknown algorithms with backup.bad_hash', async () => {
    expect(checkAlgorithm('SHA256')).toBe('sha256');
    const err = await hashFile(join(tmp.dir, 'abc'), { algorithm: 'sha999' }).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe('backup.bad_hash');
    expect(err.message).toContain('sha999');
  });

  it('throws the raw ENOENT for a missing file (callers map it)', async () => {
    await expect(hashFile(join(tmp.dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('stops on abort with backup.aborted', async () => {
    const p = join(tmp.dir, 'multi.bin');
    const ac = new AbortController();
    const err = await hashFile(p, { signal: ac.signal, onBytes: () => ac.abort() }).catch((e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err.code).toBe('backup.aborted');
  });

  it('compares hex digests case-insensitively', () => {
    expect(sameHash('ABCdef', 'abcDEF')).toBe(true);
    expect(sameHash('abc', 'abd')).toBe(false);
  });
});

describe('allocBuffers / releaseBuffers', () => {
  it('reuses a ring given back (no new shared memory per copy), at most two kept, small ones never', () => {
    const a = allocBuffers(CHUNK_BYTES * 4);
    expect(a).toHaveLength(4);
    expect(a.every((b) => b.buffer instanceof SharedArrayBuffer && b.length === RING_CHUNK_BYTES)).toBe(true);
    const b = allocBuffers(CHUNK_BYTES * 4);
    const c = allocBuffers(CHUNK_BYTES * 4);
    expect(b[0].buffer).not.toBe(a[0].buffer);
    releaseBuffers(a);
    releaseBuffers(a); // twice: still one entry
    releaseBuffers(b);
    releaseBuffers(c); // a third idle ring is not kept
    const got = [allocBuffers(CHUNK_BYTES * 4), allocBuffers(CHUNK_BYTES * 4), allocBuffers(CHUNK_BYTES * 4)];
    expect(got.filter((r) => r === a || r === b)).toHaveLength(2);
    expect(got.some((r) => r === c)).toBe(false);
    const small = allocBuffers(1000);
    expect(small[0].length).toBe(64 * 1024);
    releaseBuffers(small);
    expect(allocBuffers(1000)).not.toBe(small);
  });
});
