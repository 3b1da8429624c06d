/**
 * Operations: `sluice doctor` against injected misconfigurations (real temp folders, the real test
 * PostgreSQL, real processes), and the Prometheus metrics read from the database.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { registerDoctorCommand, renderDoctor } from '../src/cli/doctor.ts';
import { loadConfig } from '../src/core/config/index.ts';
import { createDb, type Db } from '../src/core/db/db.ts';
import { freePort } from '../src/core/db/embedded.ts';
import { recordEvent } from '../src/engine/events.ts';
import { backupFileName } from '../src/ops/db-backup/format.ts';
import { DB_BACKUP_SUBJECT } from '../src/ops/db-backup/strategy.ts';
import {
  type CheckResult,
  checkClockSkew,
  checkSecretFile,
  type DoctorInput,
  doctorExitCode,
  runChecks,
} from '../src/ops/doctor.ts';
import { createMetricsRegistry } from '../src/ops/prometheus.ts';
import { createTestDb } from './helpers/db.ts';
import { spawnUnprivileged } from './helpers/unprivileged.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const isRoot = process.getuid?.() === 0;

let testDb: Awaited<ReturnType<typeof createTestDb>>;
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  testDb = await createTestDb();
});
afterAll(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
  await testDb.drop();
  for (const d of dirs) {
    await chmod(d, 0o755).catch(() => undefined);
    await rm(d, { recursive: true, force: true });
  }
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'sluice-ops-'));
  dirs.push(d);
  return d;
}

/** A workspace with a watch folder, backup and output folders, and a config pointing at them. */
async function workspace(opts: { yaml?: (dir: string) => string; dbUrl?: string } = {}) {
  const dir = await tmp();
  await mkdir(path.join(dir, 'astral'));
  await mkdir(path.join(dir, 'backup'));
  await mkdir(path.join(dir, 'output'));
  const yaml =
    opts.yaml?.(dir) ??
    `data_dir: ./data
database:
  url: ${opts.dbUrl ?? testDb.url}
instruments:
  astral1:
    type: thermo
    watch: ./astral
backup:
  path: ./backup
processing:
  output_path: ./output
`;
  const file = path.join(dir, 'sluice.yaml');
  await writeFile(file, yaml);
  return { dir, file };
}

function doctorInput(file: string, extra: Partial<DoctorInput> = {}): DoctorInput {
  return { loadConfig: () => loadConfig({ path: file, environ: {} }), ...extra };
}

const rows = (results: CheckResult[], check: string) => results.filter((r) => r.check === check);
const one = (results: CheckResult[], check: string) => {
  const r = rows(results, check);
  expect(r, `exactly one '${check}' row in ${JSON.stringify(results, null, 1)}`).toHaveLength(1);
  return r[0]!;
};

describe('sluice doctor', () => {
  it('passes a healthy setup (warnings only), and leaves no marker files behind', async () => {
    const { dir, file } = await workspace({
      yaml: (d) => `database:
  url: ${testDb.url}
instruments:
  astral1:
    type: thermo
    watch: ./astral
    cleanup:
      min_free_space_gb: 0
backup:
  path: ${d}/backup
processing:
  output_path: ${d}/output
`,
    });
    const results = await runChecks(doctorInput(file));
    expect(results.filter((r) => r.status === 'fail')).toEqual([]);
    expect(doctorExitCode(results)).toBe(0);
    expect(one(results, 'config').status).toBe('ok');
    expect(one(results, 'database').detail).toMatch(/reachable \(PostgreSQL \d+/);
    expect(one(results, 'schema').status).toBe('ok');
    expect(one(results, 'clock skew').status).toBe('ok');
    expect(one(results, 'watch folder').status).toBe('ok');
    expect(one(results, 'free space').status).toBe('ok');
    // a temp dir is not a mount point: only a warning, saying why
    expect(one(results, 'mount')).toMatchObject({ status: 'warn' });
    expect(one(results, 'mount').hint).toContain('require_mount: true');
    expect(one(results, 'backup path')).toMatchObject({ status: 'ok' });
    expect(one(results, 'backup storage read')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/O_DIRECT/),
    });
    expect(one(results, 'output path')).toMatchObject({ status: 'ok' });
    expect(one(results, 'executor')).toMatchObject({ status: 'ok', target: 'local' });
    expect(await readdir(path.join(dir, 'backup'))).toEqual([]);
    expect(await readdir(path.join(dir, 'output'))).toEqual([]);
    // the table names every check once and sums up
    let text = '';
    renderDoctor(results, {
      write: (s: string) => {
        text += s;
        return true;
      },
    } as NodeJS.WritableStream);
    expect(text).toMatch(/^STATUS\s+CHECK\s+TARGET\s+DETAIL/);
    expect(text).toMatch(/\d+ ok, 1 warning, 0 failures/);
  });

  it('flags an invalid config in one failing row and skips the rest', async () => {
    const { file } = await workspace({
      yaml: () => 'instruments:\n  astral1:\n    type: thermos\n    watch: ./astral\n',
    });
    const results = await runChecks(doctorInput(file));
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ check: 'config', status: 'fail' });
    expect(results[0]!.detail).toContain(
      "instruments.astral1.type: expected one of thermo, bruker, sciex, generic, found 'thermos'",
    );
    expect(results[0]!.hint).toContain('skipped');
    expect(doctorExitCode(results)).toBe(1);
  });

  it('flags a missing watch folder', async () => {
    const { dir, file } = await workspace();
    await rm(path.join(dir, 'astral'), { recursive: true });
    const results = await runChecks(doctorInput(file));
    expect(one(results, 'watch folder')).toMatchObject({ status: 'fail', detail: 'does not exist' });
    expect(one(results, 'watch folder').hint).toContain('instruments.astral1.watch');
    // mount and free space are not checked on a folder that is not there
    expect(rows(results, 'mount')).toEqual([]);
    expect(rows(results, 'free space')).toEqual([]);
  });

  it('flags a watch path that is a file', async () => {
    const { dir, file } = await workspace();
    await rm(path.join(dir, 'astral'), { recursive: true });
    await writeFile(path.join(dir, 'astral'), 'not a folder');
    const results = await runChecks(doctorInput(file));
    expect(one(results, 'watch folder')).toMatchObject({ status: 'fail' });
    expect(one(results, 'watch folder').detail).toContain('not a directory');
  });

  it('flags a watch folder that cannot be listed', async () => {
    const dir = await tmp();
    await chmod(dir, 0o755);
    const locked = path.join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o000);
    if (!isRoot) {
      const { checkWatchFolder } = await import('../src/ops/doctor.ts');
      const r = await checkWatchFolder('astral1', locked);
      expect(r.status).toBe('fail');
      expect(r.detail).toContain('EACCES');
      return;
    }
    // root reads everything: run the check in a child process that obeys permission bits
    const script = path.join(dir, 'check.mjs');
    await writeFile(
      script,
      `const { checkWatchFolder } = await import(${JSON.stringify(path.join(root, 'src/ops/doctor.ts'))});\n` +
        `process.stdout.write(JSON.stringify(await checkWatchFolder('astral1', process.argv[2])));\n`,
    );
    const r = spawnUnprivileged([process.execPath, '--import', 'tsx', script, locked], { cwd: root });
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout) as CheckResult;
    expect(result).toMatchObject({ check: 'watch folder', status: 'fail' });
    expect(result.detail).toMatch(/cannot be listed: EACCES/);
  });

  it('warns about low free space against the instrument minimum', async () => {
    const { file } = await workspace({
      yaml: (d) => `database:
  url: ${testDb.url}
data_dir: ${d}/data
instruments:
  astral1:
    type: thermo
    watch: ./astral
    cleanup:
      enabled: true
      min_free_space_gb: 1000000000
  astral2:
    type: thermo
    watch: ./astral2
    cleanup:
      min_free_space_gb: 1000000000
`,
    });
    await mkdir(path.join(path.dirname(file), 'astral2'));
    const results = await runChecks(doctorInput(file));
    const [r, off] = rows(results, 'free space');
    expect(r!.status).toBe('warn');
    expect(r!.detail).toContain('instruments.astral1.cleanup.min_free_space_gb 1000000000 GB');
    expect(r!.detail).toContain('below the minimum');
    // without cleanup the minimum means nothing (the remover is what frees space towards it)
    expect(off).toMatchObject({ status: 'ok', target: expect.stringMatching(/^astral2: /) });
    expect(off!.detail).toContain(
      'cleanup disabled: instruments.astral2.cleanup.min_free_space_gb does not apply',
    );
  });

  it('flags a backup path that cannot be a folder (under a regular file)', async () => {
    const { dir, file } = await workspace({
      yaml: (d) => `database:
  url: ${testDb.url}
data_dir: ${d}/data
backup:
  path: ./blocker/backup
`,
    });
    await writeFile(path.join(dir, 'blocker'), 'a file where a folder should be');
    const results = await runChecks(doctorInput(file));
    const r = one(results, 'backup path');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain(`${path.join(dir, 'blocker')} is a file`);
    expect(r.hint).toContain('backup.path');
  });

  it('flags an output path that is not writable (a file)', async () => {
    const { dir, file } = await workspace({
      yaml: (d) => `database:
  url: ${testDb.url}
data_dir: ${d}/data
processing:
  output_path: ./out-file
`,
    });
    await writeFile(path.join(dir, 'out-file'), 'x');
    const results = await runChecks(doctorInput(file));
    const r = one(results, 'output path');
    expect(r).toMatchObject({ status: 'fail', detail: 'is a file, not a directory' });
    // a backup path that does not exist yet: a warning (it would be created on the local disk)
    expect(one(results, 'backup path').status).toBe('warn');
  });

  it('flags an unreachable database and skips schema and clock checks', async () => {
    const port = await freePort(); // nothing listens there
    const { file } = await workspace({ dbUrl: `postgres://sluice:hunter2@127.0.0.1:${port}/sluice` });
    const results = await runChecks(doctorInput(file));
    const r = one(results, 'database');
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('cannot connect to the database');
    expect(r.target).toContain('sluice:***@127.0.0.1');
    expect(JSON.stringify(results)).not.toContain('hunter2');
    expect(rows(results, 'schema')).toEqual([]);
    expect(rows(results, 'clock skew')).toEqual([]);
    // the filesystem checks still ran
    expect(one(results, 'watch folder').status).toBe('ok');
    expect(one(results, 'free space').detail).toContain('min_free_space_gb');
  });

  it('flags an old schema (an empty database)', async () => {
    const adminUrl = inject('pgAdminUrl');
    const name = `t_doctor_empty_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${name}`);
    await admin.query(`create database ${name}`);
    await admin.end();
    cleanups.push(async () => {
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    });
    const { file } = await workspace({ dbUrl: adminUrl.replace(/\/postgres$/, `/${name}`) });
    const results = await runChecks(doctorInput(file));
    expect(one(results, 'database').status).toBe('ok');
    const r = one(results, 'schema');
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/at version 0 \(empty database\); this Sluice needs \d+/);
    expect(r.hint).toContain('sluice db migrate');
  });

  it('flags clock skew between host and database: warn above 2 s, fail above 30 s', async () => {
    const skewed = (ms: number) => () => Date.now() + ms;
    expect((await checkClockSkew(testDb.db)).status).toBe('ok');
    const w = await checkClockSkew(testDb.db, skewed(10_000));
    expect(w.status).toBe('warn');
    const shown = Number(/host clock is (\d+\.\d{3}) s ahead of the database's/.exec(w.detail)?.[1]);
    expect(Math.abs(shown - 10)).toBeLessThan(1);
    const f = await checkClockSkew(testDb.db, skewed(-60_000));
    expect(f.status).toBe('fail');
    expect(f.detail).toContain('behind');
    expect(f.hint).toContain('NTP');
  });

  describe('cluster connection', () => {
    async function slurmWorkspace(ssh: (dir: string) => string) {
      return workspace({
        yaml: (d) => `database:
  url: ${testDb.url}
data_dir: ${d}/data
processing:
  executor: slurm
  slurm:
${ssh(d)}`,
      });
    }

    it('flags sinfo that cannot be run (local SLURM, no client tools on PATH)', async () => {
      const { file } = await slurmWorkspace(() => '    partition: main\n');
      const empty = await tmp();
      const results = await runChecks(doctorInput(file, { commandEnv: { PATH: empty } }));
      const r = one(results, 'executor');
      expect(r).toMatchObject({ status: 'fail', target: 'slurm (local)' });
      expect(r.detail).toContain('command not found on this machine: sinfo');
      expect(r.hint).toContain('slurm-client');
    });

    it('flags a world-readable SSH key, a missing known_hosts, and an SSH host that refuses', async () => {
      const port = await freePort(); // closed
      const { dir, file } = await slurmWorkspace(
        (d) => `    ssh:
      hosts: [127.0.0.1:${port}]
      user: sluice
      key_file: ${d}/id_test
      known_hosts: ${d}/known_hosts
      connect_timeout_seconds: 5
`,
      );
      const { privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      await writeFile(path.join(dir, 'id_test'), privateKey, { mode: 0o644 });
      await chmod(path.join(dir, 'id_test'), 0o644);
      const results = await runChecks(doctorInput(file));
      const key = one(results, 'ssh key');
      expect(key).toMatchObject({ status: 'fail' });
      expect(key.detail).toContain('mode 644');
      expect(key.hint).toBe(`chmod 600 ${path.join(dir, 'id_test')}`);
      const kh = one(results, 'known_hosts');
      expect(kh).toMatchObject({ status: 'fail', detail: 'does not exist' });
      expect(kh.hint).toContain(`ssh-keyscan -p ${port} 127.0.0.1`);
      expect(one(results, 'executor').status).toBe('fail');

      // fixed files: the key is private, known_hosts has a line; the host still refuses
      await chmod(path.join(dir, 'id_test'), 0o600);
      await writeFile(
        path.join(dir, 'known_hosts'),
        `[127.0.0.1]:${port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`,
      );
      const again = await runChecks(doctorInput(file));
      expect(one(again, 'ssh key')).toMatchObject({ status: 'ok', detail: 'private (mode 600)' });
      expect(one(again, 'known_hosts').status).toBe('ok');
      const ex = one(again, 'executor');
      expect(ex.status).toBe('fail');
      expect(ex.target).toBe(`slurm (ssh sluice@127.0.0.1:${port})`);
      expect(ex.detail).toMatch(/could not connect over SSH.*ECONNREFUSED/);
    });
  });

  it('checks the secret files the config reads', async () => {
    const { dir, file } = await workspace({
      yaml: (d) => `data_dir: ${d}/data
database:
  url: \${file:./db-url}
`,
    });
    await writeFile(path.join(dir, 'db-url'), `${testDb.url}\n`, { mode: 0o640 });
    await chmod(path.join(dir, 'db-url'), 0o640);
    const results = await runChecks(doctorInput(file));
    expect(one(results, 'database').status).toBe('ok');
    expect(one(results, 'secret file')).toMatchObject({
      status: 'ok',
      target: path.join(dir, 'db-url'),
      detail: 'mode 640 (group may read it)',
    });
    // the loader refuses a world-readable secret file, so doctor reports it as the config failure;
    // the file check itself says the same
    await chmod(path.join(dir, 'db-url'), 0o644);
    const broken = await runChecks(doctorInput(file));
    expect(broken).toHaveLength(1);
    expect(broken[0]!.detail).toContain('is readable by others (mode 644)');
    const direct = await checkSecretFile(path.join(dir, 'db-url'));
    expect(direct).toMatchObject({ status: 'fail', hint: `chmod 600 ${path.join(dir, 'db-url')}` });
  });

  it('checks each database backup strategy: its location, and how old its newest backup is', async () => {
    const closed = await freePort(); // nothing listens there
    const { dir, file } = await workspace({
      yaml: (d) => `database:
  url: ${testDb.url}
  backups:
    - name: nightly
      cron: "0 3 * * *"
      location: { dir: ./dbbackups }
    - name: fresh
      cron: "0 3 * * *"
      location: { dir: ./dbbackups }
    - name: broken
      cron: "0 * * * *"
      location: { dir: ${d}/not-a-dir/db }
    - name: nas
      cron: "0 * * * *"
      location: { dir: ${d}/not-a-dir/nas }
      tags: [nas]
    - name: offsite
      cron: "0 3 * * *"
      location:
        s3: { bucket: b, endpoint: "http://127.0.0.1:${closed}", force_path_style: true, access_key_id: k, secret_access_key: s }
backup:
  path: ${d}/backup
`,
    });
    await writeFile(path.join(dir, 'not-a-dir'), 'a file\n');
    await mkdir(path.join(dir, 'dbbackups'));
    const now = Date.now();
    await writeFile(
      path.join(dir, 'dbbackups', backupFileName('nightly', new Date(now - 3 * 86_400_000))),
      'x',
    );
    await writeFile(path.join(dir, 'dbbackups', backupFileName('fresh', new Date(now - 3_600_000))), 'x');
    const results = await runChecks(doctorInput(file));
    const row = (check: string, strategy: string) => {
      const r = rows(results, check).filter((x) => x.target.startsWith(`${strategy}: `));
      expect(r, `${check} of ${strategy}`).toHaveLength(1);
      return r[0]!;
    };
    expect(row('db backup location', 'nightly').status).toBe('ok');
    expect(row('db backup age', 'nightly')).toMatchObject({ status: 'warn' });
    expect(row('db backup age', 'nightly').detail).toMatch(/newest backup is 3 d old; .* every 24 h/);
    expect(row('db backup age', 'fresh')).toMatchObject({ status: 'ok', detail: 'newest backup 60 min old' });
    expect(row('db backup location', 'broken')).toMatchObject({ status: 'fail' });
    expect(row('db backup location', 'broken').detail).toMatch(/not-a-dir is a file/);
    // pinned to workers that may mount it: only a warning here
    expect(row('db backup location', 'nas')).toMatchObject({ status: 'warn' });
    expect(row('db backup location', 'nas').hint).toMatch(/workers tagged nas/);
    expect(row('db backup location', 'offsite')).toMatchObject({ status: 'fail' });
    expect(row('db backup location', 'offsite').detail).toMatch(/s3:\/\/b\//);

    // a failed last run is a failure, with its reason
    await recordEvent(createDb(testDb.url), {
      subjectType: DB_BACKUP_SUBJECT,
      subjectId: 'fresh',
      actor: 'test',
      to: 'failed',
      reason: 'disk full',
    });
    const again = await runChecks(doctorInput(file));
    const failed = again.find((r) => r.check === 'db backup age' && r.target.startsWith('fresh: '));
    expect(failed).toMatchObject({ status: 'fail' });
    expect(failed!.detail).toMatch(/the last run failed .* ago: disk full/);
  });

  it('the command prints JSON and exits 1 on a failure, without crashing on a broken config', async () => {
    const dir = await tmp();
    const program = new Command('sluice').option('-c, --config <path>').exitOverride();
    registerDoctorCommand(program);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += chunk.toString();
      return true;
    });
    const before = process.exitCode;
    try {
      await program.parseAsync([
        'node',
        'sluice',
        '--config',
        path.join(dir, 'nope.yaml'),
        'doctor',
        '--json',
      ]);
      expect(process.exitCode).toBe(1);
    } finally {
      spy.mockRestore();
      process.exitCode = before;
    }
    const parsed = JSON.parse(out) as { ok: boolean; results: CheckResult[] };
    expect(parsed.ok).toBe(false);
    expect(parsed.results[0]).toMatchObject({ check: 'config', status: 'fail' });
    expect(parsed.results[0]!.detail).toContain('not found');
  });
});

describe('Prometheus metrics', () => {
  let db: Db;
  beforeAll(async () => {
    db = testDb.db;
    await db.exec(
      `insert into pools (name, size) values ('copy', 3), ('cluster', 30) on conflict do nothing`,
    );
    await db.exec(`insert into instruments (id, type, watch_path, online, free_bytes) values
      ('astral1', 'thermo', '/x', true, 123456789), ('tims1', 'bruker', '/y', false, null)`);
    const file = (id: string, inst: string, status: string) =>
      db.exec(
        `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime)
         values ($1, $2, $1, 'file', '/x/' || $1, 'p', $3, 10, now())`,
        [id, inst, status],
      );
    await file('a.raw', 'astral1', 'done');
    await file('b.raw', 'astral1', 'done');
    await file('c.raw', 'astral1', 'backing_up');
    await file('d.d', 'tims1', 'error');
    await db.exec(
      `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes, associated) values
       ('a.raw', 'backup', '/b/a.raw', 'verified', 'sha256', '[]', 1000, false),
       ('b.raw', 'backup', '/b/b.raw', 'verified', 'sha256', '[]', 500, true)`,
    );
    await db.exec(`insert into tasks (kind, subject, pool, run_after) values
      ('backup', 'c.raw', 'copy', now() - interval '90 seconds'),
      ('scan', 'astral1', 'default', now() + interval '1 hour')`);
    await db.exec(`insert into tasks (kind, subject, pool, state, lease_owner, lease_expires_at) values
      ('backup', 'b.raw', 'copy', 'running', 'w1', now() + interval '1 minute')`);
    await db.exec(`insert into jobs (file_id, settings_name, settings_version, key, executor, state, output_dir) values
      ('a.raw', 'dia', 1, 'k1', 'slurm', 'COMPLETED', '/o/1'), ('c.raw', 'dia', 1, 'k2', 'slurm', 'RUNNING', '/o/2')`);
    await db.exec(
      `insert into workers (id, host, pid, role, version) values ('w1', 'h', 1, 'all', 'x'), ('w2', 'h', 2, 'all', 'x')`,
    );
    await db.exec(`update workers set last_heartbeat_at = now() - interval '10 minutes' where id = 'w2'`);
  });

  it('exposes files, queues, pools, bytes, jobs, instruments and workers from the database', async () => {
    const m = createMetricsRegistry(db);
    const text = await m.collect();
    expect(m.registry.contentType).toContain('text/plain');
    expect(text).toContain('sluice_database_up 1');
    expect(text).toContain('sluice_files{status="done",instrument="astral1"} 2');
    expect(text).toContain('sluice_files{status="backing_up",instrument="astral1"} 1');
    expect(text).toContain('sluice_files{status="error",instrument="tims1"} 1');
    expect(text).toContain('sluice_tasks_queued{kind="backup"} 1');
    expect(text).toContain('sluice_tasks_running{kind="backup"} 1');
    expect(text).toContain('sluice_tasks_queued{kind="scan"} 1');
    // the scan task is not runnable yet: it does not count as waiting
    expect(text).toContain('sluice_task_oldest_wait_seconds{kind="scan"} 0');
    const wait = Number(/sluice_task_oldest_wait_seconds\{kind="backup"\} ([\d.]+)/.exec(text)?.[1]);
    expect(wait).toBeGreaterThanOrEqual(89);
    expect(wait).toBeLessThan(200);
    expect(text).toContain('sluice_pool_size{pool="copy"} 3');
    expect(text).toContain('sluice_pool_running{pool="copy"} 1');
    expect(text).toContain('sluice_pool_running{pool="cluster"} 0');
    expect(text).toContain('# TYPE sluice_backup_bytes_total counter');
    expect(text).toContain('sluice_backup_bytes_total 1000');
    expect(text).toContain('sluice_jobs{state="COMPLETED"} 1');
    expect(text).toContain('sluice_jobs{state="RUNNING"} 1');
    expect(text).toContain('sluice_instrument_online{instrument="astral1"} 1');
    expect(text).toContain('sluice_instrument_online{instrument="tims1"} 0');
    expect(text).toContain('sluice_instrument_free_bytes{instrument="astral1"} 123456789');
    expect(text).not.toContain('sluice_instrument_free_bytes{instrument="tims1"}');
    expect(text).toContain('sluice_workers_alive 1');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('follows the database between scrapes: label sets that vanish disappear', async () => {
    const m = createMetricsRegistry(db, { defaultMetrics: false, cacheMs: 0 });
    expect(await m.collect()).toContain('sluice_files{status="backing_up",instrument="astral1"} 1');
    await db.exec(`update files set status = 'backed_up' where id = 'c.raw'`);
    const text = await m.collect();
    expect(text).not.toContain('status="backing_up"');
    expect(text).toContain('sluice_files{status="backed_up",instrument="astral1"} 1');
  });

  it('still answers when the database is down (sluice_database_up 0)', async () => {
    const dead = createDb(`postgres://x:y@127.0.0.1:${await freePort()}/none`, { max: 1 });
    const m = createMetricsRegistry(dead);
    const text = await m.collect();
    expect(text).toContain('sluice_database_up 0');
    expect(text).not.toMatch(/^sluice_files\{/m);
    expect(text).toContain('process_cpu_user_seconds_total');
    await dead.close();
  });
});
