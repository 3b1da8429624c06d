/**
 * Writes a database backup (format: ./format.ts) into a stream, from one consistent snapshot: a
 * `repeatable read read only` transaction, so rows committed while the dump runs are either all in
 * it or all out, and nothing is blocked (COPY ... TO takes the lock a plain SELECT takes). Table data
 * streams from COPY through gzip into the output; no table is held in memory.
 */
import { createHash } from 'node:crypto';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { clientQueryable, type Db, type Queryable, withClient } from '../../core/db/db.ts';
import { loadMigrations } from '../../core/db/migrate.ts';
import { SluiceError } from '../../core/errors.ts';
import {
  EXCLUDED_TABLES,
  existingTables,
  ident,
  loadOrder,
  MIGRATIONS_TABLE,
  sequencesOf,
  sluiceTableNames,
} from './catalog.ts';
import {
  countLines,
  type DumpHeader,
  type DumpTrailer,
  END_OF_TABLE,
  FORMAT,
  FORMAT_VERSION,
  type Progress,
  SESSION_SETTINGS,
  type TableStats,
} from './format.ts';

export interface DumpOptions {
  /** Sluice's version, recorded in the header. */
  version: string;
  strategy?: string | undefined;
  onProgress?: ((p: Progress) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** gzip level 1 (fast) – 9 (small); default 6. */
  level?: number;
}

export interface DumpSummary {
  header: DumpHeader;
  trailer: DumpTrailer;
  rows: number;
  /** Size of the written (compressed) file. */
  fileBytes: number;
}

async function appliedMigrations(q: Queryable): Promise<DumpHeader['migrations']> {
  const t = await q.one<{ t: string | null }>('select to_regclass($1)::text as t', [MIGRATIONS_TABLE]);
  if (!t.t) return [];
  const rows = await q.query<{ version: number; name: string; applied_at: Date }>(
    `select version, name, applied_at from ${ident(MIGRATIONS_TABLE)} order by version`,
  );
  return rows.map((r) => ({ version: r.version, name: r.name, applied_at: r.applied_at.toISOString() }));
}

/** Refuses a database this Sluice cannot back up completely. */
function assertDumpable(migrations: DumpHeader['migrations']): void {
  if (migrations.length === 0) {
    throw new SluiceError('db_backup.no_schema', 'the database holds no Sluice schema: nothing to back up', {
      hint: 'check DATABASE_URL / database.url; a new database gets its schema from `sluice db migrate`',
    });
  }
  const known = new Set(loadMigrations().map((m) => m.version));
  const unknown = migrations.filter((m) => !known.has(m.version));
  if (unknown.length) {
    const list = unknown.map((m) => `${m.version} (${m.name})`).join(', ');
    throw new SluiceError(
      'db_backup.schema_newer',
      `the database has migrations this Sluice does not know: ${list}; a backup made by this version would miss their tables`,
      { hint: 'run the backup with the Sluice version the database was migrated by', exitCode: 2 },
    );
  }
}

/** The header of a backup of the database `q` reads (inside the snapshot transaction). */
async function dumpHeader(q: Queryable, opts: DumpOptions): Promise<DumpHeader> {
  for (const sql of SESSION_SETTINGS) await q.exec(sql);
  const migrations = await appliedMigrations(q);
  assertDumpable(migrations);
  const names = sluiceTableNames().filter((n) => !(EXCLUDED_TABLES as readonly string[]).includes(n));
  const tables = await loadOrder(q, await existingTables(q, names));
  return {
    format: FORMAT,
    format_version: FORMAT_VERSION,
    sluice_version: opts.version,
    created_at: new Date().toISOString(),
    server_version: (await q.one<{ server_version: string }>('show server_version')).server_version,
    ...(opts.strategy === undefined ? {} : { strategy: opts.strategy }),
    migrations,
    tables,
    sequences: await sequencesOf(q, tables),
    excluded: [...EXCLUDED_TABLES],
  };
}

/**
 * The uncompressed backup: the header line, each table's rows as COPY writes them and its end line,
 * then the trailer (handed to `onTrailer` too). `progress` is updated and reported on the way.
 */
async function* dumpBody(
  client: pg.PoolClient,
  header: DumpHeader,
  headerLine: Buffer,
  progress: Progress,
  report: (p: Progress) => void,
  onTrailer: (t: DumpTrailer) => void,
): AsyncGenerator<Buffer> {
  const stats: TableStats[] = [];
  yield Buffer.concat([headerLine, Buffer.from('\n')]);
  for (const t of header.tables) {
    const hash = createHash('sha256');
    let rows = 0;
    let bytes = 0;
    progress.table = t.name;
    progress.tableDone = false;
    const cols = t.columns.map(ident).join(', ');
    const copy = client.query(copyTo(`copy ${ident(t.name)} (${cols}) to stdout`));
    for await (const chunk of copy as AsyncIterable<Buffer>) {
      hash.update(chunk);
      const n = countLines(chunk);
      rows += n;
      bytes += chunk.length;
      progress.rows += n;
      progress.bytes += chunk.length;
      report(progress);
      yield chunk;
    }
    yield END_OF_TABLE;
    stats.push({ name: t.name, rows, bytes, sha256: hash.digest('hex') });
    progress.tablesDone++;
    progress.tableDone = true;
    report(progress);
  }
  const trailer: DumpTrailer = {
    end: FORMAT,
    header_sha256: createHash('sha256').update(headerLine).digest('hex'),
    tables: stats,
  };
  onTrailer(trailer);
  yield Buffer.from(`${JSON.stringify(trailer)}\n`);
}

/** A backup of `db` from one consistent snapshot, gzipped into `out`. */
export async function writeDump(db: Db, out: Writable, opts: DumpOptions): Promise<DumpSummary> {
  return withClient(db, async (client) => {
    await client.query('begin isolation level repeatable read read only');
    const header = await dumpHeader(clientQueryable(client), opts);
    const headerLine = Buffer.from(JSON.stringify(header));
    const progress: Progress = {
      phase: 'backup',
      tablesDone: 0,
      tablesTotal: header.tables.length,
      rows: 0,
      bytes: 0,
      fileBytes: 0,
    };
    const report = opts.onProgress ?? (() => undefined);
    let trailer: DumpTrailer | undefined;
    const body = () =>
      dumpBody(client, header, headerLine, progress, report, (t) => {
        trailer = t;
      });
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        progress.fileBytes += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(body, createGzip({ level: opts.level ?? 6 }), counter, out, {
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await client.query('commit');
    return {
      header,
      trailer: trailer!,
      rows: progress.rows,
      fileBytes: progress.fileBytes,
    };
  });
}
