/**
 * Names are bytes (core/names.ts): copies, verification, temps and scans of raw data whose names are
 * not UTF-8 or are 255 bytes long. Files with byte names are made through Buffer paths.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectsWithCode } from '../../test/helpers/errors.ts';
import { spawnUnprivileged } from '../../test/helpers/unprivileged.ts';
import { nameBytes, nameToText, textToName } from '../core/names.ts';
import { collisionId } from '../intake/file-id.ts';
import { scanFolder } from '../intake/scan.ts';
import { copyVerified } from './copy.ts';
import { moveAside, partialDirFor } from './temp.ts';
import { makeTmp } from './testing.ts';
import { verifyCopy } from './verify.ts';

let tmp: Awaited<ReturnType<typeof makeTmp>>;
let n = 0;
beforeAll(async () => {
  tmp = await makeTmp('sluice-names-');
});
afterAll(async () => {
  await tmp.cleanup();
});

/** A fresh directory (text path) for one test. */
function fresh(): string {
  const d = join(tmp.dir, `t${n++}`);
  mkdirSync(d);
  return d;
}

/** `text` path (core/names.ts) as the bytes the file system sees. */
const b = textToName;

/** A Bruker-like folder with Latin-1 names (text `\xfc`), at the top and in a subfolder. */
function latin1Run(root: string): void {
  mkdirSync(b(join(root, 'sub')), { recursive: true });
  writeFileSync(b(join(root, 'analysis.tdf_bin')), Buffer.alloc(5_000, 1));
  writeFileSync(b(join(root, 'Probe_M\\xfcller.tdf')), Buffer.alloc(100_000, 2));
  writeFileSync(b(join(root, 'sub', 'r\\xe9sultat.bin')), Buffer.alloc(5_000, 3));
}

describe('byte names in copies', () => {
  it('copies and verifies every member of a folder with Latin-1 names, under the same bytes', async () => {
    const d = fresh();
    const src = join(d, 'run.d');
    const dest = join(d, 'backup', 'run.d');
    latin1Run(src);
    const r = await copyVerified({ source: { kind: 'folder', path: src }, dest });
    expect(r.manifest.entries.map((e) => e.rel)).toEqual([
      'Probe_M\\xfcller.tdf',
      'analysis.tdf_bin',
      'sub/r\\xe9sultat.bin',
    ]);
    expect(r.manifest.totalBytes).toBe(110_000);
    expect(
      readdirSync(b(dest), { encoding: 'buffer' })
        .map((x) => x.toString('latin1'))
        .sort(),
    ).toEqual(['Probe_M\xfcller.tdf', 'analysis.tdf_bin', 'sub']);
    expect(readFileSync(b(join(dest, 'sub', 'r\\xe9sultat.bin')))).toEqual(Buffer.alloc(5_000, 3));
    expect(await verifyCopy(dest, 'folder', r.manifest)).toEqual({ ok: true });
  });

  it('fails verification when the copy lacks a member or has one more', async () => {
    const d = fresh();
    const src = join(d, 'run.d');
    latin1Run(src);
    const r = await copyVerified({ source: { kind: 'folder', path: src }, dest: join(d, 'copy.d') });
    writeFileSync(b(join(d, 'copy.d', 'sub', 'x\\xff.bin')), '');
    const extra = await verifyCopy(join(d, 'copy.d'), 'folder', r.manifest, { hashes: false });
    expect(extra).toEqual({
      ok: false,
      problems: [`${join(d, 'copy.d', 'sub', 'x\\xff.bin')}: unexpected extra file`],
    });
    // the instrument copy lacks one (the source side is verified the same way)
    const { rmSync } = await import('node:fs');
    rmSync(b(join(src, 'Probe_M\\xfcller.tdf')));
    const missing = await verifyCopy(src, 'folder', r.manifest);
    expect(missing).toEqual({ ok: false, problems: [`${join(src, 'Probe_M\\xfcller.tdf')}: missing`] });
  });

  it('fails verification when a member cannot be listed (never skips it)', async () => {
    const d = fresh();
    const src = join(d, 'run.d');
    latin1Run(src);
    const r = await copyVerified({ source: { kind: 'folder', path: src }, dest: join(d, 'copy.d') });
    chmodSync(b(join(d, 'copy.d', 'sub')), 0o000); // root ignores this: the check runs unprivileged
    const mod = pathToFileURL(fileURLToPath(new URL('./verify.ts', import.meta.url))).href;
    const script = join(d, 'verify.mjs');
    writeFileSync(
      script,
      `import { verifyCopy } from ${JSON.stringify(mod)};\n` +
        `const m = JSON.parse(process.argv[3]);\n` +
        `console.log(JSON.stringify(await verifyCopy(process.argv[2], 'folder', m, { hashes: false })));\n`,
    );
    const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
    const res = spawnUnprivileged(
      [process.execPath, '--import', 'tsx', script, join(d, 'copy.d'), JSON.stringify(r.manifest)],
      { cwd: repoRoot },
    );
    chmodSync(b(join(d, 'copy.d', 'sub')), 0o755);
    expect(res.stderr).toBe('');
    expect(JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({
      ok: false,
      problems: [`${join(d, 'copy.d', 'sub')}: cannot list (EACCES)`],
    });
  });

  it('refuses a copy whose temp holds a member the source does not have', async () => {
    const d = fresh();
    const src = join(d, 'run.d');
    latin1Run(src);
    const dest = join(d, 'backup', 'run.d');
    const err = await rejectsWithCode(
      copyVerified({
        source: { kind: 'folder', path: src },
        dest,
        onPhase: (phase, { temp }) => {
          if (phase === 'verify') writeFileSync(b(join(temp, 'stray-\\xe9.bin')), 'x');
        },
      }),
      'backup.verify_failed',
    );
    expect(err.message).toMatch(/stray-\\xe9\.bin: unexpected extra file/);
    expect(readdirSync(join(d, 'backup'))).toEqual([]); // nothing committed, the temp removed
  });

  it('copies a file whose name is 255 bytes, and moves it aside, within the name limit', async () => {
    const d = fresh();
    const name = `${'a'.repeat(251)}.raw`;
    writeFileSync(join(d, name), 'data');
    const dest = join(d, 'backup', name);
    expect(nameBytes(partialDirFor(dest).split('/').pop()!)).toBeLessThanOrEqual(255);
    await copyVerified({ source: { kind: 'file', path: join(d, name) }, dest });
    expect(readFileSync(dest, 'utf8')).toBe('data');
    const aside = await moveAside(dest);
    expect(nameBytes(aside.split('/').pop()!)).toBeLessThanOrEqual(255);
    expect(readFileSync(aside, 'utf8')).toBe('data');
    // a collision id of such a name fits too, and stays the same for the same name and time
    const at = new Date('2026-12-06T10:00:00Z');
    const id = collisionId(`${'\\xfc'.repeat(251)}.raw`, at);
    expect(nameBytes(id)).toBe(255);
    expect(id).toBe(collisionId(`${'\\xfc'.repeat(251)}.raw`, at));
    expect(id).toMatch(/^20261206-100000-(\\xfc)+~[0-9a-f]{16}\.raw$/);
  });

  it('says so when a layout makes a name longer than the target allows (no endless retries)', async () => {
    const d = fresh();
    writeFileSync(join(d, 'x.raw'), 'data');
    const dest = join(d, 'backup', 'b'.repeat(300));
    const err = await rejectsWithCode(
      copyVerified({ source: { kind: 'file', path: join(d, 'x.raw') }, dest }),
      'backup.name_too_long',
    );
    expect(err.hint).toMatch(/backup\.layout/);
  });
});

describe('byte names in scans', () => {
  it('finds raw files and folders named with Latin-1 bytes, and counts every member of a folder', async () => {
    const thermo = fresh();
    writeFileSync(b(join(thermo, 'M\\xfcller.raw')), 'abc');
    writeFileSync(b(join(thermo, 'ok.raw')), 'abcd');
    writeFileSync(join(thermo, 'C:\\run.raw'), 'a'); // a backslash: shown as it is
    writeFileSync(join(thermo, 'lit\\xfc.raw'), 'ab'); // looks like an escape: its backslash escaped
    writeFileSync(join(thermo, 'new\nline.raw'), 'abcde'); // a control character
    const t = await scanFolder(thermo, 'thermo');
    expect(t.candidates.map((c) => [c.name, c.path, c.size]).sort()).toEqual([
      ['C:\\run.raw', join(thermo, 'C:\\run.raw'), 1],
      ['M\\xfcller.raw', join(thermo, 'M\\xfcller.raw'), 3],
      ['lit\\x5cxfc.raw', join(thermo, 'lit\\x5cxfc.raw'), 2],
      ['new\\x0aline.raw', join(thermo, 'new\\x0aline.raw'), 5],
      ['ok.raw', join(thermo, 'ok.raw'), 4],
    ]);
    const bruker = fresh();
    latin1Run(join(bruker, 'Pr\\xfcfung.d'));
    const r = await scanFolder(bruker, 'bruker');
    expect(r.errors).toEqual([]);
    expect(r.candidates).toMatchObject([
      { name: 'Pr\\xfcfung.d', kind: 'folder', size: 110_000, mainFilePresent: true },
    ]);
    expect(nameToText(Buffer.from('Pr\xfcfung.d', 'latin1'))).toBe(r.candidates[0]!.name);
  });
});
