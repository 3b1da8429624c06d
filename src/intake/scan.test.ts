import { promises as fsp, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectsWithCode } from '../../test/helpers/errors.ts';
import { spawnUnprivileged } from '../../test/helpers/unprivileged.ts';
import { type Candidate, candidateMembers, type ScanResult, scanFolder } from './scan.ts';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sluice-scan-'));
});
afterEach(async () => {
  await fsp.chmod(dir, 0o755).catch(() => {});
  await fsp.rm(dir, { recursive: true, force: true });
});

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const T0 = new Date('2025-01-10T10:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

async function write(rel: string, bytes: number, mtime?: Date): Promise<void> {
  const p = path.join(dir, rel);
  await fsp.mkdir(path.dirname(p), { recursive: true });
  await fsp.writeFile(p, Buffer.alloc(bytes, 1));
  if (mtime) await fsp.utimes(p, mtime, mtime);
}

function byName(r: ScanResult): Record<string, Candidate> {
  return Object.fromEntries(r.candidates.map((c) => [c.name, c]));
}

const offlineOf = (p: Promise<unknown>) => rejectsWithCode(p, 'intake.offline');

describe('scanFolder', () => {
  it('thermo: one candidate per .raw file with size and mtime; skips hidden and Backup', async () => {
    await write('a.raw', 100, at(0));
    await write('B.RAW', 0, at(1));
    await write('c_CORRUPTED.raw', 7, at(2));
    await write('notes.txt', 5);
    await write('.hidden.raw', 5);
    await write('Backup/old.raw', 5);
    await fsp.mkdir(path.join(dir, 'folder.raw'));
    await fsp.symlink(path.join(dir, 'a.raw'), path.join(dir, 'link.raw'));

    const r = await scanFolder(dir, 'thermo');
    expect(r.errors).toEqual([]);
    expect(r.ignored).toBe(3); // notes.txt, folder.raw, link.raw (symlinks are not followed)
    const c = byName(r);
    expect(Object.keys(c).sort()).toEqual(['B.RAW', 'a.raw', 'c_CORRUPTED.raw']);
    expect(c['a.raw']).toEqual({
      name: 'a.raw',
      kind: 'file',
      path: path.join(dir, 'a.raw'),
      companions: [],
      size: 100,
      mtimeMs: at(0).getTime(),
      mainFilePresent: true,
      corrupted: false,
    });
    expect(c['B.RAW']?.size).toBe(0);
    expect(c['c_CORRUPTED.raw']?.corrupted).toBe(true);
  });

  it('bruker: folder totals, newest mtime in nested and read-only subfolders, main file presence', async () => {
    await write('s1.d/analysis.tdf', 10, at(0));
    await write('s1.d/analysis.tdf_bin', 1000, at(5));
    await write('s1.d/sub/deeper/chunk.bin', 50, at(9));
    await fsp.utimes(path.join(dir, 's1.d/sub/deeper'), at(1), at(1));
    await fsp.utimes(path.join(dir, 's1.d/sub'), at(1), at(1));
    await fsp.utimes(path.join(dir, 's1.d'), at(1), at(1));
    await fsp.chmod(path.join(dir, 's1.d/sub'), 0o555);
    await write('s2.d/analysis.tdf', 20, at(3));
    await fsp.utimes(path.join(dir, 's2.d'), at(2), at(2));
    await write('s3.d/sub/analysis.tdf_bin', 5, at(3)); // main file must be at the top
    await write('loose.tdf_bin', 5);

    const r = await scanFolder(dir, 'bruker');
    await fsp.chmod(path.join(dir, 's1.d/sub'), 0o755);
    expect(r.errors).toEqual([]);
    expect(r.ignored).toBe(1);
    const c = byName(r);
    expect(c['s1.d']).toMatchObject({
      kind: 'folder',
      size: 1060,
      mtimeMs: at(9).getTime(),
      mainFilePresent: true,
    });
    // every file with its relative path, size and mtime: the acquired fingerprint's members
    expect(candidateMembers(c['s1.d']!).sort((a, b) => (a.rel < b.rel ? -1 : 1))).toEqual([
      { rel: 'analysis.tdf', size: 10, mtimeMs: at(0).getTime() },
      { rel: 'analysis.tdf_bin', size: 1000, mtimeMs: at(5).getTime() },
      { rel: 'sub/deeper/chunk.bin', size: 50, mtimeMs: at(9).getTime() },
    ]);
    expect(c['s2.d']).toMatchObject({ size: 20, mtimeMs: at(3).getTime(), mainFilePresent: false });
    expect(c['s3.d']?.mainFilePresent).toBe(false);
  });

  it('sciex: main plus companions, summed; orphans ignored', async () => {
    await write('s1.wiff', 100, at(0));
    await write('s1.wiff.scan', 1000, at(4));
    await write('s1.wiff2', 10, at(1));
    await write('orphan.wiff.scan', 3);
    const r = await scanFolder(dir, 'sciex');
    expect(r.ignored).toBe(1);
    expect(r.candidates).toEqual([
      {
        name: 's1.wiff',
        kind: 'files',
        path: path.join(dir, 's1.wiff'),
        companions: ['s1.wiff.scan', 's1.wiff2'],
        size: 1110,
        mtimeMs: at(4).getTime(),
        mainFilePresent: true,
        corrupted: false,
        members: [
          { rel: 's1.wiff', size: 100, mtimeMs: at(0).getTime() },
          { rel: 's1.wiff.scan', size: 1000, mtimeMs: at(4).getTime() },
          { rel: 's1.wiff2', size: 10, mtimeMs: at(1).getTime() },
        ],
      },
    ]);
  });

  it('generic: files or folders by glob', async () => {
    await write('img_1.tif', 4);
    await write('img_2.TIF', 6);
    await write('grid_a/x.mrc', 30);
    await write('grid_a/y.mrc', 12);
    const files = await scanFolder(dir, 'generic', { generic: { glob: 'img_*.tif', kind: 'file' } });
    expect(files.candidates.map((c) => [c.name, c.size]).sort()).toEqual([
      ['img_1.tif', 4],
      ['img_2.TIF', 6],
    ]);
    expect(files.ignored).toBe(1);
    const folders = await scanFolder(dir, 'generic', { generic: { glob: 'grid_*', kind: 'folder' } });
    expect(folders.candidates.map((c) => [c.name, c.kind, c.size, c.mainFilePresent])).toEqual([
      ['grid_a', 'folder', 42, true],
    ]);
    await expect(scanFolder(dir, 'generic')).rejects.toThrow(/needs a layout/);
  });

  it('an empty folder gives no candidates', async () => {
    expect(await scanFolder(dir, 'thermo')).toEqual({ candidates: [], ignored: 0, errors: [] });
  });

  it('splits many entries over two workers while listing, and keeps every size with its name', async () => {
    // several listing parts and stat chunks; other entries in between shift the raw files' positions
    const n = 12_000;
    for (let i = 0; i < n; i++) {
      writeFileSync(path.join(dir, `run_${String(i).padStart(5, '0')}.raw`), 'x'.repeat(i % 97));
      if (i % 10 === 0) writeFileSync(path.join(dir, `notes_${i}.txt`), '');
    }
    // the first scan starts with one worker and adds the second during the listing; the next one
    // knows the folder is large and starts with both
    for (let scan = 0; scan < 2; scan++) {
      const r = await scanFolder(dir, 'thermo', { workers: 2 });
      expect(r.candidates).toHaveLength(n);
      expect(r.ignored).toBe(n / 10);
      expect(new Set(r.candidates.map((c) => c.name)).size).toBe(n);
      for (const c of r.candidates) expect(c.size).toBe(Number(c.name.slice(4, 9)) % 97);
    }
  });

  it('finds names holding a newline or a tab, in text form, each with its own size', async () => {
    // lists of names cross the thread boundary joined by newlines: a newline in a name must not split it
    await write('a\nb.raw', 3);
    await write('c\td.raw', 5);
    await write('e.raw', 7);
    const r = await scanFolder(dir, 'thermo');
    expect(r.errors).toEqual([]);
    const sizes = Object.fromEntries(r.candidates.map((c) => [c.name, c.size]));
    expect(sizes).toEqual({ 'a\\x0ab.raw': 3, 'c\\x09d.raw': 5, 'e.raw': 7 });
    expect(byName(r)['a\\x0ab.raw']?.path).toBe(path.join(dir, 'a\\x0ab.raw'));
  });

  it('missing, not-a-folder and unreadable watch folders raise intake.offline naming the path', async () => {
    const missing = path.join(dir, 'nope');
    const e1 = await offlineOf(scanFolder(missing, 'thermo'));
    expect(e1.message).toBe(`watch folder ${missing} does not exist (is the share mounted?)`);
    expect(e1.hint).toMatch(/mount/);

    await write('file.txt', 1);
    const e2 = await offlineOf(scanFolder(path.join(dir, 'file.txt'), 'thermo'));
    expect(e2.message).toMatch(/file\.txt is not a folder/);
  });

  it('permission denied on the watch folder is intake.offline; on one .d folder, an entry error', async () => {
    // root ignores permission bits: the scans run in a child process that obeys them
    const script = path.join(dir, '..', `${path.basename(dir)}-scan.mjs`);
    await fsp.writeFile(
      script,
      `const { scanFolder } = await import(${JSON.stringify(pathToFileURL(path.join(here, 'scan.ts')).href)});
try {
  const r = await scanFolder(process.argv[2], process.argv[3]);
  console.log(JSON.stringify({ names: r.candidates.map((c) => c.name), errors: r.errors }));
} catch (e) {
  console.log(JSON.stringify({ code: e.code, message: e.message }));
}\n`,
    );
    const scanAs = (type: string) => {
      const r = spawnUnprivileged([process.execPath, '--import', 'tsx', script, dir, type], {
        cwd: repoRoot,
      });
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as {
        names?: string[];
        errors?: unknown[];
        code?: string;
        message?: string;
      };
    };
    try {
      await write('s1.d/analysis.tdf_bin', 1);
      await write('s2.d/analysis.tdf_bin', 1);
      await fsp.chmod(path.join(dir, 's2.d'), 0o000);
      const r = scanAs('bruker');
      await fsp.chmod(path.join(dir, 's2.d'), 0o755);
      expect(r.names).toEqual(['s1.d']);
      expect(r.errors).toEqual([
        { path: path.join(dir, 's2.d'), message: expect.stringMatching(/permission denied/) },
      ]);

      await fsp.chmod(dir, 0o000);
      const e = scanAs('thermo');
      expect(e.code).toBe('intake.offline');
      expect(e.message).toMatch(/not readable by this process \(permission denied\)/);
    } finally {
      await fsp.chmod(dir, 0o755);
      await fsp.rm(script, { force: true });
    }
  });

  it('times out with intake.offline, and refuses a new scan of that folder while the old one is stuck', async () => {
    // Stat'ing 3,000 entries in a freshly started worker takes milliseconds; a 0 ms deadline fires first.
    for (let i = 0; i < 3000; i++) writeFileSync(path.join(dir, `f${i}.raw`), '');
    const e = await offlineOf(scanFolder(dir, 'thermo', { timeoutMs: 0 }));
    expect(e.message).toMatch(/did not answer in time \(no answer within 0 s\)/);
    const again = await offlineOf(scanFolder(dir, 'thermo'));
    expect(again.message).toMatch(/the previous scan is still waiting for it/);
    // Once the stuck call returns, scanning works again.
    let r: ScanResult | undefined;
    for (let i = 0; i < 100 && !r; i++) {
      r = await scanFolder(dir, 'thermo').catch(async () => {
        await new Promise((ok) => setTimeout(ok, 50));
        return undefined;
      });
    }
    expect(r?.candidates).toHaveLength(3000);
  });
});
