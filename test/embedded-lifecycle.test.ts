/**
 * Who stops the embedded PostgreSQL (src/core/db/embedded.ts, "Ownership rule"): real `sluice`
 * processes on their own data dir, no DATABASE_URL. No server may stay behind that no process uses,
 * and a CLI command must not stop the server `sluice start` runs on.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { silentLogger } from '../src/core/log.ts';
import { SLUICE_BIN, sluice } from './helpers/cli.ts';
import { spawnTs, waitExit, waitFor } from './helpers/spawn.ts';

let dir: string;
let dataDir: string;
let pgDir: string;
let env: Record<string, string>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-lifecycle-'));
  await chmod(dir, 0o755); // as root the server runs as `postgres`, which must reach the data dir
  await mkdir(path.join(dir, 'astral1'));
  dataDir = path.join(dir, 'data');
  pgDir = path.join(dataDir, 'postgres');
  await writeFile(
    path.join(dir, 'sluice.yaml'),
    `data_dir: ./data
database: { embedded_port: ${await freePort()} }
instruments:
  astral1: { type: thermo, watch: ./astral1, scan_interval_seconds: 1 }
worker: { poll_seconds: 0.5 }
backup: { path: ./backup }
`,
  );
  // no DATABASE_URL: every command uses the embedded server in ./data
  env = { DATABASE_URL: '', SLUICE_CONFIG: path.join(dir, 'sluice.yaml') };
  const r = await sluice(['db', 'migrate'], { env });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  for (const c of children) {
    c.kill('SIGKILL');
    await waitExit(c);
  }
  // whatever a failed test left: stop it
  const left = await startEmbedded({ dataDir, port: await freePort(), log: silentLogger }).catch(
    () => undefined,
  );
  await left?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The pid of the running postmaster of the data dir, if one runs. */
async function postmaster(): Promise<number | undefined> {
  const text = await readFile(path.join(pgDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number.parseInt(text?.split('\n')[0] ?? '', 10);
  if (!Number.isFinite(pid)) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** `sluice start` as a person runs it; resolves once it says it runs. */
async function startSluice(
  args: string[] = ['--role', 'worker'],
): Promise<ChildProcess & { out: () => string }> {
  const child = spawn(process.execPath, [SLUICE_BIN, 'start', ...args], {
    cwd: dir,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor('sluice start to run', async () => {
    if (child.exitCode !== null) throw new Error(`sluice start exited ${child.exitCode}:\n${out}`);
    return out.includes('Ctrl-C stops');
  });
  return Object.assign(child, { out: () => out });
}

describe('embedded PostgreSQL ownership', () => {
  it('a CLI command run while Sluice is stopped answers and leaves no server behind', async () => {
    expect(await postmaster()).toBeUndefined();
    for (const args of [['files', 'list'], ['status'], ['files', 'list', '--json']]) {
      const r = await sluice(args, { env });
      expect(r.code, r.stderr).toBe(0);
      expect(await postmaster(), `after ${args.join(' ')}`).toBeUndefined();
    }
    expect(existsSync(path.join(pgDir, 'postmaster.pid'))).toBe(false);
  });

  it('a CLI command run while `sluice start` runs uses its server and leaves it running; Ctrl-C stops it', async () => {
    const start = await startSluice();
    const pid = await postmaster();
    expect(pid).toBeDefined();
    for (const args of [['files', 'list'], ['status']]) {
      const r = await sluice(args, { env });
      expect(r.code, r.stderr).toBe(0);
      expect(await postmaster()).toBe(pid); // the same server, still running
    }
    expect((await sluice(['status'], { env })).stdout).toMatch(/worker/);
    start.kill('SIGINT');
    expect(await waitExit(start), start.out()).toBe(0);
    expect(await postmaster()).toBeUndefined();
  });

  it('`sluice start` that found a server left by a killed process stops it on Ctrl-C', async () => {
    // a Sluice process that started the server and was killed (SIGKILL: no clean-up of its own)
    const orphanMaker = await spawnTs('test/helpers/embedded-user.ts', {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
    });
    children.push(orphanMaker);
    expect(orphanMaker.output()).toContain('started=true');
    orphanMaker.kill('SIGKILL');
    await waitExit(orphanMaker);
    const pid = await postmaster();
    expect(pid).toBeDefined(); // left running, nobody uses it
    const start = await startSluice();
    expect(await postmaster()).toBe(pid); // adopted, not restarted
    start.kill('SIGINT');
    expect(await waitExit(start), start.out()).toBe(0);
    expect(await postmaster()).toBeUndefined();
  });

  it('the last of several users stops the server, whichever started it', async () => {
    const port = String(await freePort());
    const a = await spawnTs('test/helpers/embedded-user.ts', { DATA_DIR: dataDir, PORT: port });
    children.push(a);
    const b = await spawnTs('test/helpers/embedded-user.ts', { DATA_DIR: dataDir, PORT: port });
    children.push(b);
    expect(a.output()).toContain('started=true');
    expect(b.output()).toContain('started=false');
    const pid = await postmaster();
    a.kill('SIGTERM'); // the one that started it leaves first: b still uses it
    await waitExit(a);
    expect(await postmaster()).toBe(pid);
    b.kill('SIGTERM');
    await waitExit(b);
    expect(await postmaster()).toBeUndefined();
  });

  it('processes that start at the same moment share one server', async () => {
    const port = await freePort();
    const servers = await Promise.all(
      [1, 2, 3].map(() => startEmbedded({ dataDir, port, log: silentLogger, settings: { fsync: 'off' } })),
    );
    expect(servers.filter((s) => s.started)).toHaveLength(1);
    expect(new Set(servers.map((s) => s.port)).size).toBe(1);
    for (const s of servers) await s.stop();
    expect(await postmaster()).toBeUndefined();
  });

  it('a killed embedded PostgreSQL is started again by `sluice start`, and work carries on', async () => {
    const webPort = await freePort();
    const start = await startSluice(['--role', 'all', '--port', String(webPort)]);
    const ready = async () =>
      (await fetch(`http://127.0.0.1:${webPort}/readyz`).catch(() => undefined))?.status === 200;
    await waitFor('/readyz 200', ready);
    const pid = await postmaster();
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await waitFor(
      'a new postmaster',
      async () => {
        const now = await postmaster();
        return now !== undefined && now !== pid;
      },
      120_000,
    );
    await waitFor('/readyz 200 again', ready, 120_000);
    // the worker claims again: a new file on the instrument is scanned and recorded
    await writeFile(path.join(dir, 'astral1', 'after-restart.raw'), Buffer.alloc(4096, 1));
    await waitFor(
      'the new file recorded',
      async () => (await sluice(['files', 'list', '--json'], { env })).stdout.includes('after-restart.raw'),
      120_000,
      1000,
    );
    expect(start.out()).toMatch(/embedded PostgreSQL went away/);
    start.kill('SIGINT');
    expect(await waitExit(start), start.out()).toBe(0);
    expect(await postmaster()).toBeUndefined();
  }, 600_000); // the waits above end on conditions; this only stops a hung run
});
