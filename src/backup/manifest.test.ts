import { execFileSync } from 'node:child_process';
import { mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, SluiceError } from '../core/errors.ts';
import { changedBetween, compareEntries } from './compare.ts';
import { listSource, listSourceTree, makeManifest } from './manifest.ts';
import { makeTmp } from './testing.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

describe('listSource', () => {
  it('lists one file by its base name', async () => {
    const p = join(tmp.dir, 'run1.raw');
    await writeFile(p, 'x'.repeat(100));
    const st = await stat(p);
    expect(await listSource({ kind: 'file', path: p })).toEqual([
      { rel: 'run1.raw', size: 100, mtimeMs: st.mtimeMs, hash: '' },
    ]);
  });

  it('lists a folder tree sorted, with sub-directories (also empty ones)', async () => {
    const d = join(tmp.dir, 'run2.d');
    await mkdir(join(d, 'b.m', 'deep'), { recursive: true });
    await mkdir(join(d, 'empty'));
    await writeFile(join(d, 'z.tdf'), 'zz');
    await writeFile(join(d, 'a.tdf_bin'), 'aaa');
    await writeFile(join(d, 'b.m', 'deep', 'm.xml'), 'm');
    const tree = await listSourceTree({ kind: 'folder', path: d });
    expect(tree.files.map((e) => [e.rel, e.size])).toEqual([
      ['a.tdf_bin', 3],
      ['b.m/deep/m.xml', 1],
      ['z.tdf', 2],
    ]);
    expect(tree.dirs).toEqual(['b.m', 'b.m/deep', 'empty']);
  });

  it('lists companions by name and ignores other files in the directory', async () => {
    const d = join(tmp.dir, 'sciex');
    await mkdir(d);
    for (const n of ['x.wiff', 'x.wiff.scan', 'x.wiff2', 'other.wiff']) await writeFile(join(d, n), n);
    const got = await listSource({ kind: 'files', dir: d, names: ['x.wiff', 'x.wiff2', 'x.wiff.scan'] });
    expect(got.map((e) => e.rel)).toEqual(['x.wiff', 'x.wiff.scan', 'x.wiff2']);
  });

  it.each([[['a/b']], [['..']], [['x', 'x']], [[]]])('rejects bad companion names %j', async (names) => {
    const err = await listSource({ kind: 'files', dir: tmp.dir, names }).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe('backup.bad_source');
  });

  it('refuses a symlink inside a folder, naming it', async () => {
    const d = join(tmp.dir, 'linked.d');
    await mkdir(join(d, 'sub'), { recursive: true });
    await writeFile(join(d, 'real'), 'r');
    await symlink(join(d, 'real'), join(d, 'sub', 'link'));
    const err = await listSource({ kind: 'folder', path: d }).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe('backup.symlink');
    expect(err.message).toContain(join(d, 'sub', 'link'));
  });

  it('refuses a symlink as a single-file source and a fifo inside a folder', async () => {
    const l = join(tmp.dir, 'link.raw');
    await symlink(join(tmp.dir, 'run1.raw'), l);
    await expect(listSource({ kind: 'file', path: l })).rejects.toMatchObject({ code: 'backup.symlink' });
    const d = join(tmp.dir, 'fifo.d');
    await mkdir(d);
    execFileSync('mkfifo', [join(d, 'pipe')]);
    const err = await listSource({ kind: 'folder', path: d }).catch((e) => e);
    expect(err.code).toBe('backup.bad_source');
    expect(err.message).toContain('a fifo');
  });

  it('reports a missing source as retryable backup.source_missing naming the path', async () => {
    const p = join(tmp.dir, 'gone.raw');
    const err = await listSource({ kind: 'file', path: p }).catch((e) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect(err).not.toBeInstanceOf(PermanentError);
    expect(err.code).toBe('backup.source_missing');
    expect(err.message).toContain(p);
  });

  it('refuses the wrong shape (a folder given as kind file)', async () => {
    const err = await listSource({ kind: 'file', path: join(tmp.dir, 'run2.d') }).catch((e) => e);
    expect(err.code).toBe('backup.bad_source');
    expect(err.message).toContain('a directory');
  });
});

describe('compareEntries / changedBetween', () => {
  const e = (rel: string, size: number, hash = '', mtimeMs = 1) => ({ rel, size, hash, mtimeMs });
  it('names each missing, resized, changed and extra file', () => {
    const expected = [e('a', 1, 'aa'), e('b', 2), e('c', 3, 'cc')];
    const actual = [e('a', 1, 'ab'), e('b', 5), e('d', 4)];
    expect(compareEntries('folder', expected, actual, { root: '/r', algorithm: 'md5' })).toEqual([
      '/r/a: md5 differs (expected aa, found ab)',
      '/r/b: size differs (expected 2 bytes, found 5)',
      '/r/c: missing',
      '/r/d: unexpected extra file',
    ]);
  });
  it('matches the single entry of kind file regardless of its name', () => {
    expect(compareEntries('file', [e('x.raw', 1, 'h')], [e('y.raw', 1, 'H')], { root: '/b/y.raw' })).toEqual(
      [],
    );
  });
  it('sees an mtime change with the same size', () => {
    expect(changedBetween('folder', [e('a', 1, '', 1)], [e('a', 1, '', 2)], '/r')).toEqual([
      '/r/a: modified (mtime changed)',
    ]);
  });
  it('sums totalBytes and sorts entries', () => {
    const m = makeManifest('sha256', [e('b', 2), e('a', 1)]);
    expect(m.totalBytes).toBe(3);
    expect(m.entries.map((x) => x.rel)).toEqual(['a', 'b']);
  });
});
