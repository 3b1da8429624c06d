/**
 * A running intake + backup pipeline for tests: a temp directory with instrument folders and a
 * backup target, a config parsed from YAML, a fresh database and an in-process worker running the
 * real handlers and schedules.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Config, parseConfigText } from '../../src/core/config/index.ts';
import type { Db } from '../../src/core/db/db.ts';
import { silentLogger } from '../../src/core/log.ts';
import { Variables } from '../../src/core/variables.ts';
import { listEvents } from '../../src/engine/events.ts';
import { syncPools } from '../../src/engine/pools.ts';
import { ensureSchedules } from '../../src/engine/schedules.ts';
import { Worker } from '../../src/engine/worker.ts';
import type { FileStatus } from '../../src/files/lifecycle.ts';
import { type FileRow, getFile, syncInstruments } from '../../src/files/repo.ts';
import { executorProvider } from '../../src/process/executor.ts';
import { syncSettings } from '../../src/process/settings.ts';
import { collect } from '../../src/runtime/handlers.ts';
import { Kind } from '../../src/tasks/catalogue.ts';
import { createTestDb } from './db.ts';
import { waitFor } from './spawn.ts';

export interface Pipeline {
  root: string;
  config: Config;
  db: Db;
  url: string;
  vars: Variables;
  worker: Worker | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  file(id: string): Promise<FileRow | undefined>;
  waitStatus(id: string, status: FileStatus | FileStatus[], timeoutMs?: number): Promise<FileRow>;
  timeline(id: string): Promise<string[]>;
  close(): Promise<void>;
}

/** `yaml(root)` returns the config text; paths in it may use `root`. */
export async function createPipeline(
  yaml: (root: string) => string,
  opts: { env?: string } = {},
): Promise<Pipeline> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'sluice-pipe-'));
  await mkdir(path.join(root, 'backup'));
  const loaded = parseConfigText(yaml(root), path.join(root, 'sluice.yaml'), { env: opts.env });
  const config = loaded.config;
  for (const inst of Object.values(config.instruments)) await mkdir(inst.watch, { recursive: true });
  const { db, url, drop } = await createTestDb();
  await syncPools(db, config.pools);
  await syncInstruments(db, config.instruments);
  const vars = new Variables(db, config.variables);
  const executors = executorProvider(config);
  const p: Pipeline = {
    root,
    config,
    db,
    url,
    vars,
    worker: undefined,
    async start() {
      await syncSettings(db, config);
      const stage = collect(config, vars, { baseDir: root, executor: executors.get });
      // The remover's schedules run at once in the product (a restart frees disk at once). Here
      // that first pass raced the tests' own `runRemover` calls: under load it started before the
      // first file was backed up and listed its candidates after, deleting that file's instrument
      // copy before the test looked (the "k1 not listed" / "nothing refused for a.d" flakes). The
      // schedules still exist (a test can check them); their first run is one interval away.
      await ensureSchedules(
        db,
        stage.schedules.map((s) => (s.kind === Kind.cleanupRemove ? { ...s, delayFirst: true } : s)),
      );
      p.worker = new Worker({
        db,
        log: silentLogger,
        handlers: stage.handlers,
        mode: config.instance.mode,
        pollMs: 100,
        scheduleTickMs: 50,
        leaseMs: 5000,
        heartbeatMs: 1000,
        backoffBaseMs: 100,
        concurrency: 4,
      });
      await p.worker.start();
    },
    async stop() {
      await p.worker?.stop(2000);
      p.worker = undefined;
      await executors.close();
    },
    file: (id) => getFile(db, id),
    async waitStatus(id, status, timeoutMs = 30_000) {
      const want = Array.isArray(status) ? status : [status];
      try {
        return await waitFor(
          `${id} to reach ${want.join('|')}`,
          async () => {
            const f = await getFile(db, id);
            return f && want.includes(f.status) ? f : undefined;
          },
          timeoutMs,
          50,
        );
      } catch (err) {
        const f = await getFile(db, id);
        throw new Error(
          `${(err as Error).message}; it is ${f?.status ?? 'unknown'} (${f?.status_reason ?? ''})\n${(await p.timeline(id)).join('\n')}`,
        );
      }
    },
    async timeline(id) {
      return (await listEvents(db, 'file', id)).map(
        (e) => `${e.from_state ?? ''}→${e.to_state ?? ''}: ${e.reason ?? ''}`,
      );
    },
    async close() {
      await p.stop();
      await drop();
      await rm(root, { recursive: true, force: true });
    },
  };
  return p;
}

/** A config with one instrument of each kind, short acquisition windows and fast scans. */
export function standardConfig(extra = ''): (root: string) => string {
  return (root) => `
data_dir: ${root}/data
backup:
  path: ${root}/backup
projects:
  PRJ1: { tokens: [prj1] }
fallback_project: _unassigned
instruments:
  astral1:
    type: thermo
    watch: ${root}/astral1
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 1 }
  tims1:
    type: bruker
    watch: ${root}/tims1
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 1, main_file_timeout_seconds: 3 }
  zeno1:
    type: sciex
    watch: ${root}/zeno1
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 1 }
  scope1:
    type: generic
    glob: "*.tif"
    watch: ${root}/scope1
    scan_interval_seconds: 0.2
    acquisition: { stable_window_seconds: 1 }
${extra}`;
}
