/**
 * A single small file's copy in two calls on the caller's small-file thread (copy-small.ts, as a
 * batch of small files makes it): the same copy and record as the general path; every check on the
 * main thread refuses what it must (nothing at `dest`, no temp left); whatever the thread finds
 * unusual before writing goes to the general path; the target check before the link is the
 * thread's, with target.ts's full check (`beforeCommit`) only when that fails.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { rejectsWithCode } from '../../test/helpers/errors.ts';
import { SluiceError } from '../core/errors.ts';
import { type CopyOptions, copyVerified } from './copy.ts';
import { SmallFileCopier, type WholeCopy } from './small-files.ts';
import { partialDirFor } from './temp.ts';
import { makeTmp, sameMicrosecond, writeDataFile } from './testing.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
let n = 0;
let src: string;
let dst: string;
let copier: SmallFileCopier;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());
beforeEach(async () => {
  n++;
  src = join(tmp.dir, `src${n}`);
  dst = join(tmp.dir, `dst${n}`);
  await mkdir(src, { recursive: true });
  await mkdir(dst, { recursive: true });
  copier = new SmallFileCopier(64 * 1024);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await copier.close();
});

const sha256 = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');

/** A source file and the options of its copy into `dst/sub/<name>` with the batch's thread. */
async function job(name: string, bytes = 5000, more: Partial<CopyOptions> = {}): Promise<CopyOptions> {
  const path = join(src, name);
  await writeDataFile(path, bytes);
  return { source: { kind: 'file', path }, dest: join(dst, 'sub', name), smallCopier: copier, ...more };
}

/** The thread's answer to the next file, changed by `change` (what the thread would have found). */
function alterWhole(change: (r: Extract<WholeCopy, { listed: unknown }>) => void) {
  const real = copier.copyWhole.bind(copier);
  return vi.spyOn(copier, 'copyWhole').mockImplementation(async (o) => {
    const r = await real(o);
    if (r.stop === undefined) change(r);
    return r;
  });
}

describe('copy-small: a lone small file in two calls on the caller thread', () => {
  it('copies, verifies and commits on the thread, the parent fsync left to the caller', async () => {
    const whole = vi.spyOn(copier, 'copyWhole');
    const parents: string[] = [];
    const o = await job('a.raw', 300_000, { deferParentSync: (p) => parents.push(p) });
    const r = await copyVerified(o);
    expect(whole).toHaveBeenCalledTimes(1); // the small-file path, not the general one
    expect(r.associated).toBe(false);
    expect(r.bytes).toBe(300_000);
    expect(r.manifest.entries).toEqual([
      expect.objectContaining({ rel: 'a.raw', size: 300_000, hash: await sha256(join(src, 'a.raw')) }),
    ]);
    const copy = join(dst, 'sub', 'a.raw');
    expect(await readFile(copy)).toEqual(await readFile(join(src, 'a.raw')));
    expect(statSync(copy).mode & 0o777).toBe(0o444);
    expect(
      sameMicrosecond(
        statSync(copy, { bigint: true }).mtimeNs,
        statSync(join(src, 'a.raw'), { bigint: true }).mtimeNs,
      ),
    ).toBe(true);
    expect(await readdir(join(dst, 'sub'))).toEqual(['a.raw']); // no partial folder left
    expect(parents).toEqual([join(dst, 'sub')]);
  });

  it('leaves an existing copy and a leftover partial folder to the general path', async () => {
    const o = await job('b.raw');
    await mkdir(join(dst, 'sub'), { recursive: true });
    await writeFile(join(dst, 'sub', 'b.raw'), await readFile(join(src, 'b.raw')));
    expect((await copyVerified(o)).associated).toBe(true);

    const o2 = await job('c.raw');
    await mkdir(join(partialDirFor(o2.dest), 'abc'), { recursive: true });
    await writeFile(join(partialDirFor(o2.dest), 'abc', 'x'), 'partial');
    const r = await copyVerified(o2);
    expect(r.associated).toBe(false);
    expect((await readdir(join(dst, 'sub'))).sort()).toEqual(['b.raw', 'c.raw']); // swept
  });

  it('refuses a read-back that differs, a source changed meanwhile and a refused source', async () => {
    const cases: [string, string, (r: Extract<WholeCopy, { listed: unknown }>) => void][] = [
      ['d.raw', 'backup.verify_failed', (r) => (r.back.hash = '00'.repeat(16))],
      ['e.raw', 'backup.verify_failed', (r) => (r.back.size += 1)],
      ['f.raw', 'backup.source_changed', (r) => (r.after.mtimeMs += 1000)],
      ['g.raw', 'backup.verify_failed', (r) => (r.temp.size -= 1)],
    ];
    for (const [name, code, change] of cases) {
      const spy = alterWhole(change);
      await rejectsWithCode(copyVerified(await job(name)), code);
      spy.mockRestore();
    }
    const refuse = await job('h.raw', 5000, {
      accept: () => {
        throw new SluiceError('backup.source_replaced', 'not what was acquired');
      },
    });
    await expect(copyVerified(refuse)).rejects.toThrow('not what was acquired');
    expect(await readdir(join(dst, 'sub'))).toEqual([]); // nothing committed, no temp, no partial folder
  });

  it('checks the target on the thread before the link; the full check only when that fails', async () => {
    const root = join(dst, 'sub');
    await mkdir(root, { recursive: true });
    const marker = join(root, '.sluice-backup-target');
    await writeFile(marker, JSON.stringify({ instance: 'me' }));
    const beforeCommit = vi.fn(async () => {});
    const guard = { marker, instance: 'me' };
    await copyVerified(await job('i.raw', 5000, { beforeCommit, commitGuard: guard }));
    expect(beforeCommit).not.toHaveBeenCalled();

    // another instance's marker: the full check runs; it refuses, nothing is committed
    await writeFile(marker, JSON.stringify({ instance: 'other' }));
    const refusing = vi.fn(async () => {
      throw new SluiceError('backup.target_unavailable', 'backup target unavailable');
    });
    await expect(
      copyVerified(await job('j.raw', 5000, { beforeCommit: refusing, commitGuard: guard })),
    ).rejects.toThrow('backup target unavailable');
    expect(refusing).toHaveBeenCalledTimes(1);
    // the full check lets it go on (it would write a missing marker, say): committed
    await copyVerified(await job('k.raw', 5000, { beforeCommit, commitGuard: guard }));
    expect(beforeCommit).toHaveBeenCalledTimes(1);
    // a root that must be a mount point and is not: the full check runs too
    const mounted = vi.fn(async () => {});
    await writeFile(marker, JSON.stringify({ instance: 'me' }));
    await copyVerified(
      await job('l.raw', 5000, { beforeCommit: mounted, commitGuard: { ...guard, mountRoot: root } }),
    );
    expect(mounted).toHaveBeenCalledTimes(1);
    expect((await readdir(root)).sort()).toEqual(['.sluice-backup-target', 'i.raw', 'k.raw', 'l.raw']);
  });
});
