/**
 * A real NATS server with JetStream for a test file (Debian `nats-server`):
 * `nats-server -js -sd <tmp> -a 127.0.0.1 -p <free port>`, one per `startNats()`, stopped (and its
 * store removed) by `stop()`. `restart()` stops it and starts it again on the same port and store
 * (the "server restarted mid-stream" case). When nats-server is not installed: under CI=true throw,
 * elsewhere print one line and return undefined (`describe.skipIf(!nats)`), as test/helpers/infra.ts.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { unavailable } from './infra.ts';
import { waitFor } from './spawn.ts';

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
