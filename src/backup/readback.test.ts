import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_ALGORITHM, fastChecksum } from './fastsum.ts';
import { hashFile } from './hash.ts';
import { READBACK_INLINE_MAX_BYTES, ReadBack } from './readback.ts';
import { makeTmp, writeDataFile } from './testing.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

describe('ReadBack (worker thread)', () => {
  it('hashes a file window by window as it grows, then the rest up to end-of-file', async () => {
    const p = join(tmp.dir, 'growing.bin');
    const fh = await open(p, 'w');
    const rb = new ReadBack();
    try {
      const f = rb.open(p, 'sha256');
      const block = Buffer.alloc(3 * 1024 * 1024, 7);
      for (let i = 0; i < 5; i++) {
        block[0] = i;
        await fh.write(block, 0, block.length, i * block.length);
        await fh.datasync();
        f.allow((i + 1) * block.length);
      }
      await fh.write(Buffer.from('tail'), 0, 4, 5 * block.length); // not allowed: read by finish()
      await fh.close();
      expect(await f.finish()).toEqual(await hashFile(p));
    } finally {
      await rb.close();
    }
  });

  it('verifies several files with md5 and reports a missing one as ENOENT', async () => {
    const a = join(tmp.dir, 'a.bin');
    const b = join(tmp.dir, 'b.bin');
    await writeDataFile(a, 10 * 1024 * 1024 + 3);
    await writeDataFile(b, 1);
    const rb = new ReadBack();
    try {
      const fa = rb.open(a, 'md5');
      const fmissing = rb.open(join(tmp.dir, 'missing.bin'), 'md5');
      const fb = rb.open(b, 'md5');
      expect(await fb.finish()).toEqual(await hashFile(b, { algorithm: 'md5' }));
      await expect(fmissing.finish()).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await fa.finish()).toEqual(await hashFile(a, { algorithm: 'md5' }));
    } finally {
      await rb.close();
    }
  });

  it('computes the fast checksum in the worker exactly as the copier does on the main thread', async () => {
    const p = join(tmp.dir, 'fast.bin');
    const fh = await open(p, 'w');
    const rb = new ReadBack();
    try {
      const f = rb.open(p, FAST_ALGORITHM);
      const block = Buffer.alloc(5 * 1024 * 1024 + 3, 9);
      for (let i = 0; i < 3; i++) {
        block[100] = i;
        await fh.write(block, 0, block.length, i * block.length);
        await fh.datasync();
        f.allow((i + 1) * block.length);
      }
      await fh.write(Buffer.from('end'), 0, 3, 3 * block.length);
      await fh.close();
      const data = await readFile(p);
      const expected = fastChecksum()!.create().update(data).digest();
      expect(await f.finish()).toEqual({ hash: expected, size: data.length });
    } finally {
      await rb.close();
    }
  });

  it('rejects a read-back still pending when the reader is closed (no hang after an abort)', async () => {
    const rb = new ReadBack();
    const f = rb.open(join(tmp.dir, 'a.bin'), 'sha256');
    await rb.close();
    await expect(f.finish()).rejects.toThrow(/read-back worker exited/);
  });

  it('reads a small file back on the calling thread, without starting a worker', async () => {
    const p = join(tmp.dir, 'small.bin');
    await writeDataFile(p, 300_001);
    const rb = new ReadBack();
    try {
      const f = rb.open(p, 'sha256', 300_001);
      f.allow(100); // nothing to do inline
      expect(await f.finish()).toEqual(await hashFile(p));
      const fast = fastChecksum();
      if (fast) {
        const data = await readFile(p);
        const expected = fast.create().update(data).digest();
        // the hint only picks the thread: the whole file is read, whatever its size now
        expect(await rb.open(p, FAST_ALGORITHM, 10).finish()).toEqual({ hash: expected, size: data.length });
      }
      await expect(rb.open(join(tmp.dir, 'missing.bin'), 'sha256', 1).finish()).rejects.toMatchObject({
        code: 'ENOENT',
      });
      expect(rb.workerStarted).toBe(false);
      rb.open(p, 'sha256', READBACK_INLINE_MAX_BYTES); // not small: starts the worker
      expect(rb.workerStarted).toBe(true);
    } finally {
      await rb.close();
    }
    await expect(rb.open(p, 'sha256', 1).finish()).rejects.toThrow(/closed/);
  });
});
