import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../core/errors.ts';
import { commitDir, commitFile, DestinationExists } from '../storage/rename.ts';
import {
  batchPartialDir,
  batchTempName,
  batchTempPrefix,
  findLeftovers,
  makePartialDir,
  moveAside,
  partialDirFor,
  removeBatchPartialDir,
  removeLeftovers,
  removePartialDir,
  tempNameFor,
} from './temp.ts';
import { makeTmp } from './testing.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

describe('temp names and leftovers', () => {
  it('names temps .<basename>.sluice-partial/<12 hex> beside the destination', () => {
    const t = tempNameFor('/backup/a/x.raw');
    expect(t).toMatch(/^\/backup\/a\/\.x\.raw\.sluice-partial\/[0-9a-f]{12}$/);
    expect(partialDirFor('/backup/a/x.raw')).toBe('/backup/a/.x.raw.sluice-partial');
    expect(tempNameFor('/backup/a/x.raw')).not.toBe(t);
  });

  it('removes only the leftovers of this destination, read-only trees included', async () => {
    const d = join(tmp.dir, 'sweep');
    await mkdir(d);
    const dest = join(d, 'x.d');
    const leftFile = tempNameFor(dest);
    const leftDir = tempNameFor(dest);
    await makePartialDir(dest);
    await makePartialDir(dest); // idempotent
    await writeFile(leftFile, 'partial');
    await mkdir(join(leftDir, 'ro'), { recursive: true });
    await writeFile(join(leftDir, 'ro', 'f'), 'f');
    await chmod(join(leftDir, 'ro', 'f'), 0o444);
    await chmod(join(leftDir, 'ro'), 0o555);
    const keep = [
      `.x.d.sluice-partial-${'a'.repeat(12)}`, // the earlier layout: not ours to remove any more
      '.x.dd.sluice-partial',
      '.y.sluice-partial',
      'x.d',
    ];
    for (const k of keep) await writeFile(join(d, k), 'keep');
    expect((await findLeftovers(dest)).sort()).toEqual([leftFile, leftDir].sort());
    expect((await removeLeftovers(dest)).length).toBe(2);
    expect((await readdir(d)).sort()).toEqual([...keep].sort());
    expect(await removeLeftovers(dest)).toEqual([]);
  });

  it('removes the partial directory only when it is empty', async () => {
    const dest = join(tmp.dir, 'p.raw');
    const temp = tempNameFor(dest);
    await makePartialDir(dest);
    await writeFile(temp, 'other attempt');
    await removePartialDir(dest);
    expect(await findLeftovers(dest)).toEqual([temp]);
    expect(await removeLeftovers(dest)).toEqual([temp]);
    await makePartialDir(dest);
    await removePartialDir(dest);
    await removePartialDir(dest); // already gone: fine
    expect(await readdir(tmp.dir)).not.toContain('.p.raw.sluice-partial');
  });

  it('finds nothing when the directory does not exist yet', async () => {
    expect(await removeLeftovers(join(tmp.dir, 'no', 'such', 'x.raw'))).toEqual([]);
  });
});

describe("a batch's temp folder", () => {
  it('is named by the task, never like a per-file partial folder, and holds temps named by attempt and number', () => {
    const dir = batchPartialDir('/backup/a', '42');
    expect(dir).toBe('/backup/a/.sluice-batch-42.sluice-partial-batch');
    expect(dir.endsWith('.sluice-partial')).toBe(false); // no file's partialDirFor ends otherwise
    const prefix = batchTempPrefix();
    expect(prefix).toMatch(/^[0-9a-f]{12}$/);
    expect(batchTempPrefix()).not.toBe(prefix); // each attempt its own names
    expect(batchTempName(dir, prefix, 26)).toBe(
      `/backup/a/.sluice-batch-42.sluice-partial-batch/${prefix}-26`,
    );
  });

  it("is removed with its temps (read-only ones too), only this task's, never something else there", async () => {
    const d = join(tmp.dir, 'batch-sweep');
    await mkdir(d);
    const mine = batchPartialDir(d, '7');
    await mkdir(mine, { mode: 0o700 });
    const temp = batchTempName(mine, batchTempPrefix(), 0);
    await writeFile(temp, 'partial');
    await chmod(temp, 0o444);
    const other = batchPartialDir(d, '8');
    await mkdir(other);
    await writeFile(join(d, 'x.raw'), 'a backup');
    const notAFolder = batchPartialDir(d, '9');
    await writeFile(notAFolder, 'not a batch folder');

    expect(await removeBatchPartialDir(mine)).toBe(true);
    expect(await removeBatchPartialDir(mine)).toBe(false); // idempotent: nothing there now
    expect(await removeBatchPartialDir(notAFolder)).toBe(false);
    expect((await readdir(d)).sort()).toEqual(
      ['.sluice-batch-8.sluice-partial-batch', '.sluice-batch-9.sluice-partial-batch', 'x.raw'].sort(),
    );
  });
});

describe('commit never overwrites', () => {
  it('commitFile refuses an existing destination and keeps both files', async () => {
    const dest = join(tmp.dir, 'c.raw');
    const temp = tempNameFor(dest);
    await makePartialDir(dest);
    await writeFile(dest, 'old');
    await writeFile(temp, 'new');
    await expect(commitFile(temp, dest)).rejects.toBeInstanceOf(DestinationExists);
    expect(await readFile(dest, 'utf8')).toBe('old');
    expect(await readFile(temp, 'utf8')).toBe('new');
  });

  it('commitFile gives the temp its final name', async () => {
    const dest = join(tmp.dir, 'c2.raw');
    const temp = tempNameFor(dest);
    await makePartialDir(dest);
    await writeFile(temp, 'new');
    await commitFile(temp, dest);
    expect(await readFile(dest, 'utf8')).toBe('new');
    expect(await findLeftovers(dest)).toEqual([]);
  });

  it('commitDir refuses an existing non-empty directory', async () => {
    const dest = join(tmp.dir, 'c.d');
    const temp = tempNameFor(dest);
    await makePartialDir(dest);
    await mkdir(dest);
    await writeFile(join(dest, 'f'), 'old');
    await mkdir(temp);
    await expect(commitDir(temp, dest)).rejects.toBeInstanceOf(DestinationExists);
    expect(await readFile(join(dest, 'f'), 'utf8')).toBe('old');
  });
});

describe('moveAside', () => {
  it('renames a file to <dest>.replaced-<timestamp> and never reuses a name', async () => {
    const dest = join(tmp.dir, 'm.raw');
    const now = new Date('2025-01-31T12:00:00.000Z');
    await writeFile(dest, 'one');
    const first = await moveAside(dest, now);
    expect(basename(first)).toBe('m.raw.replaced-2025-01-31T12-00-00.000Z');
    await writeFile(dest, 'two');
    const second = await moveAside(dest, now);
    expect(second).toBe(`${first}-2`);
    expect(await readFile(first, 'utf8')).toBe('one');
    expect(await readFile(second, 'utf8')).toBe('two');
    expect(await readdir(tmp.dir)).not.toContain('m.raw');
  });

  it('moves a directory aside', async () => {
    const dest = join(tmp.dir, 'm.d');
    await mkdir(dest);
    await writeFile(join(dest, 'f'), 'x');
    const moved = await moveAside(dest);
    expect(await readFile(join(moved, 'f'), 'utf8')).toBe('x');
  });

  it('fails clearly when there is nothing to move', async () => {
    const err = await moveAside(join(tmp.dir, 'absent.raw')).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe('backup.move_aside_missing');
    expect(err.message).toContain('absent.raw');
  });
});
