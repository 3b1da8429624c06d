/**
 * Runs every doctor check in order (the list is in src/ops/doctor.ts) and collects their rows. The
 * config comes first (nothing else runs without it), then the checks that need the database while
 * it is open, then the paths, the executor and the secret files. Every check is guarded: a check's
 * unexpected error becomes its failing row.
 */
import type { Config, LoadedConfig } from '../../core/config/index.ts';
import { fsTargets } from '../../core/config/schema/backup-targets.ts';
import type { Db } from '../../core/db/db.ts';
import { currentVersion } from '../../core/db/migrate.ts';
import { type Logger, silentLogger } from '../../core/log.ts';
import { Variables } from '../../core/variables.ts';
import { freeSpace } from '../../intake/scan.ts';
import { checkBackupPath, checkFsTarget } from './backup-path.ts';
import { checkClockSkew } from './clock-skew.ts';
import { checkConfig } from './config.ts';
import { checkDatabase, type DbHandle, maskUrl, openDoctorDb } from './database.ts';
import { checkDbBackups } from './db-backups.ts';
import { checkExecutor } from './executor.ts';
import { checkFreeSpace, minFreeGb } from './free-space.ts';
import { checkKnownHosts } from './known-hosts.ts';
import { checkMount } from './mount.ts';
import { checkNativeStat } from './native-stat.ts';
import { type CheckResult, failFrom, guard, ok } from './result.ts';
import { checkSchema } from './schema.ts';
import { checkSecretFile, secretFileRefs } from './secret-file.ts';
import { checkSshKey } from './ssh-key.ts';
import { checkStorageRead } from './storage-read.ts';
import { checkWatchFolder } from './watch-folder.ts';
import { checkWorkerTags } from './worker-tags.ts';
import { checkWritable } from './writable.ts';

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

type SshConfig = NonNullable<Config['processing']['slurm']['ssh']>;

/** The SSH key and known_hosts of the cluster connection. */
export async function checkSshFiles(ssh: SshConfig): Promise<CheckResult[]> {
  return Promise.all([checkSshKey(ssh.key_file), checkKnownHosts(ssh.known_hosts, ssh.hosts)]);
}

/** Schema, clock skew and worker tags; the variables when the schema is current. */
async function checkDatabaseContents(
  db: Db,
  config: Config,
  input: DoctorInput,
  results: CheckResult[],
): Promise<{ vars?: Variables; schemaOk: boolean }> {
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
  const schemaOk = schema.status === 'ok';
  return schemaOk ? { vars: new Variables(db, config.variables), schemaOk } : { schemaOk };
}

/** Per instrument: watch folder, then (unless that failed) mount and free space. */
async function checkInstruments(config: Config, vars: Variables | undefined): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  if (Object.keys(config.instruments).length > 0)
    results.push(await guard('native stat helper', 'scans', async () => checkNativeStat()));
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
  return results;
}

/**
 * Everything that wants the database, while it is open (closed at the end, whatever happens):
 * database, schema, clock, worker tags, instruments, database backups, and the backup path's row
 * (its marker is judged against the copies recorded). Undefined backup path: no database to judge by.
 */
async function checkWithDatabase(
  config: Config,
  input: DoctorInput,
  results: CheckResult[],
): Promise<CheckResult | undefined> {
  const log = input.log ?? silentLogger;
  const open = input.openDb ?? ((c: Config) => openDoctorDb(c, log));
  const dbTarget = config.database.url ? maskUrl(config.database.url) : `embedded (${config.data_dir})`;
  const dbc = await checkDatabase(() => open(config), dbTarget);
  results.push(dbc.result);
  try {
    const inDb = dbc.handle
      ? await checkDatabaseContents(dbc.handle.db, config, input, results)
      : { schemaOk: false };
    results.push(...(await checkInstruments(config, inDb.vars)));
    // database backups: where they go, and whether they are recent
    results.push(...(await checkDbBackups(config, dbc.handle?.db, { pid: input.pid, now: input.now?.() })));
    // the backup target's marker is judged against the copies recorded (needs the database)
    return await guard('backup path', config.backup.path, () =>
      checkBackupPath(config, inDb.schemaOk ? dbc.handle?.db : undefined, input.pid),
    );
  } finally {
    await dbc.handle?.close();
  }
}

/** Backup path (unless already checked), output path, and whether the backup path reads from storage. */
async function checkStorage(
  config: Config,
  backupPath: CheckResult | undefined,
  pid: number,
): Promise<CheckResult[]> {
  const backupRow =
    backupPath ??
    (await guard('backup path', config.backup.path, () => checkBackupPath(config, undefined, pid)));
  const output = await guard('output path', config.processing.output_path, () =>
    checkWritable('output path', 'processing.output_path', config.processing.output_path, pid),
  );
  // the probe is written into the backup path: only where that is the right, writable disk
  const read =
    backupRow.status === 'fail'
      ? ok('backup storage read', `backup.path: ${config.backup.path}`, 'not checked: see backup path')
      : await guard('backup storage read', config.backup.path, () => checkStorageRead(config));
  const targets: CheckResult[] = [];
  for (const t of fsTargets(config.backup.targets)) {
    targets.push(
      await guard(`backup target ${t.name}`, t.path, () => checkFsTarget(config, t, undefined, pid)),
    );
  }
  return [backupRow, ...targets, output, read];
}

/** The SSH files (with SLURM over SSH) and the executor. */
async function checkCluster(config: Config, input: DoctorInput): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const ssh = config.processing.executor === 'slurm' ? config.processing.slurm.ssh : undefined;
  if (ssh) results.push(...(await checkSshFiles(ssh)));
  results.push(
    await guard('executor', config.processing.executor, () =>
      checkExecutor(config, { commandEnv: input.commandEnv, timeoutMs: input.commandTimeoutMs }),
    ),
  );
  return results;
}

/** Every `${file:...}` secret named in the config files, or one row saying there is none. */
async function checkSecrets(files: readonly string[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const secrets = await secretFileRefs(files).catch(() => []);
  for (const f of secrets) results.push(await guard('secret file', f, () => checkSecretFile(f)));
  if (secrets.length === 0)
    results.push(ok('secret file', 'config', `the config reads no \${file:...} secret files`));
  return results;
}

/** Every check's rows, in the order of the list in src/ops/doctor.ts. */
export async function runChecks(input: DoctorInput): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const cfg = await checkConfig(input.loadConfig);
  results.push(cfg.result);
  if (!cfg.loaded) return results;
  const { config } = cfg.loaded;
  const backupPath = await checkWithDatabase(config, input, results);
  results.push(...(await checkStorage(config, backupPath, input.pid ?? process.pid)));
  results.push(...(await checkCluster(config, input)));
  results.push(...(await checkSecrets(cfg.loaded.files)));
  return results;
}

/** Exit status for a set of results: 1 when any check failed (warnings pass). */
export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
