/**
 * `copyVerified` with a caller's small-file thread (`smallCopier`, as a batch of small files passes
 * it): a lone small file is copied and read back on that thread, with the same result and the same
 * read-back check as the ordinary path, and the thread stays the caller's (open for the next file).
 */
import { createHash } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectsWithCode } from '../../test/helpers/errors.ts';
import { copyVerified } from './copy.ts';
import { SmallFileCopier } from './small-files.ts';
import { makeTmp, sameMicrosecond, writeDataFile } from './testing.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

/** Flip one bit of the temp once the copy pass is over (before the read-back). */
const flipBit = async (ph: string, info: { temp: string }) => {
  if (ph !== 'verify') return;
  chmodSync(info.temp, 0o644);
  const fh = await open(info.temp, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, 10);
  b[0] = b[0]! ^ 0x10;
  await fh.write(b, 0, 1, 10);
  await fh.close();
};

describe('copyVerified with a caller-owned small-file thread', () => {
  it('copies a lone small file on the thread, verified; a damaged temp fails the read-back', async () => {
    const src = join(tmp.dir, 'src');
    const dst = join(tmp.dir, 'dst');
    await mkdir(src, { recursive: true });
    await mkdir(dst, { recursive: true });
    const copier = new SmallFileCopier(64 * 1024);
    try {
      const a = join(src, 'a.raw');
      await writeDataFile(a, 300_000); // larger than the thread's buffer: read in several calls
      const r = await copyVerified({
        source: { kind: 'file', path: a },
        dest: join(dst, 'a.raw'),
        smallCopier: copier,
      });
      expect(copier.started).toBe(1); // copied on the caller's thread
      const digest = createHash('sha256')
        .update(await readFile(a))
        .digest('hex');
      expect(r.manifest.entries[0]!.hash).toBe(digest);
      expect(await readFile(join(dst, 'a.raw'))).toEqual(await readFile(a));
      expect(statSync(join(dst, 'a.raw')).mode & 0o777).toBe(0o444);
      // the source's mtime kept to the microsecond (futimes takes no finer); compared as integers:
      // mtimeMs as a double is ~0.24 µs coarse today, so two times in the same µs could differ by 1.2
      expect(
        sameMicrosecond(
          statSync(join(dst, 'a.raw'), { bigint: true }).mtimeNs,
          statSync(a, { bigint: true }).mtimeNs,
        ),
      ).toBe(true);

      const b = join(src, 'b.raw');
      await writeDataFile(b, 5000);
      const err = await rejectsWithCode(
        copyVerified({
          source: { kind: 'file', path: b },
          dest: join(dst, 'b.raw'),
          smallCopier: copier,
          onPhase: flipBit,
        }),
        'backup.verify_failed',
      );
      expect(err.message).toContain(join(dst, 'b.raw'));
      expect(await readdir(dst)).toEqual(['a.raw']); // no partial left, nothing committed
      // the thread is still the caller's: the next file copies on it
      await copyVerified({
        source: { kind: 'file', path: b },
        dest: join(dst, 'b.raw'),
        smallCopier: copier,
      });
      expect((await readdir(dst)).sort()).toEqual(['a.raw', 'b.raw']);
    } finally {
      await copier.close();
    }
  });
});
