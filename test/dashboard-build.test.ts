/**
 * A fresh checkout: `sluice start` builds the web dashboard itself (src/runtime/dashboard-build.ts)
 * and serves `/`. The checkout is a temporary copy of this one without web/dist (node_modules
 * linked), so the real web/dist that other tests use is never touched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../src/core/db/embedded.ts';
import { createTestDb } from './helpers/db.ts';
import { waitExit, waitFor } from './helpers/spawn.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let checkout: string;
let drop: () => Promise<void>;
let url: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  checkout = await mkdtemp(path.join(os.tmpdir(), 'sluice-fresh-'));
  for (const p of ['bin', 'src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json'])
    await cp(path.join(repo, p), path.join(checkout, p), { recursive: true });
  await cp(path.join(repo, 'web'), path.join(checkout, 'web'), {
    recursive: true,
    filter: (src) => !/[/\\](dist|\.dist-[^/\\]*|\.build-lock)$/.test(src),
  });
  await symlink(path.join(repo, 'node_modules'), path.join(checkout, 'node_modules'), 'dir');
  const t = await createTestDb();
  drop = t.drop;
  url = t.url;
});
afterAll(async () => {
  if (child) {
    child.kill('SIGKILL');
    await waitExit(child);
  }
  await drop();
  await rm(checkout, { recursive: true, force: true });
});

it('`sluice start` on a checkout without web/dist builds the dashboard and serves / as HTML', async () => {
  expect(existsSync(path.join(checkout, 'web', 'dist'))).toBe(false);
  const work = await mkdtemp(path.join(os.tmpdir(), 'sluice-fresh-work-'));
  await chmod(work, 0o755);
  await mkdir(path.join(work, 'astral1'));
  const port = await freePort();
  await writeFile(
    path.join(work, 'sluice.yaml'),
    `data_dir: ./data
server: { host: 127.0.0.1, port: ${port} }
instruments:
  astral1: { type: thermo, watch: ./astral1 }
backup: { path: ./backup }
`,
  );
  const env = { ...process.env, DATABASE_URL: url, SLUICE_CONFIG: path.join(work, 'sluice.yaml') };
  const migrate = spawn(process.execPath, [path.join(checkout, 'bin/sluice.js'), 'db', 'migrate'], { env });
  expect(await waitExit(migrate)).toBe(0);
  child = spawn(process.execPath, [path.join(checkout, 'bin/sluice.js'), 'start', '--role', 'web'], {
    cwd: work,
    env: { ...env, SLUICE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const page = await waitFor(
    '/ to serve the built dashboard',
    async () => {
      if (child?.exitCode !== null) throw new Error(`sluice start exited:\n${out}`);
      const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } }).catch(
        () => undefined,
      );
      return r?.status === 200 ? { type: r.headers.get('content-type'), body: await r.text() } : undefined;
    },
    540_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${out}`);
  });
  expect(page.type).toMatch(/^text\/html/);
  expect(page.body).toContain('<div id="root">');
  expect(page.body).toMatch(/<script type="module"[^>]*src="\/assets\//); // the built bundle, not the sources
  expect(existsSync(path.join(checkout, 'web', 'dist', 'index.html'))).toBe(true);
  // The build script swaps web/dist in before it exits; the log line follows its exit, so `/` can
  // serve the new build a moment before the line is written.
  await waitFor(
    'the log to say the dashboard was built',
    () => out.includes('built the web dashboard'),
    60_000,
    100,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${out}`);
  });
  child.kill('SIGTERM');
  expect(await waitExit(child)).toBe(0);
  child = undefined;
  await rm(work, { recursive: true, force: true });
}, 600_000); // the waits end on conditions; this only stops a hung run
