/** The scan's filesystem threads (fs-thread.ts): lstat and tree answers, and the idle pool. */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireThread, idleThreads, releaseThread, STAT_FILE, STAT_FOLDER, STAT_GONE } from './fs-thread.ts';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sluice-fsw-'));
  await fsp.writeFile(path.join(dir, 'a.raw'), 'abc');
  await fsp.mkdir(path.join(dir, 'b.d'));
  await fsp.writeFile(path.join(dir, 'b.d', 'ANALYSIS.TDF_BIN'), '12345');
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('FsThread', () => {
  it('lstat reports size, mtime and kind per name, and gone entries', async () => {
    const w = acquireThread();
    const r = await w.lstat(dir, ['a.raw', 'b.d', 'missing']);
    releaseThread(w);
    if ('error' in r) throw new Error(r.error.message);
    expect([r.out[0], r.out[2], r.out[5], r.out[8]]).toEqual([3, STAT_FILE, STAT_FOLDER, STAT_GONE]);
    expect(r.out[1]).toBeCloseTo((await fsp.stat(path.join(dir, 'a.raw'))).mtimeMs, 3);
    expect(r.errors).toEqual([]);
  });

  it('tree sums a folder and finds the main file ignoring case', async () => {
    const w = acquireThread();
    expect(await w.tree(path.join(dir, 'b.d'), 'analysis.tdf_bin')).toMatchObject({
      size: 5,
      hasMain: true,
      files: 1,
    });
    expect(await w.tree(path.join(dir, 'nope.d'), 'analysis.tdf_bin')).toMatchObject({ gone: true });
    releaseThread(w);
  });

  it('reuses idle workers, keeps at most four, and never reuses an abandoned one', async () => {
    const a = acquireThread();
    releaseThread(a);
    const b = acquireThread();
    expect(b).toBe(a);
    const more = [b, acquireThread(), acquireThread(), acquireThread(), acquireThread(), acquireThread()];
    for (const w of more) releaseThread(w);
    expect(idleThreads()).toBe(4);
    const c = acquireThread();
    releaseThread(c, true);
    const d = acquireThread();
    expect(d).not.toBe(c);
    releaseThread(d);
    await expect(c.lstat(dir, ['a.raw'])).rejects.toThrow(/worker exited/);
  });
});
