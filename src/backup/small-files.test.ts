import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_ALGORITHM, fastChecksum } from './fastsum.ts';
import { acquireSmallCopier, releaseSmallCopier, SmallFileCopier } from './small-files.ts';
import { makeTmp, writeDataFile } from './testing.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

const MODE = { set: 0o444, keep: 0o111 };
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Run `fn` with a new copier (constructor arguments `args`), closing it afterwards. */
async function withCopier(
  args: ConstructorParameters<typeof SmallFileCopier>,
  fn: (c: SmallFileCopier) => Promise<void>,
): Promise<void> {
  const c = new SmallFileCopier(...args);
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

describe('SmallFileCopier (one thread, synchronous calls)', () => {
  it('sends the requests made in one turn as one message, answered in order, each on its own', async () => {
    await withCopier([64 * 1024], async (c) => {
      const srcs = [0, 1, 2].map((i) => join(tmp.dir, `seq${i}.bin`));
      for (const [i, src] of srcs.entries()) await writeDataFile(src, 1000 + i);
      const copies = srcs.map((src, i) =>
        c.copy(i === 1 ? `${src}.missing` : src, `${src}.copy`, {
          algorithm: 'sha256',
          fast: false,
          mode: MODE,
        }),
      );
      const [a, b, d] = await Promise.allSettled(copies);
      expect(c.posted).toBe(1);
      expect(a).toMatchObject({ status: 'fulfilled', value: { bytes: 1000 } });
      expect(b).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT', side: 'source' } });
      expect(d).toMatchObject({ status: 'fulfilled', value: { bytes: 1002 } });
      expect(await readFile(`${srcs[2]}.copy`)).toEqual(await readFile(srcs[2]!));
      // a request of a later turn is a message of its own
      await c.copy(srcs[0]!, `${srcs[0]}.again`, { algorithm: 'sha256', fast: false, mode: MODE });
      expect(c.posted).toBe(2);
    });
  });

  it('copies exact bytes with both digests, the mode rule and the source mtime; reads the copy back', async () => {
    const fast = fastChecksum();
    expect(fast).toBeDefined(); // the binding ships with the package
    // a buffer smaller than the file: several reads and writes
    await withCopier([64 * 1024], async (c) => {
      expect(c.started).toBe(0);
      const src = join(tmp.dir, 'a.bin');
      await writeDataFile(src, 300_000);
      await chmod(src, 0o751);
      execFileSync('touch', ['-d', '@1767323045.123456789', src]); // 2026-01-02T03:04:05.123456789Z
      const dst = join(tmp.dir, 'a.copy');
      const got = await c.copy(src, dst, { algorithm: 'sha256', fast: true, mode: MODE });
      expect(c.started).toBe(1);
      const bytes = await readFile(src);
      expect(await readFile(dst)).toEqual(bytes);
      const h = fast!.create();
      h.update(bytes);
      expect(got).toEqual({
        bytes: 300_000,
        hash: sha256(bytes),
        fast: h.digest(),
        after: { size: 300_000, mtimeMs: (await lstat(src)).mtimeMs },
      });
      const st = await stat(dst);
      expect(st.mode & 0o777).toBe(0o555); // 0o444 | the execute bits of 0o751
      // the microsecond is kept (libuv's limit), the nanoseconds below it are not
      expect((await stat(dst, { bigint: true })).mtimeNs).toBe(1_767_323_045_123_456_000n);
      expect(await c.readBack(dst, FAST_ALGORITHM).finish()).toEqual({ hash: got.fast, size: 300_000 });
      expect(await c.readBack(dst, 'md5').finish()).toEqual({
        hash: createHash('md5').update(bytes).digest('hex'),
        size: 300_000,
      });
    });
  });

  it('without the fast checksum returns only the recorded digest (md5 here); copies an empty file', async () => {
    await withCopier([4096], async (c) => {
      const src = join(tmp.dir, 'empty.bin');
      await writeFile(src, '');
      const got = await c.copy(src, join(tmp.dir, 'empty.copy'), {
        algorithm: 'md5',
        fast: false,
        mode: MODE,
      });
      expect(got.bytes).toBe(0);
      expect(got.hash).toBe(createHash('md5').digest('hex'));
      expect(got.fast).toBeUndefined();
      expect(await readFile(join(tmp.dir, 'empty.copy'))).toEqual(Buffer.alloc(0));
    });
  });

  it('names the side of a failure: a missing source, an existing target (never overwritten)', async () => {
    await withCopier([4096], async (c) => {
      const missing = join(tmp.dir, 'nope.bin');
      const o = { algorithm: 'sha256', fast: true, mode: MODE };
      await expect(c.copy(missing, join(tmp.dir, 'nope.copy'), o)).rejects.toMatchObject({
        code: 'ENOENT',
        side: 'source',
      });
      const src = join(tmp.dir, 'b.bin');
      const dst = join(tmp.dir, 'b.copy');
      await writeFile(src, 'new');
      await writeFile(dst, 'old');
      await expect(c.copy(src, dst, o)).rejects.toMatchObject({ code: 'EEXIST', side: 'target' });
      expect(await readFile(dst, 'utf8')).toBe('old');
      await expect(c.readBack(missing, FAST_ALGORITHM).finish()).rejects.toMatchObject({ code: 'ENOENT' });
      // The thread goes on after failures.
      expect((await c.copy(src, join(tmp.dir, 'b.copy2'), o)).bytes).toBe(3);
    });
  });

  it('shares many requests between its threads, each copy exact', async () => {
    await withCopier([8192, 2], async (c) => {
      const names = Array.from({ length: 12 }, (_, i) => `m${i}`);
      for (const [i, n] of names.entries()) await writeDataFile(join(tmp.dir, `${n}.bin`), 1000 + i);
      const o = { algorithm: 'sha256', fast: false, mode: MODE };
      const got = await Promise.all(
        names.map((n) => c.copy(join(tmp.dir, `${n}.bin`), join(tmp.dir, `${n}.copy`), o)),
      );
      expect(c.threads).toBe(2);
      expect(c.started).toBe(2); // requests in flight together went to both
      for (const [i, n] of names.entries()) {
        const bytes = await readFile(join(tmp.dir, `${n}.bin`));
        expect(await readFile(join(tmp.dir, `${n}.copy`))).toEqual(bytes);
        expect(got[i]).toMatchObject({ bytes: 1000 + i, hash: sha256(bytes) });
      }
    });
  });

  it('refuses requests after close, without starting a thread', async () => {
    const c = new SmallFileCopier(4096);
    await c.close();
    const src = join(tmp.dir, 'c.bin');
    await writeFile(src, 'x');
    await expect(
      c.copy(src, join(tmp.dir, 'c.copy'), { algorithm: 'sha256', fast: false, mode: MODE }),
    ).rejects.toThrow(/closed/);
    expect(c.started).toBe(0);
  });

  it('keeps a released copier for the next batch (its thread started once), never a failed or too small one', async () => {
    const src = join(tmp.dir, 'reuse.raw');
    await writeDataFile(src, 1000);
    const a = acquireSmallCopier(64 * 1024);
    await a.copy(src, join(tmp.dir, 'reuse-1.raw'), { algorithm: 'sha256', fast: false, mode: MODE });
    releaseSmallCopier(a);
    const b = acquireSmallCopier(32 * 1024); // a smaller buffer is enough: the same copier
    expect(b).toBe(a);
    expect(b.started).toBe(1);
    await b.copy(src, join(tmp.dir, 'reuse-2.raw'), { algorithm: 'sha256', fast: false, mode: MODE });
    releaseSmallCopier(b);
    const big = acquireSmallCopier(128 * 1024); // needs a larger buffer: a new one
    expect(big).not.toBe(a);
    releaseSmallCopier(big);
    const c = acquireSmallCopier(64 * 1024);
    expect([a, big]).toContain(c);
    await c.close(); // closed (as a failed thread): never handed out again
    releaseSmallCopier(c);
    const d = acquireSmallCopier(64 * 1024);
    expect(d).not.toBe(c);
    await d.close();
  });
});
