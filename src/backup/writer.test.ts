import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastChecksum } from './fastsum.ts';
import { makeTmp } from './testing.ts';
import { isShared, PieceWriter, WRITE_PIECE_BYTES, writeInPieces } from './writer.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

/** Write system calls made by this process so far (all threads), from /proc/self/io. */
function writeCalls(): number {
  const m = /^syscw: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  if (!m) throw new Error('/proc/self/io has no syscw line');
  return Number(m[1]);
}

function sharedCopy(data: Buffer): Buffer {
  const b = Buffer.from(new SharedArrayBuffer(data.length));
  data.copy(b);
  return b;
}

describe('PieceWriter (the copy writer thread)', () => {
  it('writes chunks issued back to back at their offsets, in pieces, and checksums what it wrote', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 12_345);
    const chunk = 1024 * 1024;
    const bufs = [0, 1, 2, 3].map(() => Buffer.from(new SharedArrayBuffer(chunk)));
    const p = join(tmp.dir, 'pieces.bin');
    const fh = await open(p, 'wx');
    const writer = new PieceWriter();
    try {
      const file = writer.open(fh.fd, true);
      const calls0 = writeCalls();
      // All four chunks in flight at once, as the copy's ring of buffers does.
      const writes: Promise<void>[] = [];
      for (let at = 0, i = 0; at < data.length; at += chunk, i++) {
        const n = data.copy(bufs[i]!, 0, at, at + chunk);
        writes.push(file.write(bufs[i]!, n, at));
      }
      await Promise.all(writes);
      // One write call per piece (other threads may add some): never one call per chunk.
      expect(writeCalls() - calls0).toBeGreaterThanOrEqual(Math.ceil(data.length / WRITE_PIECE_BYTES));
      expect(await file.digest()).toBe(fastChecksum()?.create().update(data).digest());
    } finally {
      await fh.close();
      await writer.close();
    }
    expect((await readFile(p)).equals(data)).toBe(true);
  });

  it('reports a failed write with its error code, and refuses buffers it cannot share', async () => {
    const p = join(tmp.dir, 'read-only.bin');
    await (await open(p, 'w')).close();
    const fh = await open(p, 'r'); // writing to it fails with EBADF
    const writer = new PieceWriter();
    try {
      const file = writer.open(fh.fd, false);
      await expect(file.write(sharedCopy(randomBytes(100)), 100, 0)).rejects.toMatchObject({ code: 'EBADF' });
      await expect(file.write(Buffer.alloc(100), 100, 0)).rejects.toThrow(/shared memory/);
      expect(isShared(Buffer.alloc(1))).toBe(false);
    } finally {
      await fh.close();
      await writer.close();
    }
    await expect(writer.open(0, false).write(sharedCopy(Buffer.from('x')), 1, 0)).rejects.toThrow(/closed/);
  });

  it('checksums a file that ended up empty (no chunk written)', async () => {
    const writer = new PieceWriter();
    try {
      expect(await writer.open(0, true).digest()).toBe(fastChecksum()?.create().digest());
    } finally {
      await writer.close();
    }
  });
});

describe('writeInPieces (through the thread pool)', () => {
  it('writes the exact bytes at the offset, one call per piece', async () => {
    const data = randomBytes(5 * WRITE_PIECE_BYTES + 999);
    const p = join(tmp.dir, 'pool.bin');
    const fh = await open(p, 'wx');
    try {
      await fh.write(Buffer.from('head'), 0, 4, 0);
      const calls0 = writeCalls();
      await writeInPieces(fh, data, data.length, 4);
      expect(writeCalls() - calls0).toBeGreaterThanOrEqual(6);
    } finally {
      await fh.close();
    }
    const got = await readFile(p);
    expect(got.subarray(0, 4).toString()).toBe('head');
    expect(got.subarray(4).equals(data)).toBe(true);
  });
});
