/**
 * ENOSPC on real, tiny tmpfs mounts (2 MiB; 4 MiB for a file large enough to be written by the copy's
 * writer thread). Mounting needs root; without it these tests skip with one line.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectsWithCode } from '../../test/helpers/errors.ts';
import { PermanentError, type SluiceError } from '../core/errors.ts';
import { copyVerified } from './copy.ts';
import { SMALL_THREAD_MIN_FILES } from './small-files.ts';
import { makeTmp, writeDataFile } from './testing.ts';

let mnt: string | undefined;
let mountPoint: string;
let bigMountPoint: string;
let skipReason = '';
let tmp: Awaited<ReturnType<typeof makeTmp>>;

beforeAll(async () => {
  tmp = await makeTmp();
  mountPoint = await mkdtemp(join(tmpdir(), 'sluice-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    mnt = mountPoint;
    bigMountPoint = await mkdtemp(join(tmpdir(), 'sluice-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', bigMountPoint], { stdio: 'pipe' });
  } catch (err) {
    skipReason = `skipping ENOSPC tests: cannot mount a 2 MiB tmpfs (${String(err).split('\n')[0]}); run as root to include them`;
    console.warn(skipReason);
  }
});

afterAll(async () => {
  if (mnt) execFileSync('umount', [mnt], { stdio: 'pipe' });
  if (bigMountPoint) execFileSync('umount', [bigMountPoint], { stdio: 'pipe' });
  await rm(mountPoint, { recursive: true, force: true });
  if (bigMountPoint) await rm(bigMountPoint, { recursive: true, force: true });
  await tmp.cleanup();
});

async function expectFull(p: Promise<unknown>): Promise<SluiceError> {
  const err = await rejectsWithCode(p, 'backup.target_full');
  expect(err).not.toBeInstanceOf(PermanentError); // space can be freed; retry later
  return err;
}

describe('copyVerified on a full target', () => {
  it('refuses up front when the free space is too small, naming the target and the bytes', async (ctx) => {
    if (!mnt) return ctx.skip(skipReason);
    const src = join(tmp.dir, 'three.raw');
    await writeDataFile(src, 3 * 1024 * 1024);
    const err = await expectFull(
      copyVerified({ source: { kind: 'file', path: src }, dest: join(mnt, 'three.raw') }),
    );
    expect(err.message).toContain(`backup target ${mnt} is full`);
    expect(err.message).toMatch(/needs 314\d{4} bytes/);
    expect(err.hint).toContain(mnt);
    expect(await readdir(mnt)).toEqual([]);
  });

  it('maps ENOSPC while writing a file to target_full and removes the temp', async (ctx) => {
    if (!mnt) return ctx.skip(skipReason);
    const src = join(tmp.dir, 'three.raw');
    const err = await expectFull(
      copyVerified({ source: { kind: 'file', path: src }, dest: join(mnt, 'w.raw'), checkSpace: false }),
    );
    expect(err.message).toContain(mnt);
    expect(err.cause).toMatchObject({ code: 'ENOSPC' });
    expect(await readdir(mnt)).toEqual([]);
  });

  it('maps ENOSPC from the writer thread (a file of 8 MiB or more) the same way', async (ctx) => {
    if (!mnt) return ctx.skip(skipReason);
    const src = join(tmp.dir, 'twelve.raw');
    await writeDataFile(src, 12 * 1024 * 1024);
    const dest = join(bigMountPoint, 'twelve.raw');
    const err = await expectFull(
      copyVerified({ source: { kind: 'file', path: src }, dest, checkSpace: false }),
    );
    expect(err.message).toContain(bigMountPoint);
    expect(err.cause).toMatchObject({ code: 'ENOSPC' });
    expect(await readdir(bigMountPoint)).toEqual([]);
  });

  it('maps ENOSPC in the middle of a folder and removes the whole temp tree', async (ctx) => {
    if (!mnt) return ctx.skip(skipReason);
    const d = join(tmp.dir, 'r.d');
    await mkdir(join(d, 'sub'), { recursive: true });
    await writeDataFile(join(d, 'a.bin'), 1024 * 1024);
    await writeDataFile(join(d, 'sub', 'b.bin'), 1024 * 1024);
    await writeDataFile(join(d, 'sub', 'c.bin'), 1024 * 1024);
    const dest = join(mnt, 'sub-dir', 'r.d');
    await expectFull(copyVerified({ source: { kind: 'folder', path: d }, dest, checkSpace: false }));
    expect(await readdir(join(mnt, 'sub-dir'))).toEqual([]);
    // The space is free again: a copy that fits goes through.
    const small = join(tmp.dir, 'small.raw');
    await writeDataFile(small, 512 * 1024);
    const r = await copyVerified({ source: { kind: 'file', path: small }, dest: join(mnt, 'small.raw') });
    expect(r.bytes).toBe(512 * 1024);
  });

  it('maps ENOSPC on the small-file thread (a folder of many small files) the same way', async (ctx) => {
    if (!mnt) return ctx.skip(skipReason);
    const d = join(tmp.dir, 'many.d');
    const n = Math.max(SMALL_THREAD_MIN_FILES, 6);
    for (let i = 0; i < n; i++) await writeDataFile(join(d, `part-${i}.bin`), 512 * 1024); // > 2 MiB
    const dest = join(bigMountPoint, 'many.d');
    await writeDataFile(join(bigMountPoint, 'filler'), 2 * 1024 * 1024); // leaves less than the folder
    try {
      const err = await expectFull(
        copyVerified({ source: { kind: 'folder', path: d }, dest, checkSpace: false }),
      );
      expect(err.message).toContain(bigMountPoint);
      expect(err.cause).toMatchObject({ code: 'ENOSPC' });
      expect(await readdir(bigMountPoint)).toEqual(['filler']);
    } finally {
      await rm(join(bigMountPoint, 'filler'));
    }
  });
});
