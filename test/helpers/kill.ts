/**
 * The kill -9 harness of the crash tests (backup-crash, archive-crash): a bed of a temp folder, a
 * test database and a config file; real `sluice start --role worker` processes started on it; one
 * killed with SIGKILL the moment a condition holds (`killWhen`), the next one stopped with SIGTERM
 * (`withWorker`); and large files whose every MiB differs (`bigFile`, returns the sha256).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db } from '../../src/core/db/db.ts';
import { SLUICE_BIN } from './cli.ts';
import { createTestDb } from './db.ts';
import { spawnTs, waitExit, waitFor } from './spawn.ts';

export type Worker = ChildProcess & { output: () => string };

/** A file of `mib` MiB, each MiB different (so every part and block has its own hash); its sha256. */
export async function bigFile(file: string, mib: number): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(file, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    block.fill(i % 251);
    block.writeUInt32LE(i, 0);
    h.update(block);
    await fh.write(block);
  }
  await fh.close();
  return h.digest('hex');
}

export interface CrashBed {
  root: string;
  url: string;
  /** A connection of the test's own (not the workers'). */
  db: Db;
  /** Writes the config the workers read (`sluice.yaml` in `root`; relative paths resolve there). */
  writeConfig(text: string): Promise<void>;
  /** A worker process running on the bed's database and config (resolves once it runs). */
  startWorker(): Promise<Worker>;
  close(): Promise<void>;
}

export async function crashBed(prefix: string): Promise<CrashBed> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  const { url, drop } = await createTestDb();
  const db = createDb(url);
  const cfg = path.join(root, 'sluice.yaml');
  const env = { DATABASE_URL: url, SLUICE_CONFIG: cfg, SLUICE_LOG_LEVEL: 'warn' };
  const workers: Worker[] = [];
  return {
    root,
    url,
    db,
    writeConfig: (text) => writeFile(cfg, text),
    async startWorker() {
      const w = await spawnTs(
        SLUICE_BIN,
        { ...env },
        { ready: 'running', args: ['start', '--role', 'worker'] },
      );
      workers.push(w);
      return w;
    },
    async close() {
      for (const w of workers) {
        if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
        await waitExit(w);
      }
      await db.close();
      await drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Waits until `cond` holds (polling every `everyMs`), then kills `w` with SIGKILL and waits for it. */
export async function killWhen(
  w: Worker,
  what: string,
  cond: () => Promise<unknown>,
  timeoutMs = 300_000,
  everyMs = 20,
): Promise<void> {
  await waitFor(what, async () => Boolean(await cond()), timeoutMs, everyMs);
  w.kill('SIGKILL');
  await waitExit(w);
}

/** Runs `fn` with a fresh worker of `bed`, which is stopped (SIGTERM) afterwards whatever happens. */
export async function withWorker<T>(bed: CrashBed, fn: (w: Worker) => Promise<T>): Promise<T> {
  const w = await bed.startWorker();
  try {
    return await fn(w);
  } finally {
    w.kill('SIGTERM');
    await waitExit(w);
  }
}
