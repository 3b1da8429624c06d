/**
 * `sluice doctor`: checks that this machine can run Sluice, one small check per concern, each
 * returning rows `{ check, target, status, detail, hint }`:
 *
 *   config        the configuration loads and validates (nothing else runs without it)
 *   database      PostgreSQL answers (embedded or DATABASE_URL)
 *   schema        the schema is at the version this program needs
 *   clock skew    this host's clock against the database's (warn > 2 s, fail > 30 s)
 *   watch folder  per instrument: exists, is a directory, can be listed
 *   mount         per instrument: is a mount point (a warning only: there is no `require_mount` yet)
 *   free space    per instrument: at least `min_free_space_gb` free (only with cleanup enabled: the
 *                 minimum is what the remover aims for)
 *   backup path   the right disk (src/backup/target.ts: mounted when `backup.require_mount`, the
 *                 marker `.sluice-backup-target` names this instance), then writable as below
 *   output path   writable: a marker file is written, read back and removed
 *   backup storage read         the backup path reads from storage (O_DIRECT), else a warning
 *   executor      local, or SLURM (`sinfo -h`, locally or over SSH)
 *   ssh key / known_hosts       the cluster connection's files exist, the key is private
 *   secret file   every `${file:...}` in the config files is a regular, not world-readable file
 *   db backups    per `database.backups` strategy: its directory is writable or its bucket can be
 *                 listed, and its newest backup is as recent as its schedule wants (warn when older
 *                 than two periods or missing; fail when its last run failed)
 *
 * Every check catches its own errors: doctor reports a broken config or a database that is down
 * as failing rows, it never stops at the first problem.
 */
import { constants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';
import { parseDocument, visit } from 'yaml';
import { probeStorageRead } from '../backup/storage-read.ts';
import { checkBackupTarget } from '../backup/target.ts';
import type { Config, LoadedConfig } from '../core/config/index.ts';
import { assertReachable, createDb, type Db } from '../core/db/db.ts';
import { startEmbedded } from '../core/db/embedded.ts';
import { currentVersion, schemaVersion } from '../core/db/migrate.ts';
import { formatDuration } from '../core/duration.ts';
import { errorMessage, SluiceError } from '../core/errors.ts';
import { type Logger, silentLogger } from '../core/log.ts';
import { Variables, variableDefs } from '../core/variables.ts';
import { parseHost } from '../process/executor.ts';
import { type CommandRunner, jobEnvironment, LocalRunner } from '../process/executors/command.ts';
import { SshRunner } from '../process/executors/index.ts';
import { freeSpace, isMountPoint } from '../storage/disk.ts';
import { openLocation } from './db-backup/locations.ts';
import { lastRuns } from './db-backup/strategy.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  check: string;
  target: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

/** An open database for the checks; `target` names it for people (password masked). */
export interface DbHandle {
  db: Db;
  target: string;
  close(): Promise<void>;
}

export interface DoctorInput {
  /** Loads the configuration; a thrown error becomes the failing `config` row. */
  loadConfig: () => Promise<LoadedConfig>;
  /** Opens the database; default: `database.url`, else the embedded PostgreSQL in `data_dir`. */
  openDb?: (config: Config) => Promise<DbHandle>;
  log?: Logger;
  /** This host's clock (tests shift it). Default `Date.now`. */
  now?: () => number;
  /** Environment of the local `sinfo` (tests point PATH at an empty folder). Default: jobEnvironment(). */
  commandEnv?: NodeJS.ProcessEnv;
  /** How long `sinfo` / the SSH connection may take. Default 15 s. */
  commandTimeoutMs?: number;
  /** Used in the marker file name. Default `process.pid`. */
  pid?: number;
}

const GB = 1e9;

const ok = (check: string, target: string, detail: string): CheckResult => ({
  check,
  target,
  status: 'ok',
  detail,
});
const warn = (check: string, target: string, detail: string, hint?: string): CheckResult => ({
  check,
  target,
  status: 'warn',
  detail,
  ...(hint ? { hint } : {}),
});
const fail = (check: string, target: string, detail: string, hint?: string): CheckResult => ({
  check,
  target,
  status: 'fail',
  detail,
  ...(hint ? { hint } : {}),
});

/** Turns an error into a failing row (SluiceError: its message and hint). */
function failFrom(check: string, target: string, err: unknown, hint?: string): CheckResult {
  const h = err instanceof SluiceError ? (err.hint ?? hint) : hint;
  return fail(check, target, errorMessage(err), h);
}

/** Runs one check; an unexpected error becomes a failing row instead of stopping doctor. */
async function guard(check: string, target: string, fn: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await fn();
  } catch (err) {
    return failFrom(check, target, err);
  }
}

const mode = (m: number) => (m & 0o777).toString(8).padStart(3, '0');

export function maskUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

// --- config ---------------------------------------------------------------------------------------

export async function checkConfig(
  load: () => Promise<LoadedConfig>,
): Promise<{ result: CheckResult; loaded?: LoadedConfig }> {
  try {
    const loaded = await load();
    const n = Object.keys(loaded.config.instruments).length;
    return {
      loaded,
      result: ok(
        'config',
        loaded.files.join(' + '),
        `valid (environment ${loaded.env}, ${n} instrument${n === 1 ? '' : 's'})`,
      ),
    };
  } catch (err) {
    const hint = err instanceof SluiceError ? err.hint : undefined;
    return {
      result: fail(
        'config',
        'configuration',
        errorMessage(err),
        `${hint ? `${hint}; ` : ''}the other checks need a valid configuration and were skipped`,
      ),
    };
  }
}

// --- database -------------------------------------------------------------------------------------

/** The database as Sluice would open it: `database.url`, else the embedded PostgreSQL. */
export async function openDoctorDb(config: Config, log: Logger = silentLogger): Promise<DbHandle> {
  if (config.database.url) {
    const db = createDb(config.database.url, { max: 2, log, applicationName: 'sluice-doctor' });
    return { db, target: maskUrl(config.database.url), close: () => db.close().catch(() => undefined) };
  }
  const embedded = await startEmbedded({
    dataDir: config.data_dir,
    port: config.database.embedded_port,
    log,
  });
  const db = createDb(embedded.url, { max: 2, log, applicationName: 'sluice-doctor' });
  return {
    db,
    target: `embedded (${path.join(config.data_dir, 'postgres')}, port ${embedded.port})`,
    close: async () => {
      await db.close().catch(() => undefined);
      await embedded.stop();
    },
  };
}

export async function checkDatabase(
  open: () => Promise<DbHandle>,
  describe: string,
): Promise<{ result: CheckResult; handle?: DbHandle }> {
  let handle: DbHandle;
  try {
    handle = await open();
  } catch (err) {
    return { result: failFrom('database', describe, err) };
  }
  try {
    await assertReachable(handle.db);
    const v = await handle.db.one<{ v: string }>(`select current_setting('server_version') as v`);
    return { result: ok('database', handle.target, `reachable (PostgreSQL ${v.v})`), handle };
  } catch (err) {
    await handle.close();
    return { result: failFrom('database', handle.target, err) };
  }
}

export function checkSchema(v: number): CheckResult {
  const want = schemaVersion();
  if (v === want) return ok('schema', 'migrations', `at version ${v}, current`);
  if (v < want) {
    return fail(
      'schema',
      'migrations',
      `at version ${v}${v === 0 ? ' (empty database)' : ''}; this Sluice needs ${want}`,
      'run `sluice db migrate` (or start Sluice, which migrates)',
    );
  }
  return fail(
    'schema',
    'migrations',
    `at version ${v}, newer than this Sluice understands (${want})`,
    'upgrade this machine to the Sluice version the other machines run',
  );
}

/**
 * Worker placement: an instrument with tags is scanned, copied and cleaned only by a worker that
 * carries all of them. With workers running but none carrying an instrument's tags, that
 * instrument's files wait for ever: a failure. With no worker running at all (doctor before the
 * first start), a warning.
 */
export async function checkWorkerTags(db: Db, config: Config): Promise<CheckResult[]> {
  const tagged = Object.entries(config.instruments).filter(([, i]) => i.tags.length > 0);
  if (tagged.length === 0) return [];
  const live = await db.query<{ id: string; host: string; tags: string[] }>(
    `select id, host, tags from workers
     where stopped_at is null and role <> 'web' and last_heartbeat_at > now() - make_interval(secs => $1)`,
    [config.worker.lease_seconds],
  );
  return tagged.map(([id, inst]) => {
    const target = `${id}: ${inst.tags.join(',')}`;
    const start = `sluice start --role worker --tags ${inst.tags.join(',')}`;
    if (live.length === 0)
      return warn(
        'worker tags',
        target,
        'no worker is running yet',
        `on the machine that mounts ${inst.watch}: ${start}`,
      );
    const carriers = live.filter((w) => inst.tags.every((t) => w.tags.includes(t)));
    if (carriers.length === 0)
      return fail(
        'worker tags',
        target,
        `${live.length} worker(s) running, none with tags ${inst.tags.join(',')}: this instrument's scans, copies and clean-up wait`,
        `on the machine that mounts ${inst.watch}: ${start}`,
      );
    return ok('worker tags', target, `served by ${carriers.map((w) => `${w.id} on ${w.host}`).join(', ')}`);
  });
}

/** Host clock against the database's: warn above 2 s, fail above 30 s (leases and schedules use both). */
export async function checkClockSkew(db: Db, now: () => number = Date.now): Promise<CheckResult> {
  const before = now();
  const row = await db.one<{ t: number }>('select extract(epoch from clock_timestamp())::float8 as t');
  const after = now();
  const host = (before + after) / 2;
  const skewS = (host - row.t * 1000) / 1000;
  const abs = Math.abs(skewS);
  const detail = `host clock is ${abs.toFixed(3)} s ${skewS >= 0 ? 'ahead of' : 'behind'} the database's (round trip ${after - before} ms)`;
  const hint =
    'synchronise the clocks with NTP (chrony, systemd-timesyncd) on this host and the database server';
  if (abs > 30) return fail('clock skew', 'host vs database', detail, hint);
  if (abs > 2) return warn('clock skew', 'host vs database', detail, hint);
  return ok('clock skew', 'host vs database', detail);
}

// --- instruments ----------------------------------------------------------------------------------

/** The watch folder exists, is a directory and can be listed. */
export async function checkWatchFolder(id: string, dir: string): Promise<CheckResult> {
  const target = `${id}: ${dir}`;
  const field = `instruments.${id}.watch`;
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return fail(
        'watch folder',
        target,
        'does not exist',
        `mount the instrument's share there, or correct ${field}`,
      );
    }
    return fail(
      'watch folder',
      target,
      `cannot be examined: ${errorMessage(err)}`,
      'check the mount and permissions',
    );
  }
  if (!st.isDirectory()) {
    return fail('watch folder', target, 'is not a directory (it is a file)', `${field} must name a folder`);
  }
  try {
    const entries = await fsp.readdir(dir);
    return ok('watch folder', target, `readable directory, ${entries.length} entries`);
  } catch (err) {
    return fail(
      'watch folder',
      target,
      `cannot be listed: ${errorMessage(err)}`,
      'give the user running Sluice read and execute permission on the folder (and its parents)',
    );
  }
}

/** A warning, not a failure: the config has no `require_mount` flag yet. */
export async function checkMount(id: string, dir: string, required = false): Promise<CheckResult> {
  const target = `${id}: ${dir}`;
  if (await isMountPoint(dir)) return ok('mount', target, 'is a mount point');
  if (required)
    return fail(
      'mount',
      target,
      `is not a mount point, and instruments.${id}.require_mount is set: the instrument share is not mounted, so the instrument stays offline`,
      `mount the share at ${dir} (check /etc/fstab or the mount unit), then run sluice doctor again`,
    );
  return warn(
    'mount',
    target,
    'is not a mount point; if the instrument share should be mounted here, Sluice is watching the empty local folder',
    `set instruments.${id}.require_mount: true for a network share (then an unmounted share marks the instrument offline); ignore this for a local disk`,
  );
}

export async function checkFreeSpace(
  id: string,
  dir: string,
  minGb: number,
  source: string,
  statfs: (dir: string) => Promise<{ freeBytes: number; totalBytes: number }> = freeSpace,
  cleanupEnabled = true,
): Promise<CheckResult> {
  const target = `${id}: ${dir}`;
  const { freeBytes, totalBytes } = await statfs(dir);
  const free = `${(freeBytes / GB).toFixed(1)} GB free of ${(totalBytes / GB).toFixed(1)} GB`;
  // the minimum is what the remover frees space towards: without cleanup it means nothing here
  if (!cleanupEnabled)
    return ok('free space', target, `${free} (cleanup disabled: ${source} does not apply)`);
  const detail = `${free} (${source} ${minGb} GB)`;
  if (freeBytes < minGb * GB) {
    return warn(
      'free space',
      target,
      `${detail}: below the minimum`,
      'free space on the instrument (enable cleanup once backups verify), or lower the minimum',
    );
  }
  return ok('free space', target, detail);
}

// --- writable paths -------------------------------------------------------------------------------

/** The nearest existing ancestor of `p` (p itself when it exists). */
async function nearestExisting(p: string): Promise<{ dir: string; isDir: boolean }> {
  let cur = path.resolve(p);
  for (;;) {
    try {
      const st = await fsp.stat(cur);
      return { dir: cur, isDir: st.isDirectory() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(cur);
      if (parent === cur) throw err;
      cur = parent;
    }
  }
}

/**
 * `dir` is writable: a marker file `.sluice-doctor-<pid>` is created, synced, read back and
 * removed (as Immich checks its storage folders). A missing folder is a warning when its nearest
 * existing ancestor is a writable directory (Sluice creates it; but an unmounted share looks the same).
 */
export async function checkWritable(
  check: string,
  field: string,
  dir: string,
  pid: number = process.pid,
): Promise<CheckResult> {
  const target = `${field}: ${dir}`;
  const near = await nearestExisting(dir);
  if (!near.isDir) {
    return fail(
      check,
      target,
      near.dir === path.resolve(dir)
        ? 'is a file, not a directory'
        : `cannot be created: ${near.dir} is a file, not a directory`,
      `set ${field} to a directory`,
    );
  }
  if (near.dir !== path.resolve(dir)) {
    try {
      await fsp.access(near.dir, constants.W_OK | constants.X_OK);
    } catch (err) {
      return fail(
        check,
        target,
        `does not exist, and ${near.dir} is not writable: ${errorMessage(err)}`,
        `create ${dir} and make it writable by the user running Sluice`,
      );
    }
    return warn(
      check,
      target,
      `does not exist yet (Sluice will create it under ${near.dir})`,
      'if this should be a mounted share, mount it first: otherwise the data goes to the local disk',
    );
  }
  const marker = path.join(dir, `.sluice-doctor-${pid}`);
  const content = `sluice doctor ${new Date().toISOString()} ${pid}\n`;
  try {
    const fh = await fsp.open(marker, 'w');
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const back = await fsp.readFile(marker, 'utf8');
    if (back !== content) {
      return fail(
        check,
        target,
        `a marker file read back different content (${marker})`,
        'check the storage',
      );
    }
  } catch (err) {
    return fail(
      check,
      target,
      `not writable: ${errorMessage(err)}`,
      `make ${dir} writable by the user running Sluice`,
    );
  } finally {
    await fsp.rm(marker, { force: true }).catch(() => undefined);
  }
  return ok(check, target, 'writable (marker file written, read back, removed)');
}

/**
 * The backup path is the right disk (target.ts: mounted when required, the marker names this
 * instance, or would be written by the first copy), and then writable. A failing target is not
 * probed for writing: the probe would land on the wrong disk.
 */
export async function checkBackupPath(
  config: Config,
  db: Db | undefined,
  pid: number = process.pid,
): Promise<CheckResult> {
  const target = `backup.path: ${config.backup.path}`;
  const t = await checkBackupTarget(config, db, { write: false });
  if (!t.ok) return fail('backup path', target, `backup target unavailable: ${t.reason}`, t.hint);
  const r = await checkWritable('backup path', 'backup.path', config.backup.path, pid);
  if (r.status !== 'ok') return r;
  if (t.wrote) return { ...r, detail: `${r.detail}; no marker yet: the first copy writes it (${t.wrote})` };
  return { ...r, detail: `${r.detail}; its marker names this instance ('${config.instance.name}')` };
}

/**
 * Can the remover and the fixity audits read the backup from storage (O_DIRECT)? Where the
 * filesystem refuses, reads go through the page cache; with cleanup.require_storage_read the remover
 * then keeps every instrument copy (src/backup/storage-read.ts).
 */
async function checkStorageRead(config: Config): Promise<CheckResult> {
  const check = 'backup storage read';
  const target = `backup.path: ${config.backup.path}`;
  const st = await fsp.stat(config.backup.path).catch(() => undefined);
  if (!st) return ok(check, target, 'not checked: the backup path does not exist yet');
  // a backup path that is no folder (or not writable) fails the 'backup path' check: one row says so
  if (!st.isDirectory()) return ok(check, target, 'not checked: the backup path is not a folder');
  let r: Awaited<ReturnType<typeof probeStorageRead>>;
  try {
    r = await probeStorageRead(config.backup.path);
  } catch (err) {
    return ok(check, target, `not checked: cannot write a probe there (${errorMessage(err)})`);
  }
  if (r.read === 'direct')
    return ok(check, target, 'reads from storage (O_DIRECT): verifications bypass the page cache');
  const removing = Object.values(config.instruments).some((i) => i.cleanup.enabled);
  return warn(
    check,
    target,
    `reads only through the page cache: ${r.fallback ?? 'O_DIRECT refused'}${
      removing && config.cleanup.require_storage_read
        ? '; with cleanup.require_storage_read the remover keeps every instrument copy'
        : ''
    }`,
    'put the backups on storage that allows O_DIRECT, or set cleanup.require_storage_read: false to accept reads through the page cache (docs/intake-and-backup.md, "Verified from storage")',
  );
}

// --- executor and its files -----------------------------------------------------------------------

type SshConfig = NonNullable<Config['processing']['slurm']['ssh']>;

/** The private key exists and is readable by its owner only (like OpenSSH demands). */
export async function checkSshKey(file: string): Promise<CheckResult> {
  const target = `processing.slurm.ssh.key_file: ${file}`;
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(file);
  } catch (err) {
    return fail(
      'ssh key',
      target,
      `cannot be read: ${errorMessage(err)}`,
      'point key_file at the private key',
    );
  }
  if (!st.isFile())
    return fail('ssh key', target, 'is not a regular file', 'point key_file at the private key');
  if ((Number(st.mode) & 0o077) !== 0) {
    return fail(
      'ssh key',
      target,
      `is readable or writable by group/others (mode ${mode(Number(st.mode))})`,
      `chmod 600 ${file}`,
    );
  }
  try {
    await fsp.access(file, constants.R_OK);
  } catch (err) {
    return fail(
      'ssh key',
      target,
      `cannot be read: ${errorMessage(err)}`,
      'make it readable by the user running Sluice',
    );
  }
  return ok('ssh key', target, `private (mode ${mode(Number(st.mode))})`);
}

export async function checkKnownHosts(file: string, hosts: readonly string[]): Promise<CheckResult> {
  const target = `processing.slurm.ssh.known_hosts: ${file}`;
  const scan = hosts
    .map(parseHost)
    .map((h) => `ssh-keyscan -p ${h.port ?? 22} ${h.host} >> ${file}`)
    .join('; ');
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail(
      'known_hosts',
      target,
      code === 'ENOENT' ? 'does not exist' : `cannot be read: ${errorMessage(err)}`,
      `verify the cluster's host keys with its administrators, then: ${scan}`,
    );
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).length;
  if (lines === 0) {
    return fail(
      'known_hosts',
      target,
      'is empty: every host key would be refused',
      `add the host keys: ${scan}`,
    );
  }
  return ok('known_hosts', target, `${lines} host key line${lines === 1 ? '' : 's'}`);
}

export interface ExecutorCheckOptions {
  commandEnv?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Build the runner yourself (tests). */
  runner?: CommandRunner;
}

/** The configured executor can reach the cluster: `sinfo -h`, locally or over SSH. */
export async function checkExecutor(config: Config, opts: ExecutorCheckOptions = {}): Promise<CheckResult> {
  const p = config.processing;
  if (p.executor === 'local') {
    return ok('executor', 'local', 'jobs run as child processes on the worker; nothing to reach');
  }
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const ssh = p.slurm.ssh;
  const runner: CommandRunner =
    opts.runner ??
    (ssh
      ? new SshRunner({
          hosts: ssh.hosts.map(parseHost),
          username: ssh.user,
          privateKeyPath: ssh.key_file,
          knownHostsPath: ssh.known_hosts,
          connectTimeoutMs: Math.min(ssh.connect_timeout_seconds * 1000, timeoutMs),
          retries: 0,
        })
      : new LocalRunner({ env: opts.commandEnv ?? jobEnvironment() }));
  const target = `slurm (${runner.description})`;
  try {
    const r = await runner.run(['sinfo', '-h'], { timeoutMs });
    if (r.code !== 0) {
      return fail(
        'executor',
        target,
        `sinfo -h exited with ${r.code}: ${(r.stderr.trim() || r.stdout.trim()).slice(0, 300)}`,
        'check that slurmctld is running and that this user may query it (munge)',
      );
    }
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    return ok(
      'executor',
      target,
      `sinfo answers (${lines.length} partition line${lines.length === 1 ? '' : 's'})`,
    );
  } catch (err) {
    return failFrom(
      'executor',
      target,
      err,
      ssh
        ? 'check the SSH hosts, user, key and known_hosts'
        : 'install the SLURM client tools or configure processing.slurm.ssh',
    );
  } finally {
    await runner.close().catch(() => undefined);
  }
}

export async function checkSshFiles(ssh: SshConfig): Promise<CheckResult[]> {
  return Promise.all([checkSshKey(ssh.key_file), checkKnownHosts(ssh.known_hosts, ssh.hosts)]);
}

// --- secret files ---------------------------------------------------------------------------------

/** Every `${file:...}` named in the config files (base and overlay), resolved like the loader does. */
export async function secretFileRefs(configFiles: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const f of configFiles) {
    // Only values count, not comments (the starter config shows examples in comments).
    const values: string[] = [];
    visit(parseDocument(await fsp.readFile(f, 'utf8')), {
      Scalar(_, node) {
        if (typeof node.value === 'string') values.push(node.value);
      },
    });
    for (const m of values.join('\n').matchAll(/(?<!\$)\$\{file:([^}]*)\}/g)) {
      const ref = m[1]?.trim() ?? '';
      if (ref === '') continue;
      out.add(path.isAbsolute(ref) ? ref : path.resolve(path.dirname(f), ref));
    }
  }
  return [...out].sort();
}

/** A secret file exists, is regular and is not readable by others (640 is fine). */
export async function checkSecretFile(file: string): Promise<CheckResult> {
  let st: Awaited<ReturnType<typeof fsp.stat>>;
  try {
    st = await fsp.stat(file);
  } catch (err) {
    return fail(
      'secret file',
      file,
      `cannot be read: ${errorMessage(err)}`,
      `create it and chmod 600 ${file}`,
    );
  }
  if (!st.isFile())
    return fail('secret file', file, 'is not a regular file', `point the \${file:...} reference at a file`);
  const m = Number(st.mode);
  if ((m & 0o004) !== 0) {
    return fail('secret file', file, `is readable by others (mode ${mode(m)})`, `chmod 600 ${file}`);
  }
  return ok('secret file', file, `mode ${mode(m)}${(m & 0o040) !== 0 ? ' (group may read it)' : ''}`);
}

// --- all of it ------------------------------------------------------------------------------------

async function minFreeGb(
  config: Config,
  id: string,
  vars: Variables | undefined,
): Promise<{ gb: number; source: string }> {
  const own = config.instruments[id]?.cleanup.min_free_space_gb;
  if (own !== undefined) return { gb: own, source: `instruments.${id}.cleanup.min_free_space_gb` };
  if (vars) {
    try {
      return { gb: await vars.get('min_free_space_gb'), source: 'min_free_space_gb' };
    } catch {
      // database not usable: fall back to the file
    }
  }
  return {
    gb: config.variables.min_free_space_gb ?? variableDefs.min_free_space_gb.default,
    source: 'min_free_space_gb',
  };
}

export async function runChecks(input: DoctorInput): Promise<CheckResult[]> {
  const log = input.log ?? silentLogger;
  const results: CheckResult[] = [];
  const cfg = await checkConfig(input.loadConfig);
  results.push(cfg.result);
  if (!cfg.loaded) return results;
  const { config } = cfg.loaded;

  // database, schema, clock
  const open = input.openDb ?? ((c: Config) => openDoctorDb(c, log));
  const dbTarget = config.database.url ? maskUrl(config.database.url) : `embedded (${config.data_dir})`;
  const dbc = await checkDatabase(() => open(config), dbTarget);
  results.push(dbc.result);
  let vars: Variables | undefined;
  let schemaOk = false;
  let backupPath: CheckResult | undefined;
  try {
    if (dbc.handle) {
      const { db } = dbc.handle;
      let version: number | undefined;
      const schema = await guard('schema', 'migrations', async () => {
        version = await currentVersion(db);
        return checkSchema(version);
      });
      results.push(schema);
      results.push(await guard('clock skew', 'host vs database', () => checkClockSkew(db, input.now)));
      // a database behind by a migration still has the workers table
      if (version !== undefined && version >= 1) {
        try {
          results.push(...(await checkWorkerTags(db, config)));
        } catch (err) {
          results.push(failFrom('worker tags', 'workers', err));
        }
      }
      if (schema.status === 'ok') vars = new Variables(db, config.variables);
      schemaOk = schema.status === 'ok';
    }

    // instruments
    for (const [id, inst] of Object.entries(config.instruments)) {
      const target = `${id}: ${inst.watch}`;
      const folder = await guard('watch folder', target, () => checkWatchFolder(id, inst.watch));
      results.push(folder);
      if (folder.status === 'fail') continue;
      results.push(await guard('mount', target, () => checkMount(id, inst.watch, inst.require_mount)));
      const min = await minFreeGb(config, id, vars);
      results.push(
        await guard('free space', target, () =>
          checkFreeSpace(id, inst.watch, min.gb, min.source, freeSpace, inst.cleanup.enabled),
        ),
      );
    }

    // database backups: where they go, and whether they are recent
    results.push(...(await checkDbBackups(config, dbc.handle?.db, { pid: input.pid, now: input.now?.() })));
    // the backup target's marker is judged against the copies recorded (needs the database)
    backupPath = await guard('backup path', config.backup.path, () =>
      checkBackupPath(config, schemaOk ? dbc.handle?.db : undefined, input.pid),
    );
  } finally {
    await dbc.handle?.close();
  }

  // storage
  const pid = input.pid ?? process.pid;
  const backupRow =
    backupPath ??
    (await guard('backup path', config.backup.path, () => checkBackupPath(config, undefined, pid)));
  results.push(backupRow);
  results.push(
    await guard('output path', config.processing.output_path, () =>
      checkWritable('output path', 'processing.output_path', config.processing.output_path, pid),
    ),
  );

  // the probe is written into the backup path: only where that is the right, writable disk
  results.push(
    backupRow.status === 'fail'
      ? ok('backup storage read', `backup.path: ${config.backup.path}`, 'not checked: see backup path')
      : await guard('backup storage read', config.backup.path, () => checkStorageRead(config)),
  );

  // executor
  const ssh = config.processing.executor === 'slurm' ? config.processing.slurm.ssh : undefined;
  if (ssh) results.push(...(await checkSshFiles(ssh)));
  results.push(
    await guard('executor', config.processing.executor, () =>
      checkExecutor(config, { commandEnv: input.commandEnv, timeoutMs: input.commandTimeoutMs }),
    ),
  );

  // secret files named in the config
  const secrets = await secretFileRefs(cfg.loaded.files).catch(() => []);
  for (const f of secrets) results.push(await guard('secret file', f, () => checkSecretFile(f)));
  if (secrets.length === 0)
    results.push(ok('secret file', 'config', `the config reads no \${file:...} secret files`));
  return results;
}

/**
 * Each database backup strategy: can this machine reach its location (a directory: written to
 * like the backup path; S3: listed), and is its newest backup as recent as its cron wants?
 * A strategy pinned to worker tags may write to a directory that only those workers mount, so a
 * directory that fails here is only a warning for it.
 */
export async function checkDbBackups(
  config: Config,
  db: Db | undefined,
  opts: { pid?: number; now?: number } = {},
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const now = opts.now ?? Date.now();
  const last = db ? await lastRuns(db).catch(() => []) : [];
  for (const [i, s] of config.database.backups.entries()) {
    const location = openLocation(s);
    const target = `${s.name}: ${location.describe}`;
    if (s.location.dir) {
      const field = `database.backups[${i}].location.dir`;
      const r = await guard('db backup location', target, () =>
        checkWritable('db backup location', field, s.location.dir!, opts.pid),
      );
      out.push(
        r.status === 'fail' && s.tags.length > 0
          ? {
              ...r,
              target,
              status: 'warn',
              detail: `${r.detail} (checked on this machine)`,
              hint: `it runs on workers tagged ${s.tags.join(', ')}: check there (sluice doctor on such a worker)`,
            }
          : { ...r, target },
      );
      if (r.status === 'fail') continue; // no age to tell
    }
    let newest: Date | undefined;
    try {
      const entries = await location.list(s.name);
      newest = entries[0]?.createdAt;
      if (s.location.s3) {
        out.push(ok('db backup location', target, `reachable: ${entries.length} backup(s) of this strategy`));
      }
    } catch (err) {
      if (s.location.s3) out.push(failFrom('db backup location', target, err));
      continue;
    }
    const run = last.find((r) => r.strategy === s.name);
    if (run?.state === 'failed') {
      out.push(
        fail(
          'db backup age',
          target,
          `the last run failed ${formatDuration(now - run.at.getTime())} ago: ${run.reason ?? 'no reason recorded'}`,
          `run \`sluice db backup --strategy ${s.name}\` to see the error; the alert backup_failure reports it too`,
        ),
      );
      continue;
    }
    if (!s.enabled) {
      out.push(ok('db backup age', target, 'no schedule (enabled: false); run by hand'));
      continue;
    }
    const [a, b] = new Cron(s.cron, { paused: true }).nextRuns(2);
    const period = a && b ? b.getTime() - a.getTime() : 86_400_000;
    const hint = `scheduled backups need a running worker${s.tags.length ? ` tagged ${s.tags.join(', ')}` : ''}; \`sluice db backup --strategy ${s.name}\` makes one now`;
    if (!newest) {
      out.push(warn('db backup age', target, `no backup yet (schedule "${s.cron}")`, hint));
    } else if (now - newest.getTime() > 2 * period) {
      out.push(
        warn(
          'db backup age',
          target,
          `the newest backup is ${formatDuration(now - newest.getTime())} old; the schedule "${s.cron}" makes one every ${formatDuration(period)}`,
          hint,
        ),
      );
    } else {
      out.push(ok('db backup age', target, `newest backup ${formatDuration(now - newest.getTime())} old`));
    }
  }
  return out;
}

/** Exit status for a set of results: 1 when any check failed (warnings pass). */
export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
