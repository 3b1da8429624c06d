import { createHash } from 'node:crypto';
import { cp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSource, type Manifest, makeManifest } from './manifest.ts';
import { makeTmp } from './testing.ts';
import { verifyCopy } from './verify.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const files: Record<string, string> = { 'a.tdf': 'alpha', 'sub/b.bin': 'bravo!', 'sub/deep/c': '' };
let folder: string;
let manifest: Manifest;

beforeAll(async () => {
  tmp = await makeTmp();
  folder = join(tmp.dir, 'orig.d');
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(join(folder, rel, '..'), { recursive: true });
    await writeFile(join(folder, rel), body);
  }
  const listed = await listSource({ kind: 'folder', path: folder });
  manifest = makeManifest(
    'sha256',
    listed.map((e) => ({ ...e, hash: sha(files[e.rel]!) })),
  );
});
afterAll(() => tmp.cleanup());

async function copyOf(name: string): Promise<string> {
  const p = join(tmp.dir, name);
  await cp(folder, p, { recursive: true });
  return p;
}

describe('verifyCopy', () => {
  it('accepts an identical folder', async () => {
    expect(await verifyCopy(await copyOf('ok.d'), 'folder', manifest)).toEqual({ ok: true });
  });

  it('names a missing file, a changed size, a changed hash and an extra file', async () => {
    const p = await copyOf('bad.d');
    await rm(join(p, 'a.tdf'));
    await writeFile(join(p, 'sub', 'b.bin'), 'bravo');
    await writeFile(join(p, 'extra.txt'), 'x');
    const r = await verifyCopy(p, 'folder', manifest);
    expect(r).toEqual({
      ok: false,
      problems: [
        `${p}/a.tdf: missing`,
        `${p}/sub/b.bin: size differs (expected 6 bytes, found 5)`,
        `${p}/extra.txt: unexpected extra file`,
      ],
    });
    const q = await copyOf('flip.d');
    await writeFile(join(q, 'sub', 'b.bin'), 'bravo?');
    expect(await verifyCopy(q, 'folder', manifest)).toEqual({
      ok: false,
      problems: [`${q}/sub/b.bin: sha256 differs (expected ${sha('bravo!')}, found ${sha('bravo?')})`],
    });
  });

  it('checks only sizes with hashes: false', async () => {
    const q = join(tmp.dir, 'flip.d');
    expect(await verifyCopy(q, 'folder', manifest, { hashes: false })).toEqual({ ok: true });
  });

  it('reports a missing root and a symlink in place of a file', async () => {
    const gone = join(tmp.dir, 'nothing.d');
    expect(await verifyCopy(gone, 'folder', manifest)).toEqual({ ok: false, problems: [`${gone}: missing`] });
    const p = await copyOf('link.d');
    await rm(join(p, 'a.tdf'));
    await symlink(join(folder, 'a.tdf'), join(p, 'a.tdf'));
    expect(await verifyCopy(p, 'folder', manifest)).toEqual({
      ok: false,
      problems: [`${p}/a.tdf: is a symbolic link, not a regular file`],
    });
  });

  it('verifies a single file under another name, and refuses an entry without a hash', async () => {
    const p = join(tmp.dir, 'renamed.raw');
    await writeFile(p, 'alpha');
    const m = makeManifest('sha256', [{ rel: 'a.tdf', size: 5, mtimeMs: 0, hash: sha('alpha') }]);
    expect(await verifyCopy(p, 'file', m)).toEqual({ ok: true });
    const noHash = makeManifest('sha256', [{ rel: 'a.tdf', size: 5, mtimeMs: 0, hash: '' }]);
    expect(await verifyCopy(p, 'file', noHash)).toEqual({
      ok: false,
      problems: [`${p}: no recorded sha256 to compare with`],
    });
    expect(await verifyCopy(folder, 'file', m)).toEqual({
      ok: false,
      problems: [`${folder}: is a directory, expected a regular file`],
    });
  });

  it('checks only the recorded companions of kind files', async () => {
    const d = join(tmp.dir, 'sciex');
    await mkdir(d);
    await writeFile(join(d, 'x.wiff'), 'main');
    await writeFile(join(d, 'x.wiff.scan'), 'scan');
    await writeFile(join(d, 'y.wiff'), 'another acquisition');
    const m = makeManifest('sha256', [
      { rel: 'x.wiff', size: 4, mtimeMs: 0, hash: sha('main') },
      { rel: 'x.wiff.scan', size: 4, mtimeMs: 0, hash: sha('scan') },
    ]);
    expect(await verifyCopy(d, 'files', m)).toEqual({ ok: true });
    await rename(join(d, 'x.wiff.scan'), join(d, 'x.wiff.scan.bak'));
    expect(await verifyCopy(d, 'files', m)).toEqual({ ok: false, problems: [`${d}/x.wiff.scan: missing`] });
  });
});
