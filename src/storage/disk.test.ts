import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectsWithCode } from '../../test/helpers/errors.ts';
import { freeSpace, isMountPoint } from './disk.ts';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sluice-disk-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const offlineOf = (p: Promise<unknown>) => rejectsWithCode(p, 'intake.offline');

describe('isMountPoint and freeSpace', () => {
  it('/ is a mount point, a fresh temp folder is not', async () => {
    expect(await isMountPoint('/')).toBe(true);
    expect(await isMountPoint(dir)).toBe(false);
    const e = await offlineOf(isMountPoint(path.join(dir, 'nope')));
    expect(e.message).toMatch(/nope does not exist \(is the share mounted\?\)/);
  });

  it('freeSpace reports bytes on the folder’s filesystem', async () => {
    const s = await freeSpace(dir);
    expect(s.totalBytes).toBeGreaterThan(0);
    expect(s.freeBytes).toBeGreaterThan(0);
    expect(s.freeBytes).toBeLessThanOrEqual(s.totalBytes);
    await offlineOf(freeSpace(path.join(dir, 'nope')));
  });
});
