import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileHashing } from './copy-file.ts';
import { fastChecksum } from './fastsum.ts';
import { allocBuffers } from './hash.ts';
import { HashThread } from './hash-thread.ts';
import { ReadBack } from './readback.ts';
import { makeTmp } from './testing.ts';
import { PieceWriter, WRITER_MIN_BYTES } from './writer.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

const digest = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

/** copyFileHashing's options for a copy into the test directory with these threads. */
const copyOptions = (readBack: ReadBack, writer: PieceWriter, hashThread: HashThread) => ({
  algorithm: 'sha256',
  mode: () => 0o444,
  targetDir: tmp.dir,
  bytesNeeded: 0,
  readBack,
  writer,
  hashThread,
});

describe('HashThread (the recorded hash of large files on a thread of its own)', () => {
  it('hashes two files whose chunks are in flight at once, each in order, with its algorithm', async () => {
    const a = randomBytes(3 * 1024 * 1024 + 777);
    const b = randomBytes(2 * 1024 * 1024 + 5);
    const chunk = 1024 * 1024;
    const thread = new HashThread();
    try {
      thread.warm();
      const ha = thread.open('sha256');
      const hb = thread.open('md5');
      const updates: Promise<void>[] = [];
      for (let at = 0; at < Math.max(a.length, b.length); at += chunk) {
        for (const [data, h] of [
          [a, ha],
          [b, hb],
        ] as const) {
          if (at >= data.length) continue;
          const buf = Buffer.from(new SharedArrayBuffer(chunk)); // each chunk its own buffer
          const n = data.copy(buf, 0, at, at + chunk);
          updates.push(h.update(buf, n));
        }
      }
      await Promise.all(updates);
      expect(await ha.digest()).toBe(digest('sha256', a));
      expect(await hb.digest()).toBe(digest('md5', b));
      expect(await thread.open('sha256').digest()).toBe(digest('sha256', Buffer.alloc(0)));
      await expect(thread.open('sha256').update(Buffer.alloc(10), 10)).rejects.toThrow(/shared memory/);
    } finally {
      await thread.close();
    }
    const late = thread.open('sha256').update(Buffer.from(new SharedArrayBuffer(1)), 1);
    await expect(late).rejects.toThrow(/closed/);
  });

  it('hashes a large file of a copy (with the writer), and leaves a small one to the copying thread', async () => {
    const data = randomBytes(WRITER_MIN_BYTES * 3 + 4321);
    const src = join(tmp.dir, 'large.raw');
    await writeFile(src, data);
    const small = join(tmp.dir, 'small.raw');
    await writeFile(small, 'small');
    const [readBack, writer, thread] = [new ReadBack(), new PieceWriter(), new HashThread()];
    try {
      const opts = { ...copyOptions(readBack, writer, thread), fast: fastChecksum() };
      const got = await copyFileHashing(small, join(tmp.dir, 'small.copy'), opts);
      expect(got.hash).toBe(digest('sha256', Buffer.from('small')));
      expect(thread.started).toBe(false);
      const large = await copyFileHashing(src, join(tmp.dir, 'large.copy'), {
        ...opts,
        bufs: allocBuffers(data.length), // four shared buffers, as a copy of a large file has
      });
      expect(thread.started).toBe(true);
      expect(large.hash).toBe(digest('sha256', data));
      expect(large.bytes).toBe(data.length);
      expect((await readFile(join(tmp.dir, 'large.copy'))).equals(data)).toBe(true);
      expect(await large.readBack.finish()).toEqual({ hash: large.check.digest, size: data.length });
    } finally {
      await Promise.all([readBack.close(), writer.close(), thread.close()]);
    }
  });
  it('a copy reuses a buffer only after its chunk was hashed: the hash is of exactly the bytes written', async () => {
    // A slow stand-in for the thread: it reads each chunk 150 ms after it was given. Reusing a buffer
    // before its hash returned would hash the next chunk's bytes instead.
    const slow = {
      open: (algorithm: string) => {
        const h = createHash(algorithm);
        return {
          update: async (buf: Buffer, len: number) => {
            await new Promise((r) => setTimeout(r, 150));
            h.update(buf.subarray(0, len));
          },
          digest: async () => h.digest('hex'),
        };
      },
    } as unknown as HashThread;
    const data = randomBytes(WRITER_MIN_BYTES * 6 + 99);
    const src = join(tmp.dir, 'slow.raw');
    await writeFile(src, data);
    const [readBack, writer] = [new ReadBack(), new PieceWriter()];
    try {
      const got = await copyFileHashing(src, join(tmp.dir, 'slow.copy'), {
        ...copyOptions(readBack, writer, slow),
        bufs: allocBuffers(data.length),
      });
      expect(got.hash).toBe(digest('sha256', data));
      await got.readBack.finish();
    } finally {
      await Promise.all([readBack.close(), writer.close()]);
    }
  });
});
