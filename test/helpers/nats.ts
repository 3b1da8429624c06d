/**
 * A real NATS server with JetStream for a test file (Debian `nats-server`):
 * `nats-server -js -sd <tmp> -a 127.0.0.1 -p <free port>`, one per `startNats()`, stopped (and its
 * store removed) by `stop()`. `restart()` stops it and starts it again on the same port and store
 * (the "server restarted mid-stream" case). When nats-server is not installed: under CI=true throw,
 * elsewhere print one line and return undefined (`describe.skipIf(!nats)`), as test/helpers/infra.ts.
 *
 * Also the set-up the streams test files share: `streamsBed` (a temp folder, optional unit modules
 * under `units/`, a fresh database, real `sluice start --role worker` processes and the CLI on it)
 * and `publishJson` (JSON events onto a stream, created when missing).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Db } from '../../src/core/db/db.ts';
import { type CliResult, SLUICE_BIN, sluice } from './cli.ts';
import { createTestDb } from './db.ts';
import { unavailable } from './infra.ts';
import { spawnTs, waitExit, waitFor } from './spawn.ts';

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Kill the server (SIGKILL) and start it again on the same port and store. */
  restart(): Promise<void>;
}

function installed(): boolean {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** A running nats-server with JetStream, or undefined when it cannot run here (skip). */
export async function startNats(): Promise<NatsServer | undefined> {
  if (!installed()) return unavailable('NATS', 'nats-server is not installed (apt-get install nats-server)');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-nats-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const c = spawn('nats-server', ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child = c;
    await waitFor(
      `nats-server on port ${port} (${err})`,
      async () => c.exitCode === null && (await listening(port)),
      30_000,
      50,
    );
  };
  const kill = async (signal: NodeJS.Signals) => {
    if (!child) return;
    child.kill(signal);
    await exited(child);
    child = undefined;
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async stop() {
      await kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill('SIGKILL');
      await launch();
    },
  };
}

export type WorkerProcess = Awaited<ReturnType<typeof spawnTs>>;

/** A streams test file's temp folder and database, with worker processes and the CLI on them. */
export interface StreamsBed {
  root: string;
  db: Db;
  url: string;
  /** `sluice start --role worker` with `cfg`, resolved once it runs. */
  worker(cfg: string, env?: Record<string, string>): Promise<WorkerProcess>;
  /** SIGTERM and wait for the exit. */
  stopWorker(w: WorkerProcess): Promise<void>;
  /** `sluice ARGS` with `cfg` on this database. */
  cli(cfg: string, args: string[]): Promise<CliResult>;
  /** Drops the database and removes the folder (stop the NATS server yourself). */
  close(): Promise<void>;
}

/** `tag` names the temp folder; `units` (file name → module text) are written under `root/units`. */
export async function streamsBed(tag: string, units: Record<string, string> = {}): Promise<StreamsBed> {
  const root = await mkdtemp(path.join(os.tmpdir(), `sluice-${tag}-`));
  if (Object.keys(units).length > 0) {
    await mkdir(path.join(root, 'units'));
    for (const [f, text] of Object.entries(units)) await writeFile(path.join(root, 'units', f), text);
  }
  const { db, url, drop } = await createTestDb();
  return {
    root,
    db,
    url,
    worker: (cfg, env = {}) =>
      spawnTs(
        SLUICE_BIN,
        { DATABASE_URL: url, SLUICE_CONFIG: cfg, SLUICE_LOG_LEVEL: 'warn', ...env },
        { ready: 'running', args: ['start', '--role', 'worker'] },
      ),
    async stopWorker(w) {
      w.kill('SIGTERM');
      await waitExit(w);
    },
    cli: (cfg, args) => sluice(args, { env: { DATABASE_URL: url, SLUICE_CONFIG: cfg } }),
    async close() {
      await drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Publishes `bodies` (objects as JSON, strings as they are) to `stream`, created with subjects
 * `<stream in lower case>.>` when missing, on `subject` (default `<stream in lower case>.ev`). Each
 * message gets the id `<stream>-<from + i>` unless `msgIds` is false. At most 100 unacknowledged
 * publishes at a time, so a loaded machine does not time them out.
 */
export async function publishJson(
  serverUrl: string,
  stream: string,
  bodies: readonly (object | string)[],
  o: { from?: number; subject?: string; msgIds?: boolean } = {},
): Promise<void> {
  const lower = stream.toLowerCase();
  const nc = await connect({ servers: serverUrl });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.info(stream).catch(() => jsm.streams.add({ name: stream, subjects: [`${lower}.>`] }));
    const js = jetstream(nc);
    for (let start = 0; start < bodies.length; start += 100) {
      await Promise.all(
        bodies
          .slice(start, start + 100)
          .map((b, j) =>
            js.publish(
              o.subject ?? `${lower}.ev`,
              typeof b === 'string' ? b : JSON.stringify(b),
              o.msgIds === false ? {} : { msgID: `${stream}-${(o.from ?? 0) + start + j}` },
            ),
          ),
      );
    }
  } finally {
    await nc.close();
  }
}
