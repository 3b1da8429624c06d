/**
 * Restores a backup (format: ./format.ts) into the database. In order:
 *
 * 1. Read the header: refuse a backup whose schema has migrations this Sluice does not know (made by
 *    a newer Sluice: upgrade first) or that differ from ours under the same number.
 * 2. Check the target: refuse a schema newer than this Sluice, live Sluice processes (a restore under
 *    running workers would mix two histories), and, without `force`, any data (rows in any table
 *    but those Sluice fills from the configuration by itself).
 * 3. Read the whole file and verify it (checksums, row counts, completeness). Nothing was written yet:
 *    a damaged or truncated file stops here.
 * 4. One transaction, under the migration lock: drop Sluice's objects, replay exactly the backup's
 *    migrations, COPY every table in (checked again while reading), move every sequence past the
 *    restored ids, apply the migrations the backup did not have yet, commit. Any failure rolls back
 *    everything: the database is as it was before the restore.
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { clientQueryable, type Db, DbLock, type Queryable, withClient } from '../../core/db/db.ts';
import {
  applyMigrationsInTx,
  assertSchemaNotNewer,
  loadMigrations,
  type Migration,
  schemaVersion,
} from '../../core/db/migrate.ts';
import { SluiceError } from '../../core/errors.ts';
import {
  CONFIG_DERIVED_TABLES,
  EXCLUDED_TABLES,
  existingTables,
  ident,
  MIGRATIONS_TABLE,
  objectsCreatedBy,
} from './catalog.ts';
import {
  type DumpHeader,
  DumpInvalidError,
  type DumpTrailer,
  type Progress,
  SESSION_SETTINGS,
} from './format.ts';
import { type DumpEvent, readDump, readHeader, verifyDump } from './reader.ts';

/** A backup to restore: opened once for the header, once to verify, once to load. */
export interface DumpSource {
  /** The path or URL, for messages. */
  name: string;
  /** Compressed size, when known (progress). */
  size?: number | undefined;
  open(): Promise<Readable>;
}

export interface RestoreOptions {
  /** Replace a database that holds data. */
  force?: boolean;
  /** Check the file and the target, change nothing. */
  dryRun?: boolean;
  onProgress?: ((p: Progress) => void) | undefined;
  /** A process whose heartbeat is younger than this counts as running (default 2 minutes). */
  liveWorkerMs?: number;
}

export interface RestoreResult {
  header: DumpHeader;
  trailer: DumpTrailer;
  rows: number;
  /** Schema version the backup was at, and the database's after the restore. */
  fromVersion: number;
  toVersion: number;
  /** Migrations applied after loading (the backup was older than this Sluice). */
  upgraded: string[];
  /** What the database held before (tables with rows; `1000+` counts at most that). */
  replaced: { table: string; rows: number }[];
  dryRun: boolean;
}

interface MigrationPlan {
  /** Our migrations equal to the backup's, in order. */
  replay: Migration[];
  /** Ours the backup did not have. */
  rest: Migration[];
}

const migrationLabel = (m: { version: number; name: string }) =>
  `${String(m.version).padStart(4, '0')}_${m.name}`;

export function planMigrations(header: DumpHeader, source: string): MigrationPlan {
  const ours = loadMigrations();
  const byVersion = new Map(ours.map((m) => [m.version, m]));
  const newer = header.migrations.filter((m) => !byVersion.has(m.version));
  if (newer.length) {
    throw new SluiceError(
      'db_restore.backup_newer',
      `${source} was made by a newer Sluice (${header.sluice_version}): its schema has migration${newer.length > 1 ? 's' : ''} ${newer.map(migrationLabel).join(', ')}, which this Sluice (schema version ${schemaVersion()}) does not know`,
      {
        hint: 'upgrade Sluice to the version that made the backup (or newer) first, then restore',
        exitCode: 2,
      },
    );
  }
  const differ = header.migrations.filter((m) => byVersion.get(m.version)!.name !== m.name);
  if (differ.length) {
    const d = differ[0]!;
    throw new SluiceError(
      'db_restore.migrations_differ',
      `${source} has migration ${migrationLabel(d)} where this Sluice has ${migrationLabel(byVersion.get(d.version)!)}: it was made by a different build of Sluice`,
      { hint: 'restore it with the Sluice build that made it', exitCode: 2 },
    );
  }
  const inDump = new Set(header.migrations.map((m) => m.version));
  return {
    replay: ours.filter((m) => inDump.has(m.version)),
    rest: ours.filter((m) => !inDump.has(m.version)),
  };
}

/** Tables that make a database "non-empty": every Sluice table but the excluded and config-derived ones. */
async function occupancy(q: Queryable): Promise<{ table: string; rows: number }[]> {
  const skip = new Set<string>([...EXCLUDED_TABLES, ...CONFIG_DERIVED_TABLES]);
  const names = objectsCreatedBy()
    .filter((o) => o.kind === 'table' && !skip.has(o.name))
    .map((o) => o.name);
  const out: { table: string; rows: number }[] = [];
  for (const t of await existingTables(q, names)) {
    const r = await q.one<{ n: number }>(
      `select count(*)::int as n from (select 1 from ${ident(t.name)} limit 1000) s`,
    );
    if (r.n > 0) out.push({ table: t.name, rows: r.n });
  }
  return out;
}

function describeOccupancy(rows: { table: string; rows: number }[]): string {
  return rows.map((r) => `${r.table}: ${r.rows >= 1000 ? '1000+' : r.rows}`).join(', ');
}

function notEmpty(rows: { table: string; rows: number }[]): SluiceError {
  return new SluiceError(
    'db_restore.not_empty',
    `the database already holds data (${describeOccupancy(rows)}); a restore replaces all of it`,
    {
      hint: 'to replace it, run again with --force (take a backup of it first: `sluice db backup --output FILE`)',
      exitCode: 2,
    },
  );
}

async function assertNoLiveProcesses(q: Queryable, liveMs: number): Promise<void> {
  const t = await q.one<{ t: string | null }>(`select to_regclass('workers')::text as t`);
  if (!t.t) return;
  const live = await q.query<{ id: string; role: string }>(
    `select id, role from workers
     where stopped_at is null and last_heartbeat_at > now() - $1 * interval '1 millisecond' order by id`,
    [liveMs],
  );
  if (live.length) {
    throw new SluiceError(
      'db_restore.processes_running',
      `${live.length} Sluice process${live.length > 1 ? 'es are' : ' is'} running against this database (${live
        .slice(0, 5)
        .map((w) => `${w.id} (${w.role})`)
        .join(', ')}${live.length > 5 ? ', ...' : ''})`,
      {
        hint: `stop every Sluice process first (\`sluice status\` lists them); a process killed without stopping counts as running until its heartbeat is ${Math.round(liveMs / 60_000)} min old`,
        exitCode: 2,
      },
    );
  }
}

/** Drops every object Sluice's migrations create (and the migrations table) in the current schema. */
async function dropSluiceObjects(q: Queryable): Promise<void> {
  const objects = objectsCreatedBy();
  const names = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => ident(o.name));
  const tables = [ident(MIGRATIONS_TABLE), ...names('table')];
  for (const [kind, list] of [
    ['materialized view', names('materialized view')],
    ['view', names('view')],
    ['table', tables],
    ['sequence', names('sequence')],
  ] as const) {
    if (list.length) await q.exec(`drop ${kind} if exists ${list.join(', ')} cascade`);
  }
  const routines = objects.filter((o) => o.kind === 'function' || o.kind === 'procedure').map((o) => o.name);
  const sigs = await q.query<{ sig: string; prokind: string }>(
    `select p.oid::regprocedure::text as sig, p.prokind from pg_proc p
     join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = current_schema() and p.proname = any($1)`,
    [routines],
  );
  for (const s of sigs) {
    await q.exec(`drop ${s.prokind === 'p' ? 'procedure' : 'function'} if exists ${s.sig} cascade`);
  }
  const types = names('type');
  if (types.length) await q.exec(`drop type if exists ${types.join(', ')} cascade`);
}

/** COPY ... FROM STDIN as a writable with backpressure and error propagation. */
class CopyIn {
  private readonly stream: ReturnType<typeof copyFrom>;
  private readonly done: Promise<void>;
  constructor(client: pg.PoolClient, sql: string) {
    this.stream = client.query(copyFrom(sql));
    this.done = finished(this.stream);
    this.done.catch(() => undefined); // observed in write()/end()
  }
  async write(chunk: Buffer): Promise<void> {
    if (!this.stream.write(chunk)) await Promise.race([once(this.stream, 'drain'), this.done]);
  }
  async end(): Promise<void> {
    this.stream.end();
    await this.done;
  }
  /** Sends CopyFail, so the connection is usable again (for the rollback). */
  async abort(): Promise<void> {
    this.stream.destroy(new Error('restore aborted'));
    await this.done.catch(() => undefined);
  }
}

/** Moves `progress` along by one event of the reader; true when there is something new to report. */
function advance(progress: Progress, header: DumpHeader, e: DumpEvent, fileBytes: number): boolean {
  progress.fileBytes = fileBytes;
  if (e.kind === 'data') {
    progress.table = header.tables[e.table]!.name;
    progress.tableDone = false;
    progress.bytes += e.chunk.length;
    return true;
  }
  if (e.kind === 'table-end') {
    progress.table = e.stats.name;
    progress.tableDone = true;
    progress.tablesDone++;
    progress.rows += e.stats.rows;
    return true;
  }
  return false;
}

async function loadTables(
  client: pg.PoolClient,
  source: DumpSource,
  header: DumpHeader,
  progress: Progress,
  report: (p: Progress) => void,
): Promise<number> {
  const input = await source.open();
  let copy: CopyIn | undefined;
  let rows = 0;
  let fileBytes = 0;
  try {
    for await (const e of readDump(input, source.name, (n) => {
      fileBytes = n;
    })) {
      if (e.kind === 'header' && JSON.stringify(e.header) !== JSON.stringify(header)) {
        throw new DumpInvalidError(source.name, 'it changed while it was being restored');
      }
      if (e.kind === 'data') {
        const t = header.tables[e.table]!;
        copy ??= new CopyIn(client, `copy ${ident(t.name)} (${t.columns.map(ident).join(', ')}) from stdin`);
        await copy.write(e.chunk);
      } else if (e.kind === 'table-end') {
        await copy?.end();
        copy = undefined;
        rows += e.stats.rows;
      }
      if (advance(progress, header, e, fileBytes)) report(progress);
    }
  } catch (err) {
    await copy?.abort();
    throw err;
  }
  return rows;
}

async function resetSequences(q: Queryable, header: DumpHeader): Promise<void> {
  const dumped = new Set(header.tables.map((t) => t.name));
  for (const s of header.sequences) {
    if (!dumped.has(s.table)) continue;
    await q.exec(
      `select setval(pg_get_serial_sequence($1, $2), v, true)
       from (select greatest($3::bigint, max(${ident(s.column)})::bigint) as v from ${ident(s.table)}) s
       where v is not null`,
      [ident(s.table), s.column, s.last_value],
    );
  }
}

async function assertColumns(q: Queryable, header: DumpHeader, source: string): Promise<void> {
  const have = new Map(
    (
      await existingTables(
        q,
        header.tables.map((t) => t.name),
      )
    ).map((t) => [t.name, t]),
  );
  for (const t of header.tables) {
    const target = have.get(t.name);
    const missing = target ? t.columns.filter((c) => !target.columns.includes(c)) : t.columns;
    if (!target || missing.length) {
      throw new DumpInvalidError(
        source,
        target
          ? `table ${t.name} has columns the schema at its migration level lacks: ${missing.join(', ')}`
          : `it holds table ${t.name}, which its migrations do not create`,
      );
    }
  }
}

export async function restoreDump(
  db: Db,
  source: DumpSource,
  opts: RestoreOptions = {},
): Promise<RestoreResult> {
  const header = await readHeader(await source.open(), source.name);
  const plan = planMigrations(header, source.name);
  await assertSchemaNotNewer(db);
  await assertNoLiveProcesses(db, opts.liveWorkerMs ?? 120_000);
  const replaced = await occupancy(db);
  if (replaced.length && !opts.force && !opts.dryRun) throw notEmpty(replaced);

  const report = opts.onProgress ?? (() => undefined);
  const progress: Progress = {
    phase: 'verify',
    tablesDone: 0,
    tablesTotal: header.tables.length,
    rows: 0,
    bytes: 0,
    fileBytes: 0,
    fileTotal: source.size,
  };
  const { trailer } = await verifyDump(await source.open(), source.name, (e, read) => {
    if (advance(progress, header, e, read)) report(progress);
  });
  const result: RestoreResult = {
    header,
    trailer,
    rows: trailer.tables.reduce((n, t) => n + t.rows, 0),
    fromVersion: Math.max(0, ...header.migrations.map((m) => m.version)),
    toVersion: schemaVersion(),
    upgraded: plan.rest.map(migrationLabel),
    replaced,
    dryRun: Boolean(opts.dryRun),
  };
  if (opts.dryRun) return result;

  Object.assign(progress, { phase: 'restore', tablesDone: 0, rows: 0, bytes: 0, fileBytes: 0 });
  return withClient(db, async (client) => {
    const q = clientQueryable(client);
    try {
      await q.exec('begin');
      for (const sql of SESSION_SETTINGS) await q.exec(sql);
      await q.exec(`set local lock_timeout = '60s'`);
      await q.exec('select pg_advisory_xact_lock($1, $2)', [DbLock.namespace, DbLock.migrate]);
      if (!opts.force) {
        const now = await occupancy(q);
        if (now.length) throw notEmpty(now);
      }
      await dropSluiceObjects(q);
      const appliedAt = new Map(header.migrations.map((m) => [m.version, m.applied_at]));
      await applyMigrationsInTx(q, plan.replay, (m) => appliedAt.get(m.version));
      await assertColumns(q, header, source.name);
      result.rows = await loadTables(client, source, header, progress, report);
      await resetSequences(q, header);
      await applyMigrationsInTx(q, plan.rest);
      await q.exec('commit');
      return result;
    } catch (err) {
      await q.exec('rollback').catch(() => undefined);
      if ((err as { code?: string }).code === '55P03') {
        throw new SluiceError(
          'db_restore.locked',
          'another process holds Sluice tables: the restore could not start',
          {
            hint: 'stop every Sluice process (`sluice status` lists them) and run the restore again; nothing was changed',
            cause: err,
          },
        );
      }
      throw err;
    }
  });
}
