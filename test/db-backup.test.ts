// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the configs below use ${...} secrets on purpose
/**
 * Database backups and restore against real PostgreSQL and a real S3 API (s3rver): the CLI round
 * trip, refusals (non-empty database, damaged or truncated files, newer schemas, running
 * processes), strategies run by the engine with retention, S3 locations, and config errors.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressPrinter } from '../src/cli/progress.ts';
import { configSchema } from '../src/core/config/index.ts';
import { applyMigrationsInTx, loadMigrations, schemaVersion } from '../src/core/db/migrate.ts';
import { silentLogger } from '../src/core/log.ts';
import { Variables } from '../src/core/variables.ts';
import { ensureSchedules } from '../src/engine/schedules.ts';
import { Worker } from '../src/engine/worker.ts';
import type { Notifier } from '../src/ops/alerts/notifiers.ts';
import type { Alert } from '../src/ops/alerts/rules.ts';
import { runAlerts } from '../src/ops/alerts/run.ts';
import { objectsCreatedBy } from '../src/ops/db-backup/catalog.ts';
import { writeDump } from '../src/ops/db-backup/dump.ts';
import { backupFileName, parseBackupFileName } from '../src/ops/db-backup/format.ts';
import {
  type BackupEntry,
  DirLocation,
  fileSource,
  S3Location,
  s3Client,
} from '../src/ops/db-backup/locations.ts';
import { restoreDump } from '../src/ops/db-backup/restore.ts';
import { expiredBackups } from '../src/ops/db-backup/retention.ts';
import { dbBackupHandler, dbBackupSchedules, runStrategy } from '../src/ops/db-backup/strategy.ts';
import { createMetricsRegistry } from '../src/ops/prometheus.ts';
import { collect, SCHEDULE_PREFIXES } from '../src/runtime/handlers.ts';
import { sluice } from './helpers/cli.ts';
import { createTestDb } from './helpers/db.ts';
import { blankDb, COPY_COUNTS, parseDumpFile, seed, snapshot, writeDumpFile } from './helpers/db-backup.ts';

type TestDb = Awaited<ReturnType<typeof createTestDb>>;

let dir: string;
let source: TestDb;
let sourceSnapshot: Record<string, string[]>;
const cleanups: (() => Promise<void>)[] = [];
let s3: S3rver;
let s3Endpoint: string;

const DAY = 86_400_000;

/** A config file in `dir` (its own name) for the CLI. */
async function configFile(name: string, yamlText: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, yamlText);
  return file;
}

function envFor(url: string, config: string): Record<string, string> {
  return { DATABASE_URL: url, SLUICE_CONFIG: config, SLUICE_ACTOR: 'tester' };
}

async function target(): Promise<TestDb> {
  const t = await createTestDb();
  cleanups.push(t.drop);
  return t;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-dbbackup-'));
  source = await createTestDb();
  cleanups.push(source.drop);
  await seed(source.db);
  // a server or database set to day-month dates must not swap them on a restore elsewhere
  const dbName = new URL(source.url).pathname.slice(1);
  await source.db.exec(`alter database ${dbName} set datestyle = 'SQL, DMY'`);
  await source.db.exec(`alter database ${dbName} set extra_float_digits = -15`);
  sourceSnapshot = await snapshot(source.db);

  await mkdir(path.join(dir, 's3'));
  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(dir, 's3'),
    configureBuckets: [{ name: 'lab-backups', configs: [] }],
  });
  const addr = (await s3.run()) as AddressInfo;
  s3Endpoint = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  await s3?.close();
  for (const c of cleanups.reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

describe('catalog', () => {
  it('the objects parsed from the migrations are exactly the tables and functions a migrated database holds', async () => {
    const objects = objectsCreatedBy();
    const tables = await source.db.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = current_schema() and c.relkind in ('r', 'p') and c.relname <> 'sluice_migrations'
         and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e') order by 1`,
    );
    const functions = await source.db.query<{ name: string }>(
      `select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = current_schema()
         and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e') order by 1`,
    );
    expect(
      objects
        .filter((o) => o.kind === 'table')
        .map((o) => o.name)
        .sort(),
    ).toEqual(tables.map((t) => t.name));
    expect(
      objects
        .filter((o) => o.kind === 'function')
        .map((o) => o.name)
        .sort(),
    ).toEqual(functions.map((f) => f.name));
  });
});

describe('round trip through the CLI', () => {
  let file: string;
  let config: string;

  beforeAll(async () => {
    config = await configFile('plain.yaml', 'data_dir: ./data\n');
  });

  it('sluice db backup --output writes a complete backup and reports progress on stderr', async () => {
    file = path.join(dir, 'manual', 'before-upgrade.sluicedump');
    await mkdir(path.dirname(file));
    const r = await sluice(['db', 'backup', '--output', file, '--json'], { env: envFor(source.url, config) });
    expect(r.stderr).toMatch(/backup: table \d+\/\d+ files done; \d+ rows/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.file).toBe(file);
    expect(out.strategy).toBeNull();
    expect(out.schema_version).toBe(schemaVersion());
    expect(out.rows).toBe(
      Object.entries(sourceSnapshot)
        .filter(([t]) => t !== 'sluice_migrations' && t !== COPY_COUNTS)
        .reduce((n, [, rows]) => n + rows.length, 0),
    );
    expect((await readFile(file)).length).toBe(out.bytes);
    expect((await readdir(path.dirname(file))).sort()).toEqual(['before-upgrade.sluicedump']); // no temp left
    const parsed = await parseDumpFile(file);
    expect(parsed.header.tables.map((t) => t.name)).not.toContain('workers');
    expect(parsed.header.tables.map((t) => t.name)).not.toContain('sluice_migrations');
    expect(parsed.header.tables.map((t) => t.name)).not.toContain('copy_counts');
    expect(sourceSnapshot[COPY_COUNTS]!.length).toBeGreaterThan(0);
    // foreign-key-safe order: files before the tables that reference them
    const order = parsed.header.tables.map((t) => t.name);
    expect(order.indexOf('files')).toBeLessThan(order.indexOf('copies'));
    expect(order.indexOf('jobs')).toBeLessThan(order.indexOf('metrics'));
    expect(order.indexOf('users')).toBeLessThan(order.indexOf('sessions'));
  });

  it('refuses to overwrite an existing --output file (exit 2, naming it)', async () => {
    const r = await sluice(['db', 'backup', '--output', file], { env: envFor(source.url, config) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--output ${file} already exists`);
  });

  it('restores into a database without a schema: every table, every row, the migrations and the sequences', async () => {
    const t = await blankDb();
    cleanups.push(t.drop);
    const r = await sluice(['db', 'restore', file, '--json'], { env: envFor(t.url, config) });
    expect(r.stderr).toMatch(/verify: table/);
    expect(r.stderr).toMatch(/restore: table/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      dry_run: false,
      schema_from: schemaVersion(),
      schema_to: schemaVersion(),
      upgraded: [],
    });
    expect(await snapshot(t.db)).toEqual(sourceSnapshot);
    expect(await t.db.query('select * from workers')).toEqual([]);
    // the restored sequences continue after the source's (a pruned task's id is not handed out again)
    const srcLast = await source.db.one<{ v: string }>(`select last_value::text as v from tasks_id_seq`);
    const id = await t.db.one<{ id: string }>(`insert into tasks (kind) values ('noop') returning id`);
    expect(BigInt(id.id)).toBe(BigInt(srcLast.v) + 1n);
    // the applied_at of each migration is the original one
    const a = await source.db.query('select version, name, applied_at from sluice_migrations order by 1');
    const b = await t.db.query('select version, name, applied_at from sluice_migrations order by 1');
    expect(b).toEqual(a);
  });

  it('restores into a freshly migrated, empty database too', async () => {
    const t = await target();
    const r = await sluice(['db', 'restore', file], { env: envFor(t.url, config) });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^restored .*before-upgrade\.sluicedump \(made .* by Sluice 0\.1\.0, schema \d+\): \d+ tables, [\d,]+ rows/,
    );
    expect(await snapshot(t.db)).toEqual(sourceSnapshot);
  });

  it('refuses a database that holds data without --force (exit 2, naming what it holds), and replaces it with --force', async () => {
    const t = await target();
    await t.db.exec(
      `insert into instruments (id, type, watch_path) values ('x', 'thermo', '/x');
       insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime)
       values ('other.raw', 'x', 'other.raw', 'file', '/x/other.raw', 'P', 'done', 1, now())`,
    );
    const before = await snapshot(t.db);
    const refused = await sluice(['db', 'restore', file], { env: envFor(t.url, config) });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /the database already holds data \(files: 1\); a restore replaces all of it/,
    );
    expect(refused.stderr).toMatch(/--force/);
    expect(await snapshot(t.db)).toEqual(before);

    const dry = await sluice(['db', 'restore', file, '--dry-run', '--json'], { env: envFor(t.url, config) });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, replaced: [{ table: 'files', rows: 1 }] });
    expect(await snapshot(t.db)).toEqual(before);

    const forced = await sluice(['db', 'restore', file, '--force'], { env: envFor(t.url, config) });
    expect(forced.code).toBe(0);
    expect(await snapshot(t.db)).toEqual(sourceSnapshot);
  });

  it('refuses while a Sluice process is running against the database, even with --force', async () => {
    const t = await target();
    await t.db.exec(
      `insert into workers (id, host, pid, role, version) values ('live-1', 'app', 123, 'worker', '0.1.0')`,
    );
    const r = await sluice(['db', 'restore', file, '--force'], { env: envFor(t.url, config) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/1 Sluice process is running against this database \(live-1 \(worker\)\)/);
    expect(r.stderr).toMatch(/stop every Sluice process first/);
    expect(await t.db.query('select id from files')).toEqual([]);
  });

  describe('damaged backups are refused and the database is left as it was', () => {
    let t: TestDb;
    let before: Record<string, string[]>;
    beforeAll(async () => {
      t = await target();
      await t.db.exec(
        `insert into variable_overrides (name, value, updated_by) values ('stuck_file_minutes', '5', 'me')`,
      );
      before = await snapshot(t.db);
    });

    async function restoreFails(bad: string, message: RegExp): Promise<void> {
      const r = await sluice(['db', 'restore', bad, '--force'], { env: envFor(t.url, config) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/is not a usable Sluice database backup/);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/the database was not changed/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await snapshot(t.db)).toEqual(before);
    }

    it('a truncated file (cut at half, and just before its end)', async () => {
      const size = (await readFile(file)).length;
      for (const [name, length] of [
        ['half.sluicedump', Math.floor(size / 2)],
        ['short.sluicedump', size - 3],
      ] as const) {
        const cut = path.join(dir, name);
        await writeFile(cut, await readFile(file));
        await truncate(cut, length);
        await restoreFails(cut, /ends early|cut short/);
      }
    });

    it('a file with one changed byte', async () => {
      const bytes = await readFile(file);
      bytes[Math.floor(bytes.length * 0.6)]! ^= 0x55;
      const bad = path.join(dir, 'flipped.sluicedump');
      await writeFile(bad, bytes);
      await restoreFails(bad, /damaged|does not match/);
    });

    it('a row changed inside valid gzip (the table checksum catches it)', async () => {
      const d = await parseDumpFile(file);
      const i = d.header.tables.findIndex((x) => x.name === 'files');
      const row = d.tables[i]![3]!;
      d.tables[i]![3] = row.replace('.raw', '.RAW');
      expect(d.tables[i]![3]).not.toBe(row);
      const bad = path.join(dir, 'edited.sluicedump');
      await writeDumpFile(bad, d, { keepTrailer: true });
      await restoreFails(bad, /the data of table files does not match its checksum/);
    });

    it('something that is not a backup at all', async () => {
      const bad = path.join(dir, 'notes.txt');
      await writeFile(bad, 'hello\n');
      await restoreFails(bad, /not a gzip file/);
    });

    it('a backup whose checksums match but whose rows break a constraint: the load rolls back', async () => {
      const d = await parseDumpFile(file);
      const i = d.header.tables.findIndex((x) => x.name === 'events');
      d.tables[i]!.push(d.tables[i]![0]!); // a duplicate primary key
      const bad = path.join(dir, 'duplicate.sluicedump');
      await writeDumpFile(bad, d);
      const r = await sluice(['db', 'restore', bad, '--force'], { env: envFor(t.url, config) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/duplicate key value violates unique constraint "events_pkey"/);
      expect(await snapshot(t.db)).toEqual(before);
      // and the connection pool is healthy for the next restore
      const ok = await sluice(['db', 'restore', file, '--force'], { env: envFor(t.url, config) });
      expect(ok.code).toBe(0);
      expect(await snapshot(t.db)).toEqual(sourceSnapshot);
    });
  });

  it('refuses a backup made by a newer Sluice (exit 2: upgrade first)', async () => {
    const d = await parseDumpFile(file);
    d.header.migrations.push({ version: 9999, name: 'future' });
    const newer = path.join(dir, 'newer.sluicedump');
    await writeDumpFile(newer, d);
    const t = await target();
    const r = await sluice(['db', 'restore', newer], { env: envFor(t.url, config) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/was made by a newer Sluice \(0\.1\.0\): its schema has migration 9999_future/);
    expect(r.stderr).toMatch(/upgrade Sluice .* first, then restore/);
  });

  it('usage errors exit 2 and name the argument', async () => {
    const env = envFor(source.url, config);
    const missing = await sluice(['db', 'restore', path.join(dir, 'nope.sluicedump')], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/FILE .*nope\.sluicedump does not exist/);
    const noArg = await sluice(['db', 'restore'], { env });
    expect(noArg.code).toBe(2);
    expect(noArg.stderr).toMatch(/missing required argument 'file'/);
    const none = await sluice(['db', 'backup'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no backup strategy is configured: give --output FILE/);
    const unknownS3 = await sluice(['db', 'restore', 's3://elsewhere/x.sluicedump'], { env });
    expect(unknownS3.code).toBe(2);
    expect(unknownS3.stderr).toMatch(/no strategy under database.backups uses bucket elsewhere/);
    const help = await sluice(['db', 'backup', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--strategy <name>/);
    expect(help.stdout).toMatch(/--output <file>/);
  });
});

describe('older backups', () => {
  it('a backup from an older schema is restored at its level, then migrated to this version', async () => {
    const ours = loadMigrations();
    const old = await blankDb();
    cleanups.push(old.drop);
    await old.db.tx((tx) => applyMigrationsInTx(tx, ours.slice(0, -1)));
    await old.db.exec(
      `insert into instruments (id, type, watch_path) values ('astral1', 'thermo', '/mnt/a');
       insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime)
       values ('a.raw', 'astral1', 'a.raw', 'file', '/mnt/a/a.raw', 'P1', 'done', 10, now())`,
    );
    const file = path.join(dir, 'old.sluicedump');
    await new DirLocation(dir).write('old.sluicedump', (out) => writeDump(old.db, out, { version: '0.0.9' }));
    const t = await blankDb();
    cleanups.push(t.drop);
    const r = await restoreDump(t.db, await fileSource(file));
    const last = ours.at(-1)!;
    expect(r.fromVersion).toBe(ours.at(-2)!.version);
    expect(r.toVersion).toBe(last.version);
    expect(r.upgraded).toEqual([`${String(last.version).padStart(4, '0')}_${last.name}`]);
    expect(
      (await t.db.query('select version from sluice_migrations order by 1')).map((x) => x.version),
    ).toEqual(ours.map((m) => m.version));
    expect(await t.db.query('select id, status from files')).toEqual([{ id: 'a.raw', status: 'done' }]);
  });
});

describe('retention', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  const entry = (daysAgo: number): BackupEntry => {
    const createdAt = new Date(now.getTime() - daysAgo * DAY);
    const name = backupFileName('nightly', createdAt);
    return { name, ref: name, size: 1, createdAt };
  };
  const names = (e: BackupEntry[]) => e.map((x) => x.name);
  const all = [0, 1, 2, 5, 10].map(entry);

  it('keep_last keeps the newest N; max_age_days drops older ones; either rule deletes; none keeps all', () => {
    expect(names(expiredBackups(all, { keep_last: 2 }, all[0]!.name, now))).toEqual(names(all.slice(2)));
    expect(names(expiredBackups(all, { max_age_days: 3 }, all[0]!.name, now))).toEqual(names(all.slice(3)));
    expect(names(expiredBackups(all, { keep_last: 4, max_age_days: 3 }, all[0]!.name, now))).toEqual(
      names(all.slice(3)),
    );
    expect(expiredBackups(all, {}, all[0]!.name, now)).toEqual([]);
  });

  it('never deletes the backup just written, even when the clock says it is old', () => {
    const justWritten = all[4]!; // e.g. the clock jumped
    expect(names(expiredBackups(all, { keep_last: 1, max_age_days: 1 }, justWritten.name, now))).toEqual(
      names(all.slice(1, 4)),
    );
  });

  it('file names: only the strategy’s own backups parse', () => {
    const n = backupFileName('nightly', now);
    expect(n).toBe('sluice-nightly-20260310T120000.000Z.sluicedump');
    expect(parseBackupFileName('nightly', n)).toEqual(now);
    expect(parseBackupFileName('night', n)).toBeUndefined();
    expect(parseBackupFileName('nightly', `${n}.partial-0123456789ab`)).toBeUndefined();
    expect(
      parseBackupFileName('nightly', 'sluice-nightly-x-20260310T120000.000Z.sluicedump'),
    ).toBeUndefined();
    expect(parseBackupFileName('nightly', 'sluice-nightly-20261310T120000.000Z.sluicedump')).toBeUndefined();
  });
});

describe('strategies run by the engine', () => {
  let count: string;
  let age: string;
  let broken: string;
  const now = Date.now();
  const old = (daysAgo: number, strategy: string) => backupFileName(strategy, new Date(now - daysAgo * DAY));
  const STALE = `.${old(30, 'count')}.partial-0123456789ab`;
  const FRESH = `.${old(0.01, 'count')}.partial-abcdef012345`;
  const FOREIGN = (s: string) => [
    'notes.txt',
    `sluice-${s}-garbage.sluicedump`,
    `sluice-${s}-x-20200101T000000.000Z.sluicedump`,
    'sluice-other-20200101T000000.000Z.sluicedump',
  ];

  beforeAll(async () => {
    count = path.join(dir, 'by-count');
    age = path.join(dir, 'by-age');
    for (const [d, s] of [
      [count, 'count'],
      [age, 'age'],
    ] as const) {
      await mkdir(d);
      for (const f of [...FOREIGN(s), ...[1, 2, 5, 10].map((n) => old(n, s))])
        await writeFile(path.join(d, f), 'x');
    }
    // temporary files of killed runs: an old one (removed by the next run) and a fresh one (kept:
    // another run may still be writing it)
    await writeFile(path.join(count, STALE), 'partial');
    await utimes(path.join(count, STALE), new Date(now - 2 * 3_600_000), new Date(now - 2 * 3_600_000));
    await writeFile(path.join(count, FRESH), 'partial');
    broken = path.join(dir, 'a-file');
    await writeFile(broken, 'not a directory');
  });

  it('each strategy runs on its cron schedule through a worker, writes a backup and applies its retention', async () => {
    const t = await target();
    await seed(t.db, 10);
    const config = configSchema.parse({
      environment: 'local',
      database: {
        backups: [
          { name: 'count', cron: '0 3 * * *', location: { dir: count }, retention: { keep_last: 2 } },
          { name: 'age', cron: '0 3 * * *', location: { dir: age }, retention: { max_age_days: 3 } },
          { name: 'broken', cron: '0 3 * * *', location: { dir: path.join(broken, 'sub') } },
          { name: 'manual', cron: '0 3 * * *', location: { dir: path.join(dir, 'never') }, enabled: false },
        ],
      },
    });
    // what `sluice start` registers for this config
    const stage = collect(config, new Variables(t.db, {}), {
      baseDir: dir,
      executor: () => Promise.reject(new Error('no executor in this test')),
    });
    expect(stage.handlers.map((h) => h.kind)).toContain('db.backup');
    expect(stage.schedules.filter((x) => x.kind === 'db.backup')).toEqual(dbBackupSchedules(config));
    expect(SCHEDULE_PREFIXES).toContain('db.backup:');
    await ensureSchedules(t.db, dbBackupSchedules(config));
    // the period arrives: make every schedule due now (the engine, not the test, runs them)
    await t.db.exec(`update schedules set next_run_at = now() where name like 'db.backup:%'`);
    const worker = new Worker({
      db: t.db,
      log: silentLogger,
      handlers: [dbBackupHandler({ config, version: '0.1.0' })],
      pollMs: 100,
      scheduleTickMs: 100,
      backoffBaseMs: 10,
    });
    await worker.start();
    try {
      for (;;) {
        // one query: counted apart, a task created between the two counts looked finished
        const { open, seen } = await t.db.one<{ open: number; seen: number }>(
          `select count(*) filter (where state in ('queued', 'running'))::int as open, count(*)::int as seen
           from tasks where kind = 'db.backup'`,
        );
        if (seen >= 3 && open === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await worker.stop();
    }
    const tasks = await t.db.query<{
      subject: string;
      state: string;
      attempts: number;
      last_error: string | null;
    }>(`select subject, state, attempts, last_error from tasks where kind = 'db.backup' order by subject`);
    expect(tasks.map((x) => [x.subject, x.state])).toEqual([
      ['db.backup:age', 'succeeded'],
      ['db.backup:broken', 'failed'],
      ['db.backup:count', 'succeeded'],
    ]);
    expect(tasks[1]!.attempts).toBe(3);
    expect(tasks[1]!.last_error).toMatch(/cannot create database backups in .*a-file\/sub: ENOTDIR/);

    const written = async (d: string, s: string) =>
      (await readdir(d)).filter((f) => !FOREIGN(s).includes(f) && !f.startsWith('.')).sort();
    expect(await readdir(count)).not.toContain(STALE);
    expect(await readdir(count)).toContain(FRESH);
    const countFiles = await written(count, 'count');
    // keep_last 2: the new backup and the 1-day-old one
    expect(countFiles).toHaveLength(2);
    expect(countFiles[0]).toBe(old(1, 'count'));
    const ageFiles = await written(age, 'age');
    // max_age_days 3: the new one, 1 and 2 days old
    expect(ageFiles).toHaveLength(3);
    expect(ageFiles.slice(0, 2)).toEqual([old(2, 'age'), old(1, 'age')]);
    // foreign files are untouched
    for (const [d, s] of [
      [count, 'count'],
      [age, 'age'],
    ] as const) {
      const left = await readdir(d);
      for (const f of FOREIGN(s)) expect(left).toContain(f);
    }
    // the engine's backup restores to the same content
    const newest = path.join(count, countFiles[1]!);
    const restored = await blankDb();
    cleanups.push(restored.drop);
    await restoreDump(restored.db, await fileSource(newest));
    const a = await snapshot(restored.db);
    const b = await snapshot(t.db);
    // the backup's own task was running when the snapshot was taken; everything else is identical
    for (const table of Object.keys(b))
      if (!['tasks', 'events', 'schedules'].includes(table)) expect(a[table]).toEqual(b[table]);

    // visible: events for every run, and the failed strategy raises the backup_failure alert
    const events = await t.db.query<{ subject_id: string; to_state: string; reason: string | null }>(
      `select subject_id, to_state, reason from events where subject_type = 'db_backup' order by id`,
    );
    expect(events.filter((e) => e.subject_id === 'broken').map((e) => e.to_state)).toEqual([
      'failed',
      'failed',
      'failed',
    ]);
    expect(
      events
        .filter((e) => e.subject_id !== 'broken')
        .map((e) => `${e.subject_id}:${e.to_state}`)
        .sort(),
    ).toEqual(['age:succeeded', 'count:succeeded']);
    const got: Alert[][] = [];
    const capture: Notifier = {
      name: 'capture',
      async send(alerts) {
        got.push(alerts);
      },
    };
    const report = await runAlerts(t.db, config, new Variables(t.db, {}), silentLogger, new Date(), {
      notifiers: [capture],
    });
    const alert = report.sent.find(
      (x) => x.rule === 'backup_failure' && x.subject === 'task:db.backup:broken',
    );
    expect(alert?.text).toMatch(/ENOTDIR/);
    expect(await readdir(dir)).not.toContain('never');
    const metrics = await createMetricsRegistry(t.db, { defaultMetrics: false }).collect();
    expect(metrics).toContain('sluice_db_backup_failures_total{strategy="broken"} 3');
    expect(metrics).toContain('sluice_db_backup_failures_total{strategy="count"} 0');
    const last = Number(
      /sluice_db_backup_last_success_timestamp_seconds\{strategy="count"\} ([\d.e+]+)/.exec(metrics)?.[1],
    );
    expect(Math.abs(last * 1000 - Date.now())).toBeLessThan(600_000);
    expect(metrics).not.toContain('sluice_db_backup_last_success_timestamp_seconds{strategy="broken"}');
  });
});

describe('S3 location (s3rver)', () => {
  let config: string;
  const PREFIX = 'sluice/db/';
  const client = () =>
    s3Client({
      bucket: 'lab-backups',
      prefix: PREFIX,
      endpoint: s3Endpoint,
      region: 'us-east-1',
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
    });
  const keys = async () =>
    ((await client().send(new ListObjectsV2Command({ Bucket: 'lab-backups' }))).Contents ?? [])
      .map((o) => o.Key!)
      .sort();

  beforeAll(async () => {
    const secret = path.join(dir, 's3-secret');
    await writeFile(secret, 'S3RVER\n');
    await chmod(secret, 0o600);
    config = await configFile(
      's3.yaml',
      `data_dir: ./data
database:
  backups:
    - name: offsite
      cron: "30 2 * * *"
      location:
        s3:
          bucket: lab-backups
          prefix: ${PREFIX}
          endpoint: ${s3Endpoint}
          force_path_style: true
          access_key_id: \${S3_KEY_ID}
          secret_access_key: \${file:${secret}}
      retention:
        keep_last: 2
`,
    );
    const c = client();
    for (const k of [
      `${PREFIX}${backupFileName('offsite', new Date(Date.now() - 3 * DAY))}`,
      `${PREFIX}${backupFileName('offsite', new Date(Date.now() - 2 * DAY))}`,
      `${PREFIX}${backupFileName('offsite', new Date(Date.now() - DAY))}`,
      `${PREFIX}readme.txt`,
      `other/${backupFileName('offsite', new Date(Date.now() - 9 * DAY))}`,
    ]) {
      await c.send(new PutObjectCommand({ Bucket: 'lab-backups', Key: k, Body: 'x' }));
    }
  });

  it('backs up to the bucket, lists, applies retention only to its own keys, and restores from s3://', async () => {
    const env = { ...envFor(source.url, config), S3_KEY_ID: 'S3RVER' };
    const before = await keys();
    const b = await sluice(['db', 'backup', '--json'], { env }); // the only strategy
    expect(b.stderr).not.toMatch(/error/i);
    expect(b.code).toBe(0);
    const out = JSON.parse(b.stdout);
    expect(out.strategy).toBe('offsite');
    expect(out.file).toMatch(
      /^s3:\/\/lab-backups\/sluice\/db\/sluice-offsite-\d{8}T\d{6}\.\d{3}Z\.sluicedump$/,
    );
    // keep_last 2: the new one and yesterday's
    expect(out.deleted).toEqual([
      `s3://lab-backups/${before.filter((k) => k.startsWith(`${PREFIX}sluice-offsite`))[1]}`,
      `s3://lab-backups/${before.filter((k) => k.startsWith(`${PREFIX}sluice-offsite`))[0]}`,
    ]);
    const after = await keys();
    expect(after).toContain(`${PREFIX}readme.txt`);
    expect(after.filter((k) => k.startsWith('other/'))).toHaveLength(1);
    expect(after.filter((k) => k.startsWith(`${PREFIX}sluice-offsite`))).toHaveLength(2);

    const list = await sluice(['db', 'backups', '--json'], { env });
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout);
    expect(listed).toHaveLength(1);
    expect(listed[0].strategy).toBe('offsite');
    expect(listed[0].last_run.state).toBe('succeeded');
    expect(listed[0].backups.map((x: { file: string }) => x.file)[0]).toBe(out.file);
    expect(listed[0].backups[0].bytes).toBe(out.bytes);

    const t = await blankDb();
    cleanups.push(t.drop);
    const r = await sluice(['db', 'restore', out.file], { env: { ...env, DATABASE_URL: t.url } });
    expect(r.code).toBe(0);
    const got = await snapshot(t.db);
    const want = await snapshot(source.db); // the source gained the backup's own event since
    expect(got).toEqual({ ...want, events: want.events!.filter((e) => !e.includes('"db_backup"')) });

    await client().send(new DeleteObjectCommand({ Bucket: 'lab-backups', Key: `${PREFIX}readme.txt` }));
    const gone = await sluice(['db', 'restore', `s3://lab-backups/${PREFIX}nope.sluicedump`], {
      env: { ...env, DATABASE_URL: t.url },
    });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/nope\.sluicedump does not exist/);
  });
});

describe('S3 location: large backups and failures', () => {
  const cfg = () => ({
    bucket: 'lab-backups',
    prefix: 'big/',
    endpoint: s3Endpoint,
    region: 'us-east-1',
    force_path_style: true,
    access_key_id: 'S3RVER',
    secret_access_key: 'S3RVER',
  });

  it('a backup larger than one upload part streams up in parts and restores', async () => {
    const t = await target();
    // ~8 MiB of incompressible data: more than one 5 MiB part
    for (let i = 0; i < 120; i++) {
      await t.db.exec(
        `insert into events (subject_type, subject_id, actor, data) values ('file', $1, 'bulk', $2::jsonb)`,
        [`big${i}`, JSON.stringify({ blob: randomBytes(50_000).toString('base64') })],
      );
    }
    const location = new S3Location(cfg(), 5 * 1024 * 1024);
    const name = backupFileName('big', new Date());
    const { result, ref } = await location.write(name, (out) => writeDump(t.db, out, { version: '0.1.0' }));
    expect(result.fileBytes).toBeGreaterThan(5 * 1024 * 1024);
    const [listed] = await location.list('big');
    expect(listed).toMatchObject({ name, ref, size: result.fileBytes });
    const restored = await blankDb();
    cleanups.push(restored.drop);
    await restoreDump(restored.db, await location.source(name));
    expect(await snapshot(restored.db)).toEqual(await snapshot(t.db));
  });

  it('an unreachable store fails the backup: an error naming the location, a log line naming the strategy, a failed event', async () => {
    const t = await target();
    const config = configSchema.parse({
      environment: 'local',
      database: {
        backups: [
          { name: 'away', cron: '0 3 * * *', location: { s3: { ...cfg(), endpoint: 'http://127.0.0.1:9' } } },
        ],
      },
    });
    const logged: unknown[] = [];
    const log = {
      ...silentLogger,
      child: (bindings: object) => ({
        ...silentLogger,
        error: (o: object, msg: string) => logged.push({ ...bindings, ...o, msg }),
      }),
    };
    await expect(
      runStrategy(t.db, config.database.backups[0]!, {
        version: '0.1.0',
        log: log as never,
        actor: 'tester',
      }),
    ).rejects.toThrow(/cannot upload database backups in s3:\/\/lab-backups\/big\//);
    expect(logged).toEqual([expect.objectContaining({ strategy: 'away', msg: 'database backup failed' })]);
    const ev = await t.db.one<{ subject_id: string; to_state: string; reason: string }>(
      `select subject_id, to_state, reason from events where subject_type = 'db_backup'`,
    );
    expect(ev).toMatchObject({ subject_id: 'away', to_state: 'failed' });
    expect(ev.reason).toMatch(/ECONNREFUSED/);
  });
});

describe('progress on a terminal', () => {
  it('redraws one line in place and clears it at the end', () => {
    let text = '';
    const out = {
      isTTY: true,
      columns: 120,
      write: (s: string) => (text += s),
    } as unknown as NodeJS.WriteStream;
    const p = progressPrinter(out);
    p.update({
      phase: 'restore',
      tablesDone: 19,
      tablesTotal: 19,
      rows: 1234,
      bytes: 10,
      fileBytes: 50,
      fileTotal: 100,
      table: 'users',
      tableDone: true,
    });
    p.finish();
    expect(text).toContain(
      'restore [############------------]  50%  tables 19/19  1,234 rows  50 B/100 B  users',
    );
    expect(text.endsWith('\r\x1b[K')).toBe(true);
    expect(text).not.toContain('\n');
  });
});

describe('configuration', () => {
  it('a bad strategy is a config error (exit 2) naming the field', async () => {
    const bad = await configFile(
      'bad.yaml',
      `database:
  backups:
    - name: nightly
      cron: "every night"
      location: {dir: ./x, s3: {bucket: b}}
      retention: {keep_last: 0}
`,
    );
    const r = await sluice(['--config', bad, 'config', 'check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:4:13: database.backups[0].cron: expected a cron expression`);
    expect(r.stderr).toContain('database.backups[0].location: expected exactly one of dir');
    expect(r.stderr).toContain(
      'database.backups[0].retention.keep_last: expected a positive integer, found 0',
    );
  });

  it('--strategy with an unknown name exits 2 and lists the configured ones; --strategy with --output exits 2', async () => {
    const config = await configFile(
      'two.yaml',
      `database:
  backups:
    - {name: a, cron: "0 1 * * *", location: {dir: ./a}}
    - {name: b, cron: "0 2 * * *", location: {dir: ./b}}
`,
    );
    const env = envFor(source.url, config);
    const r = await sluice(['db', 'backup', '--strategy', 'nightly'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--strategy nightly: no such backup strategy \(configured: a, b\)/);
    const both = await sluice(['db', 'backup', '--strategy', 'a', '--output', 'x'], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/either --strategy NAME or --output FILE, not both/);
    const several = await sluice(['db', 'backup'], { env });
    expect(several.code).toBe(2);
    expect(several.stderr).toMatch(/several backup strategies are configured \(a, b\)/);
    const list = await sluice(['db', 'backups', '--strategy', 'zzz'], { env });
    expect(list.code).toBe(2);
  });

  it('sluice db backups lists what it can reach and exits 1 naming the location it cannot', async () => {
    await mkdir(path.join(dir, 'listed'));
    await writeFile(path.join(dir, 'listed', backupFileName('here', new Date(Date.now() - DAY))), 'x');
    const config = await configFile(
      'mixed.yaml',
      `database:
  backups:
    - {name: here, cron: "0 1 * * *", location: {dir: ./listed}}
    - name: away
      cron: "0 2 * * *"
      location: {s3: {bucket: b, endpoint: "http://127.0.0.1:9", force_path_style: true, access_key_id: k, secret_access_key: s}}
`,
    );
    const r = await sluice(['db', 'backups'], { env: envFor(source.url, config) });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^here → .*listed \(never run\)\nFILE +SIZE +CREATED +AGE\n.*sluice-here-\S+\.sluicedump +1 B +\S+ \S+ +24 h ago/m,
    );
    expect(r.stdout).toMatch(/^away → s3:\/\/b\/ \(never run\)$/m);
    expect(r.stderr).toMatch(/error: cannot list database backups in s3:\/\/b\/: .*ECONNREFUSED/);
  });
});
