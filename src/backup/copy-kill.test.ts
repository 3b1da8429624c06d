/**
 * Crash recovery: a copy killed with SIGKILL mid-way leaves only a partial temp beside the destination
 * (never a partial destination), and the next attempt removes it and completes by itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/spawn.ts';
import { exists } from '../storage/fsutil.ts';
import { copyVerified } from './copy.ts';
import { hashFile } from './hash.ts';
import { findLeftovers } from './temp.ts';
import { makeTmp, writeDataFile } from './testing.ts';
import { verifyCopy } from './verify.ts';

const SIZE = 200 * 1024 * 1024;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const copyModule = pathToFileURL(fileURLToPath(new URL('./copy.ts', import.meta.url))).href;

// The child reports its first progress, then blocks its main thread so that the kill lands mid-copy.
const childScript = `
import { copyVerified } from ${JSON.stringify(copyModule)};
let told = false;
await copyVerified({
  source: { kind: 'file', path: process.argv[2] },
  dest: process.argv[3],
  onProgress: (done, total) => {
    if (told) return;
    told = true;
    process.stdout.write('progress ' + done + ' ' + total + '\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  },
});
process.stdout.write('finished\\n');
`;

let tmp: Awaited<ReturnType<typeof makeTmp>>;
let child: ChildProcess | undefined;
beforeAll(async () => {
  tmp = await makeTmp();
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await tmp.cleanup();
});

describe('copyVerified after kill -9', () => {
  it('leaves no destination, and the next attempt cleans up and completes', async () => {
    const src = join(tmp.dir, 'big.raw');
    const dest = join(tmp.dir, 'backup', 'big.raw');
    const script = join(tmp.dir, 'child.mjs');
    await writeDataFile(src, SIZE);
    await writeFile(script, childScript);

    child = spawn(process.execPath, ['--import', 'tsx', script, src, dest], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errOut = '';
    child.stdout?.on('data', (b) => {
      out += String(b);
    });
    child.stderr?.on('data', (b) => {
      errOut += String(b);
    });
    const exited = new Promise<NodeJS.Signals | null>((res) => child?.on('exit', (_c, sig) => res(sig)));

    await waitFor(
      `the child's first progress (stderr: ${errOut})`,
      async () =>
        out.includes('progress')
          ? true
          : child?.exitCode != null
            ? Promise.reject(new Error(errOut))
            : undefined,
      60_000,
      5,
    );
    const partial = await waitFor(
      'a partial temp with data',
      async () => {
        const [p] = await findLeftovers(dest);
        return p && (await stat(p)).size > 0 ? p : undefined;
      },
      60_000,
      5,
    ); // polled often: the kill must land while the copy is still under way
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(out).not.toContain('finished');

    expect(await exists(dest)).toBe(false);
    expect(await findLeftovers(dest)).toEqual([partial]);
    expect((await stat(partial)).size).toBeLessThan(SIZE);

    const r = await copyVerified({ source: { kind: 'file', path: src }, dest });
    expect(r).toMatchObject({ associated: false, bytes: SIZE });
    expect(await findLeftovers(dest)).toEqual([]);
    expect(await verifyCopy(dest, 'file', r.manifest)).toEqual({ ok: true });
    expect(r.manifest.entries[0]!.hash).toBe((await hashFile(src)).hash);
  });
});
