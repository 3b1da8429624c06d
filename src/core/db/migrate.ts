/**
 * Forward-only, numbered SQL migrations in `migrations/NNNN_name.sql`, applied in order.
 * Processes starting together serialise on an advisory lock; the loser finds the work done.
 * A database whose schema is newer than this program is refused with a clear message.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { clientQueryable, type Db, DbLock, type Queryable } from './db.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number.parseInt(f.slice(0, 4), 10),
      name: f.slice(5, -4),
      sql: readFileSync(path.join(dir, f), 'utf8'),
    }));
}

/** The highest migration this program has, from the files' names alone (every command checks it). */
export const schemaVersion = (): number =>
  Math.max(
    0,
    ...readdirSync(dir)
      .filter((f) => /^\d{4}_.+\.sql$/.test(f))
      .map((f) => Number.parseInt(f.slice(0, 4), 10)),
  );

/**
 * The database's schema version in one round trip (0 when no migration ran: the table is missing).
 * What a command checks before it reads (runtime/database.ts); on a pool, so the failed statement
 * of a new database aborts no one's transaction. Other errors (unreachable, refused) are thrown.
 */
export async function recordedVersion(db: Db): Promise<number> {
  try {
    const row = await db.one<{ v: number | null }>('select max(version) as v from sluice_migrations');
    return row.v ?? 0;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return 0; // undefined_table
    throw err;
  }
}

/** Refuses a schema newer than this program (`current`, read by the caller). */
export function checkNotNewer(current: number): void {
  const ours = schemaVersion();
  if (current > ours) throw schemaNewer(current, ours);
}

export async function currentVersion(db: Db): Promise<number> {
  const exists = await db.maybeOne<{ t: string | null }>(
    `select to_regclass('sluice_migrations')::text as t`,
  );
  if (!exists?.t) return 0;
  const row = await db.one<{ v: number | null }>('select max(version) as v from sluice_migrations');
  return row.v ?? 0;
}

function schemaNewer(current: number, ours: number): SluiceError {
  return new SluiceError(
    'db.schema_newer',
    `the database schema is at version ${current}, newer than this Sluice understands (${ours})`,
    {
      hint: 'upgrade this machine to the Sluice version the other machines run, then start it again',
      exitCode: 2,
    },
  );
}

/** Refuses to run against a schema newer than this program knows. */
export async function assertSchemaNotNewer(db: Db): Promise<void> {
  checkNotNewer(await currentVersion(db));
}

export const MIGRATIONS_TABLE_DDL = `create table if not exists sluice_migrations (
  version int primary key, name text not null, applied_at timestamptz not null default now())`;

/**
 * Applies `migrations` in order inside the caller's transaction and records each (with its
 * `applied_at` when given). `sluice db restore` rebuilds a backup's schema level this way, so that
 * a failed restore rolls back as a whole.
 */
export async function applyMigrationsInTx(
  q: Queryable,
  migrations: Migration[],
  appliedAt: (m: Migration) => string | undefined = () => undefined,
): Promise<void> {
  await q.exec(MIGRATIONS_TABLE_DDL);
  for (const m of migrations) {
    try {
      await q.exec(m.sql);
    } catch (err) {
      throw new SluiceError(
        'db.migration_failed',
        `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
    await q.exec(
      'insert into sluice_migrations(version, name, applied_at) values ($1, $2, coalesce($3::timestamptz, now()))',
      [m.version, m.name, appliedAt(m) ?? null],
    );
  }
}

export async function migrate(db: Db, log?: Logger): Promise<{ applied: Migration[]; version: number }> {
  const migrations = loadMigrations();
  const client = await db.pool.connect();
  client.on('error', () => undefined); // a dropped connection surfaces as a failed query below
  const q = clientQueryable(client);
  try {
    await q.exec('select pg_advisory_lock($1, $2)', [DbLock.namespace, DbLock.migrate]);
    await q.exec(MIGRATIONS_TABLE_DDL);
    const done = new Set(
      (await q.query<{ version: number }>('select version from sluice_migrations')).map((r) => r.version),
    );
    const newest = Math.max(0, ...done);
    const ours = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > ours) {
      throw schemaNewer(newest, ours);
    }
    const applied: Migration[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await client.query('begin');
        await client.query(m.sql);
        await client.query('insert into sluice_migrations(version, name) values ($1, $2)', [
          m.version,
          m.name,
        ]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw new SluiceError(
          'db.migration_failed',
          `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
          {
            hint: 'nothing of this migration was applied; fix the cause and start again',
            cause: err,
          },
        );
      }
      log?.info({ version: m.version, migration: m.name }, 'applied migration');
      applied.push(m);
    }
    return { applied, version: Math.max(newest, ...applied.map((m) => m.version)) };
  } finally {
    await q
      .exec('select pg_advisory_unlock($1, $2)', [DbLock.namespace, DbLock.migrate])
      .catch(() => undefined);
    client.release();
  }
}
