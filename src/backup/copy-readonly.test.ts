/**
 * Read-only sources (Bruker folders often have them) as an unprivileged user: the copy works, the
 * finished copy can be removed by its owner, and temps holding read-only parts are cleaned up after a
 * failure and after a crash. Root ignores permission bits, so the scenario runs in a child process
 * that obeys them (test/helpers/unprivileged.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnUnprivileged } from '../../test/helpers/unprivileged.ts';
import { makeTmp } from './testing.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const mod = (f: string) => JSON.stringify(pathToFileURL(fileURLToPath(new URL(f, import.meta.url))).href);

const script = `
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyVerified } from ${mod('./copy.ts')};
import { tempNameFor } from ${mod('./temp.ts')};
const base = process.argv[2];
const out = {};
const src = join(base, 'run.d');
await mkdir(join(src, 'ro-dir'), { recursive: true });
await writeFile(join(src, 'ro-dir', 'locked.bin'), 'locked');
await writeFile(join(src, 'analysis.tdf'), 'tdf');
await chmod(join(src, 'ro-dir', 'locked.bin'), 0o444);
await chmod(join(src, 'analysis.tdf'), 0o444);
await chmod(join(src, 'ro-dir'), 0o555);
const dst = join(base, 'backup');
await mkdir(dst);

// 1. abort during the read-back: the temp (with read-only parts) must go away
const ac = new AbortController();
try {
  await copyVerified({ source: { kind: 'folder', path: src }, dest: join(dst, 'run.d'), signal: ac.signal,
    onPhase: (p) => { if (p === 'verify') ac.abort(); } });
  out.abort = 'no error';
} catch (e) { out.abort = e.code; }
out.afterAbort = await readdir(dst);

// 2. a crashed attempt's leftover with a read-only directory is swept by the next attempt
const left = tempNameFor(join(dst, 'run.d'));
await mkdir(join(left, 'ro-dir'), { recursive: true });
await writeFile(join(left, 'ro-dir', 'f'), 'x');
await chmod(join(left, 'ro-dir', 'f'), 0o444);
await chmod(join(left, 'ro-dir'), 0o555);
await chmod(left, 0o555);
const r = await copyVerified({ source: { kind: 'folder', path: src }, dest: join(dst, 'run.d') });
out.copied = r.manifest.entries.map((e) => e.rel);
out.afterCopy = await readdir(dst);

// 3. the finished copy can be removed by its owner
await rm(join(dst, 'run.d'), { recursive: true });
out.afterRemove = await readdir(dst);
console.log(JSON.stringify(out));
`;

let tmp: Awaited<ReturnType<typeof makeTmp>>;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(() => tmp.cleanup());

describe('read-only parts as an unprivileged user', () => {
  it('copies, cleans up temps after an abort and a crash, and leaves a removable copy', async () => {
    const base = join(tmp.dir, 'work');
    const file = join(tmp.dir, 'child.mjs');
    await writeFile(file, script);
    await mkdir(base);
    const res = spawnUnprivileged([process.execPath, '--import', 'tsx', file, base], { cwd: repoRoot });
    expect(res.stderr).toBe('');
    const out = JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(out).toEqual({
      abort: 'backup.aborted',
      afterAbort: [],
      copied: ['analysis.tdf', 'ro-dir/locked.bin'],
      afterCopy: ['run.d'],
      afterRemove: [],
    });
  });
});
