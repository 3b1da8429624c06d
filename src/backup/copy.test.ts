import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { chmod, link, mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectsWithCode } from '../../test/helpers/errors.ts';
import { PermanentError } from '../core/errors.ts';
import { copyVerified } from './copy.ts';
import { hashFile } from './hash.ts';
import { listSource, makeManifest, type SourceSpec } from './manifest.ts';
import { SMALL_THREAD_MIN_FILES } from './small-files.ts';
import { moveAside, tempNameFor } from './temp.ts';
import { makeBrukerLike, makeTmp, writeDataFile } from './testing.ts';
import { verifyCopy } from './verify.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
let n = 0;
/** A fresh source/target pair of directories for one test. */
async function dirs() {
  const base = join(tmp.dir, `t${n++}`);
  await mkdir(join(base, 'src'), { recursive: true });
  await mkdir(join(base, 'dst'), { recursive: true });
  return { src: join(base, 'src'), dst: join(base, 'dst') };
}
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** Everything in a target directory, so tests can assert that no partial copy is left. */
const entries = (d: string) => readdir(d);
const expectCode = rejectsWithCode;

/** Run `fn` on the first call only. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

describe('copyVerified: happy paths', () => {
  it('copies one file, hashing it, read-only, with its mtime, reporting progress', async () => {
    const { src, dst } = await dirs();
    const s = join(src, 'run.raw');
    await writeDataFile(s, 20 * 1024 * 1024 + 7);
    // an exact millisecond: set through a Date or a double it landed 1 µs low, on .122999 s
    execFileSync('touch', ['-d', '@1700000000.123000000', s]);
    const progress: [number, number][] = [];
    const dest = join(dst, 'nested', 'run.raw');
    const r = await copyVerified({
      source: { kind: 'file', path: s },
      dest,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(r.associated).toBe(false);
    expect(r.bytes).toBe(20 * 1024 * 1024 + 7);
    expect(r.manifest.algorithm).toBe('sha256');
    expect(r.manifest.entries).toEqual([
      { rel: 'run.raw', size: r.bytes, mtimeMs: 1_700_000_000_123, hash: sha(await readFile(s)) },
    ]);
    expect(sha(await readFile(dest))).toBe(r.manifest.entries[0]!.hash);
    const st = await stat(dest);
    expect(st.mode & 0o777).toBe(0o444);
    expect((await stat(dest, { bigint: true })).mtimeNs).toBe(1_700_000_000_123_000_000n);
    expect(progress.at(-1)).toEqual([r.bytes, r.bytes]);
    expect(progress.every(([d], i) => i === 0 || d > progress[i - 1]![0])).toBe(true);
    expect(await entries(join(dst, 'nested'))).toEqual(['run.raw']);
  });

  it('records the sha256 (or the configured algorithm) of the source bytes, whatever the read-back uses', async () => {
    const { src, dst } = await dirs();
    const d = join(src, 'r.d');
    await makeBrukerLike(d, { bigBytes: 70 * 1024 * 1024, smallFiles: 5 });
    const files = (await listSource({ kind: 'folder', path: d })).map((e) => e.rel).sort();
    const digests = async (algorithm: string) =>
      Object.fromEntries(
        await Promise.all(
          files.map(async (rel) => [rel, (await hashFile(join(d, rel), { algorithm })).hash]),
        ),
      );
    const byRel = (r: { manifest: { entries: { rel: string; hash: string }[] } }) =>
      Object.fromEntries(r.manifest.entries.map((e) => [e.rel, e.hash]));
    const sha256 = await digests('sha256');
    for (const readBackChecksum of ['fast', 'recorded'] as const) {
      const r = await copyVerified({
        source: { kind: 'folder', path: d },
        dest: join(dst, `${readBackChecksum}.d`),
        readBackChecksum,
      });
      expect(r.manifest.algorithm).toBe('sha256');
      expect(byRel(r)).toEqual(sha256);
      // and the copy's bytes are the source's: verifyCopy re-reads it with sha256
      expect(await verifyCopy(join(dst, `${readBackChecksum}.d`), 'folder', r.manifest)).toEqual({
        ok: true,
      });
    }
    const md5 = await copyVerified({
      source: { kind: 'folder', path: d },
      dest: join(dst, 'md5.d'),
      algorithm: 'md5',
    });
    expect(md5.manifest.algorithm).toBe('md5');
    expect(byRel(md5)).toEqual(await digests('md5'));
  });

  // Up to 4 MiB a file is small. Below SMALL_THREAD_MIN_FILES small files they are copied through
  // the thread pool, from that many on by the small-file thread (copy-tree.ts): both ways are tested.
  const smallWays = [
    { way: 'through the thread pool', smallFiles: 2 },
    { way: 'on the small-file thread', smallFiles: SMALL_THREAD_MIN_FILES },
  ];

  it.each(smallWays)(
    'copies a Bruker-like folder with sub-folders, read-only parts and an empty directory ($way)',
    async ({ smallFiles }) => {
      const { src, dst } = await dirs();
      const d = join(src, 'run.d');
      await makeBrukerLike(d, { bigBytes: 3 * 1024 * 1024, smallFiles });
      await mkdir(join(d, 'ro-dir'));
      await writeFile(join(d, 'ro-dir', 'locked'), 'x');
      await chmod(join(d, 'ro-dir', 'locked'), 0o444);
      await chmod(join(d, 'ro-dir'), 0o555);
      const dest = join(dst, 'run.d');
      const r = await copyVerified({ source: { kind: 'folder', path: d }, dest, algorithm: 'md5' });
      expect(r.manifest.entries.length).toBe(smallFiles + 3);
      expect(r.manifest.totalBytes).toBe(r.bytes);
      expect(await verifyCopy(dest, 'folder', r.manifest)).toEqual({ ok: true });
      expect(await verifyCopy(d, 'folder', r.manifest)).toEqual({ ok: true });
      expect((await stat(join(dest, 'empty'))).isDirectory()).toBe(true);
      expect((await stat(join(dest, 'ro-dir'))).mode & 0o777).toBe(0o755);
      expect((await stat(join(dest, 'method.m', 'part-000.bin'))).mode & 0o777).toBe(0o444);
      expect(await entries(dst)).toEqual(['run.d']);
    },
  );

  it('copies a main file with its companions into the destination directory, nothing else', async () => {
    const { src, dst } = await dirs();
    for (const f of ['x.wiff', 'x.wiff2', 'x.wiff.scan', 'y.wiff']) await writeFile(join(src, f), f);
    await writeFile(join(src, 'x.timeseries.data'), ''); // empty files copy and verify too
    const source: SourceSpec = {
      kind: 'files',
      dir: src,
      names: ['x.wiff', 'x.wiff2', 'x.wiff.scan', 'x.timeseries.data'],
    };
    const dest = join(dst, 'x');
    const r = await copyVerified({ source, dest });
    expect((await readdir(dest)).sort()).toEqual(['x.timeseries.data', 'x.wiff', 'x.wiff.scan', 'x.wiff2']);
    expect(await readFile(join(dest, 'x.wiff.scan'), 'utf8')).toBe('x.wiff.scan');
    expect(await verifyCopy(dest, 'files', r.manifest)).toEqual({ ok: true });
    expect(await entries(dst)).toEqual(['x']);
  });

  it('refused just before its commit (backup target gone), it leaves neither the destination nor a temp', async () => {
    const { src, dst } = await dirs();
    await mkdir(join(src, 'run.d', 'sub'), { recursive: true });
    await writeFile(join(src, 'run.d', 'analysis.tdf'), 'meta');
    await writeFile(join(src, 'run.d', 'sub', 'frames.bin'), 'frames');
    let asked = 0;
    await expect(
      copyVerified({
        source: { kind: 'folder', path: join(src, 'run.d') },
        dest: join(dst, 'run.d'),
        beforeCommit: async () => {
          asked++;
          throw new Error('backup target unavailable: the share is not mounted');
        },
      }),
    ).rejects.toThrow(/backup target unavailable/);
    expect(asked).toBe(1);
    expect(await entries(dst)).toEqual([]);
  });
});

describe('copyVerified: an existing destination is never overwritten', () => {
  it('associates an identical existing copy without writing it', async () => {
    const { src, dst } = await dirs();
    await writeFile(join(src, 'a.raw'), 'same');
    await writeFile(join(dst, 'a.raw'), 'same');
    const ino = (await stat(join(dst, 'a.raw'))).ino;
    const r = await copyVerified({
      source: { kind: 'file', path: join(src, 'a.raw') },
      dest: join(dst, 'a.raw'),
    });
    expect(r).toMatchObject({ associated: true, bytes: 0 });
    expect(r.manifest.entries[0]!.hash).toBe(sha('same'));
    expect((await stat(join(dst, 'a.raw'))).ino).toBe(ino);
  });

  it('refuses a differing existing copy with target_differs, leaving it as it was', async () => {
    const { src, dst } = await dirs();
    await writeFile(join(src, 'a.raw'), 'new!');
    await writeFile(join(dst, 'a.raw'), 'old!');
    const dest = join(dst, 'a.raw');
    const err = await expectCode(
      copyVerified({ source: { kind: 'file', path: join(src, 'a.raw') }, dest }),
      'backup.target_differs',
    );
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain(`existing backup at ${dest} differs from the source`);
    expect(err.hint).toContain('inspect both; `sluice backup accept-overwrite <file id>`');
    expect(await readFile(dest, 'utf8')).toBe('old!');
    expect(await entries(dst)).toEqual(['a.raw']);
  });

  it('refuses a folder copy missing a file, then copies again after moveAside', async () => {
    const { src, dst } = await dirs();
    const d = join(src, 'r.d');
    await mkdir(d);
    await writeFile(join(d, 'a'), 'A');
    await writeFile(join(d, 'b'), 'B');
    const dest = join(dst, 'r.d');
    await mkdir(dest);
    await writeFile(join(dest, 'a'), 'A');
    const err = await expectCode(
      copyVerified({ source: { kind: 'folder', path: d }, dest }),
      'backup.target_differs',
    );
    expect(err.message).toContain(`${dest}/b: missing`);
    const aside = await moveAside(dest);
    const r = await copyVerified({ source: { kind: 'folder', path: d }, dest });
    expect(r.associated).toBe(false);
    expect(await readdir(aside)).toEqual(['a']);
    expect((await readdir(dest)).sort()).toEqual(['a', 'b']);
  });

  it('when the destination appears during the copy: associates if equal, else refuses', async () => {
    const { src, dst } = await dirs();
    await writeFile(join(src, 'a.raw'), 'content');
    const source: SourceSpec = { kind: 'file', path: join(src, 'a.raw') };
    const same = join(dst, 'same.raw');
    const r = await copyVerified({
      source,
      dest: same,
      onPhase: (ph) => void (ph === 'commit' && writeFileSync(same, 'content')),
    });
    expect(r.associated).toBe(true);
    const other = join(dst, 'other.raw');
    const onPhase = (ph: string) => void (ph === 'commit' && writeFileSync(other, 'someone else'));
    await expectCode(copyVerified({ source, dest: other, onPhase }), 'backup.target_differs');
    expect(await readFile(other, 'utf8')).toBe('someone else');
    expect((await entries(dst)).sort()).toEqual(['other.raw', 'same.raw']);
  });
});

describe('copyVerified: failures leave no partial copy', () => {
  const big = 20 * 1024 * 1024;
  async function bigSource() {
    const { src, dst } = await dirs();
    const s = join(src, 'big.raw');
    await writeDataFile(s, big);
    return { s, dst, dest: join(dst, 'big.raw'), source: { kind: 'file', path: s } as SourceSpec };
  }

  it('source growing during the copy → retryable source_changed', async () => {
    const { s, dst, dest, source } = await bigSource();
    const onProgress = once(() => appendFileSync(s, 'more'));
    const err = await expectCode(copyVerified({ source, dest, onProgress }), 'backup.source_changed');
    expect(err).not.toBeInstanceOf(PermanentError);
    expect(err.message).toContain(s);
    expect(await entries(dst)).toEqual([]);
  });

  it('source touched (mtime only) during the copy → source_changed', async () => {
    const { s, dst, dest, source } = await bigSource();
    const onProgress = () => utimesSync(s, new Date(), new Date(Date.now() + 5000));
    await expectCode(copyVerified({ source, dest, onProgress }), 'backup.source_changed');
    expect(await entries(dst)).toEqual([]);
  });

  it('a file added to a source folder during the copy → source_changed', async () => {
    const { src, dst } = await dirs();
    const d = join(src, 'r.d');
    await writeDataFile(join(d, 'big'), big);
    const onProgress = () => writeFileSync(join(d, 'late.txt'), 'late');
    const err = await expectCode(
      copyVerified({ source: { kind: 'folder', path: d }, dest: join(dst, 'r.d'), onProgress }),
      'backup.source_changed',
    );
    expect(err.message).toContain('late.txt');
    expect(await entries(dst)).toEqual([]);
  });

  it('source missing, or vanishing during the copy → retryable source_missing naming it', async () => {
    const { s, dst, dest, source } = await bigSource();
    const missing = join(s, '..', 'nope.raw');
    const e1 = await expectCode(
      copyVerified({ source: { kind: 'file', path: missing }, dest }),
      'backup.source_missing',
    );
    expect(e1.message).toContain(missing);
    expect(e1).not.toBeInstanceOf(PermanentError);
    const e2 = await expectCode(
      copyVerified({ source, dest, onProgress: once(() => unlinkSync(s)) }),
      'backup.source_missing',
    );
    expect(e2.message).toContain(s);
    expect(await entries(dst)).toEqual([]);
  });

  /** Copy folder `d` while `name` in it vanishes as the copy starts; the error and bytes copied. */
  async function copyLosing(d: string, name: string) {
    const { dst } = await dirs();
    const onPhase = (ph: string) => void (ph === 'copy' && unlinkSync(join(d, name)));
    let progressed = 0;
    const onProgress = (done: number) => {
      progressed = done;
    };
    const copy = copyVerified({
      source: { kind: 'folder', path: d },
      dest: join(dst, 'r.d'),
      onPhase,
      onProgress,
    });
    const err = await expectCode(copy, 'backup.source_missing');
    expect(err.message).toContain(join(d, name));
    expect(await entries(dst)).toEqual([]);
    return progressed;
  }

  it.each([
    { way: 'through the thread pool', others: 0 },
    { way: 'on the small-file thread', others: SMALL_THREAD_MIN_FILES },
  ])(
    'a small file of a folder failing stops the large one copied alongside, and is the error ($way)',
    async ({ others }) => {
      const d = join((await dirs()).src, 'r.d');
      // 1 GiB, sparse (no disk used by the source): copying it takes seconds, not the tenth of a
      // second 64 MiB took, so "stopped before the end" does not hang on which thread starts first
      // on a busy machine (the small file's thread used to start after 64 MiB were copied)
      const large = 1024 * 1024 * 1024;
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'big'), 'head');
      await truncate(join(d, 'big'), large);
      await writeDataFile(join(d, 'small.txt'), 1000);
      for (let i = 0; i < others; i++) await writeDataFile(join(d, `other-${i}.txt`), 1000);
      expect(await copyLosing(d, 'small.txt')).toBeLessThan(large); // stopped, not copied to the end first
    },
  );

  it('a small file changed during the copy (copied on the small-file thread) → source_changed naming it', async () => {
    const { src, dst } = await dirs();
    const d = join(src, 'r.d');
    for (let i = 0; i < SMALL_THREAD_MIN_FILES; i++) await writeDataFile(join(d, `s${i}.txt`), 5000);
    const grown = join(d, 's3.txt');
    const onPhase = (ph: string) => void (ph === 'copy' && appendFileSync(grown, 'more'));
    const err = await expectCode(
      copyVerified({ source: { kind: 'folder', path: d }, dest: join(dst, 'r.d'), onPhase }),
      'backup.source_changed',
    );
    expect(err.message).toContain(`${grown}: size was 5000 bytes, read 5004, now 5004`);
    expect(await entries(dst)).toEqual([]);
  });

  it('a large file of a folder failing stops the small files: no more start, its error is reported', async () => {
    const d = join((await dirs()).src, 'r.d');
    await writeDataFile(join(d, 'big'), big);
    const smallBytes = 64 * 1024;
    for (let i = 0; i < 300; i++) await writeDataFile(join(d, `s${i}.txt`), smallBytes);
    expect(await copyLosing(d, 'big')).toBeLessThan(300 * smallBytes);
  });

  it('expected manifest: a matching one passes, a different hash → source_changed', async () => {
    const { s, dst, dest, source } = await bigSource();
    const listed = await listSource(source);
    const good = makeManifest('sha256', [{ ...listed[0]!, hash: (await hashFile(s)).hash }]);
    const bad = makeManifest('sha256', [{ ...listed[0]!, hash: sha('something else') }]);
    const err = await expectCode(copyVerified({ source, dest, expected: bad }), 'backup.source_changed');
    expect(err.message).toContain('since its checksums were recorded');
    expect(await entries(dst)).toEqual([]);
    const r = await copyVerified({ source, dest, expected: good });
    expect(r.manifest).toEqual(good);
  });

  it('read-back mismatch → verify_failed, temp removed', async () => {
    const { dst, dest, source } = await bigSource();
    const corrupt = async (ph: string, info: { temp: string }) => {
      if (ph !== 'verify') return;
      chmodSync(info.temp, 0o644);
      const fh = await open(info.temp, 'r+');
      const b = Buffer.alloc(3);
      await fh.read(b, 0, 3, 12345);
      await fh.write(
        b.map((x) => x ^ 0xff),
        0,
        3,
        12345,
      ); // always different bytes
      await fh.close();
    };
    const err = await expectCode(copyVerified({ source, dest, onPhase: corrupt }), 'backup.verify_failed');
    expect(err.message).toContain(dest);
    // Compared with the fast checksum; the recorded sha256 of the source is named too.
    expect(err.message).toMatch(/source \d+ bytes xxh3-64x2 [0-9a-f]{32} \(sha256 [0-9a-f]{64}\)/);
    expect(await entries(dst)).toEqual([]);
  });

  /** onPhase hook flipping one bit of the temp at `offset` once the copy pass is over. */
  const flipBitAt = (offset: number) => async (ph: string, info: { temp: string }) => {
    if (ph !== 'verify') return;
    chmodSync(info.temp, 0o644);
    const fh = await open(info.temp, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0x10;
    await fh.write(b, 0, 1, offset);
    await fh.close();
  };

  it('read-back mismatch with the recorded algorithm (fast checksum off by option or environment)', async () => {
    const { dst, dest, source } = await bigSource();
    const e1 = await expectCode(
      copyVerified({ source, dest, readBackChecksum: 'recorded', onPhase: flipBitAt(big - 5) }),
      'backup.verify_failed',
    );
    expect(e1.message).toMatch(/source \d+ bytes sha256 [0-9a-f]{64}, copy \d+ bytes [0-9a-f]{64}$/);
    expect(await entries(dst)).toEqual([]);
    process.env.SLUICE_READBACK_CHECKSUM = 'recorded';
    try {
      const e2 = await expectCode(
        copyVerified({ source, dest, algorithm: 'md5', onPhase: flipBitAt(0) }),
        'backup.verify_failed',
      );
      expect(e2.message).toMatch(/source \d+ bytes md5 [0-9a-f]{32}, copy \d+ bytes [0-9a-f]{32}$/);
      // The option wins over the environment.
      const e3 = await expectCode(
        copyVerified({ source, dest, readBackChecksum: 'fast', onPhase: flipBitAt(1) }),
        'backup.verify_failed',
      );
      expect(e3.message).toContain('xxh3-64x2');
    } finally {
      delete process.env.SLUICE_READBACK_CHECKSUM;
    }
    expect(await entries(dst)).toEqual([]);
  });

  it('read-back mismatch of a small file (read back on the calling thread) → verify_failed', async () => {
    const { src, dst } = await dirs();
    const s = join(src, 'small.raw');
    await writeDataFile(s, 100_000);
    const source: SourceSpec = { kind: 'file', path: s };
    const dest = join(dst, 'small.raw');
    const e1 = await expectCode(
      copyVerified({ source, dest, onPhase: flipBitAt(99_999) }),
      'backup.verify_failed',
    );
    expect(e1.message).toContain('xxh3-64x2');
    const e2 = await expectCode(
      copyVerified({ source, dest, readBackChecksum: 'recorded', onPhase: flipBitAt(0) }),
      'backup.verify_failed',
    );
    expect(e2.message).toMatch(/source 100000 bytes sha256 [0-9a-f]{64}, copy 100000 bytes [0-9a-f]{64}$/);
    expect(await entries(dst)).toEqual([]);
    const r = await copyVerified({ source, dest });
    expect(r.manifest.entries[0]!.hash).toBe((await hashFile(s)).hash);
    expect(await entries(dst)).toEqual(['small.raw']);
  });

  it.each([
    { way: 'through the thread pool', smallFiles: 4 },
    { way: 'on the small-file thread', smallFiles: SMALL_THREAD_MIN_FILES },
  ])(
    'one flipped bit in one small file of a folder is caught by the fast read-back, naming it ($way)',
    async ({ smallFiles }) => {
      const { src, dst } = await dirs();
      const d = join(src, 'r.d');
      await makeBrukerLike(d, { bigBytes: 3 * 1024 * 1024, smallFiles });
      const dest = join(dst, 'r.d');
      const inner = flipBitAt(4242);
      const onPhase = (ph: string, info: { temp: string }) =>
        inner(ph, { temp: join(info.temp, 'method.m', 'part-003.bin') });
      const err = await expectCode(
        copyVerified({ source: { kind: 'folder', path: d }, dest, onPhase }),
        'backup.verify_failed',
      );
      expect(err.message).toContain(join(dest, 'method.m', 'part-003.bin'));
      expect(err.message).toContain('xxh3-64x2');
      expect(await entries(dst)).toEqual([]);
    },
  );

  it('read-back mismatch in the tail of a file verified window by window → verify_failed', async () => {
    const { src, dst } = await dirs();
    const s = join(src, 'large.raw');
    const size = 100 * 1024 * 1024; // > one 64 MiB flush window: the first window is read back early
    await writeDataFile(s, size);
    const dest = join(dst, 'large.raw');
    const corruptLastByte = async (ph: string, info: { temp: string }) => {
      if (ph !== 'verify') return;
      chmodSync(info.temp, 0o644);
      const fh = await open(info.temp, 'r+');
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, size - 1);
      b[0] = b[0]! ^ 0xff; // always a different byte
      await fh.write(b, 0, 1, size - 1);
      await fh.close();
    };
    const err = await expectCode(
      copyVerified({ source: { kind: 'file', path: s }, dest, onPhase: corruptLastByte }),
      'backup.verify_failed',
    );
    expect(err.message).toContain(`copy ${size} bytes`);
    expect(await entries(dst)).toEqual([]);
  });

  it('abort during the copy → backup.aborted, temp removed', async () => {
    const { dst, dest, source } = await bigSource();
    const ac = new AbortController();
    await expectCode(
      copyVerified({ source, dest, signal: ac.signal, onProgress: () => ac.abort() }),
      'backup.aborted',
    );
    expect(await entries(dst)).toEqual([]);
  });

  it('abort during the read-back of a folder with read-only parts → temp removed', async () => {
    const { src, dst } = await dirs();
    const d = join(src, 'r.d');
    await makeBrukerLike(d, { bigBytes: 1024 * 1024, smallFiles: 3 });
    await chmod(join(d, 'method.m'), 0o555);
    const ac = new AbortController();
    const onPhase = (ph: string) => void (ph === 'verify' && ac.abort());
    await expectCode(
      copyVerified({
        source: { kind: 'folder', path: d },
        dest: join(dst, 'r.d'),
        signal: ac.signal,
        onPhase,
      }),
      'backup.aborted',
    );
    expect(await entries(dst)).toEqual([]);
  });

  it('removes leftovers of earlier attempts before copying', async () => {
    const { src, dst } = await dirs();
    await writeFile(join(src, 'a.raw'), 'A');
    const dest = join(dst, 'a.raw');
    const left = tempNameFor(dest);
    await mkdir(dirname(left));
    await writeFile(left, 'half');
    await writeFile(join(dst, 'unrelated'), 'keep');
    await copyVerified({ source: { kind: 'file', path: join(src, 'a.raw') }, dest });
    expect((await entries(dst)).sort()).toEqual(['a.raw', 'unrelated']);
  });

  it('refuses a destination that is the source, a hard link to it, or inside a source folder', async () => {
    const { s, dst } = await bigSource();
    const source: SourceSpec = { kind: 'file', path: s };
    const e1 = await expectCode(copyVerified({ source, dest: s }), 'backup.bad_target');
    expect(e1).toBeInstanceOf(PermanentError);
    expect(e1.message).toContain(s);
    await link(s, join(dst, 'hardlink.raw'));
    await expectCode(copyVerified({ source, dest: join(dst, 'hardlink.raw') }), 'backup.bad_target');
    const folder = join(dst, '..', 'src');
    await expectCode(
      copyVerified({ source: { kind: 'folder', path: folder }, dest: join(folder, 'b.d') }),
      'backup.bad_target',
    );
    expect(await entries(folder)).toEqual(['big.raw']);
  });

  it('an unknown algorithm fails before anything is written', async () => {
    const { s, dst, dest } = await bigSource();
    await expectCode(
      copyVerified({ source: { kind: 'file', path: s }, dest, algorithm: 'crc99' }),
      'backup.bad_hash',
    );
    expect(await entries(dst)).toEqual([]);
  });
});
