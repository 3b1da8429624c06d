/**
 * Helpers for the database backup tests: a database filled the way a running Sluice fills it, a
 * snapshot of every table for comparisons, blank databases, and a way to rewrite a backup file
 * (to make damaged, newer-schema or constraint-violating ones with valid checksums).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createSession } from '../../src/auth/sessions.ts';
import { createToken } from '../../src/auth/tokens.ts';
import { createUser } from '../../src/auth/users.ts';
import type { Db, Queryable } from '../../src/core/db/db.ts';
import { Variables } from '../../src/core/variables.ts';
import { enqueue } from '../../src/engine/enqueue.ts';
import { recordEvent } from '../../src/engine/events.ts';
import { setPoolSize, syncPools } from '../../src/engine/pools.ts';
import { registerProcess } from '../../src/engine/processes.ts';
import { ensureSchedules } from '../../src/engine/schedules.ts';
import { createTestDb } from './db.ts';

/** Names that exercise COPY's text escaping: tabs, newlines, backslashes, `\.`, quotes, unicode. */
const AWKWARD = ['\\.', 'tab\there', 'new\nline', 'back\\slash', 'quo\'te"s', 'Ünïcödé µg 蛋白質', '\\N', ''];

/** Fills a migrated database with rows in every table, as a running Sluice would. */
export async function seed(db: Db, files = 60): Promise<void> {
  await syncPools(db, { default: 10, copy: 3, cluster: 30, scan: 4, cleanup: 1 });
  await setPoolSize(db, 'copy', 1, 'alice');
  await db.exec(
    `insert into instruments (id, type, watch_path, online, offline_reason, checked_at, free_bytes, total_bytes, last_new_file_at)
     values ('astral1', 'thermo', '/mnt/astral1', true, null, now(), 123456789012, 999999999999, now()),
            ('timstof', 'bruker', '/mnt/tim stof', false, 'share not mounted', now(), null, null, null)`,
  );
  await db.exec(
    `insert into processing_settings (name, version, software, software_version, definition, content_hash)
     values ('dia', 1, 'alphadia', '1.10.0', '{"template": "run {{raw_path}}", "params": {"fdr": 0.01}}', 'abc123')`,
  );
  for (let i = 0; i < files; i++) {
    const awkward = AWKWARD[i % AWKWARD.length];
    const id = `f${String(i).padStart(4, '0')}_${awkward}.raw`;
    const status = ['done', 'backed_up', 'error', 'processing'][i % 4]!;
    await db.exec(
      `insert into files (id, instrument_id, name, kind, companions, source_path, current_path, project_id, status,
         status_reason, size_bytes, mtime, hash_algorithm, manifest, first_seen_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() - $12 * interval '1 minute', 'sha256', $13::jsonb,
         now() - $12 * interval '1 minute')`,
      [
        id,
        i % 3 ? 'astral1' : 'timstof',
        `${awkward}${i}.raw`,
        i % 5 ? 'file' : 'files',
        i % 5 ? [] : [`${i}.wiff.scan`, `tab\t${i}`],
        `/mnt/astral1/${awkward}/${i}.raw`,
        i % 7 ? `/mnt/astral1/${i}.raw` : null,
        `P${i % 3}`,
        status,
        status === 'error' ? `copy failed:\n${awkward}` : null,
        String(2 ** 40 + i),
        i,
        JSON.stringify([
          { rel: `${awkward}/a${i}.bin`, size: i * 1000, mtimeMs: 1.5e12 + i, hash: 'ab'.repeat(32) },
        ]),
      ],
    );
    await recordEvent(db, { subjectType: 'file', subjectId: id, actor: 'scanner', to: 'discovered' });
    await recordEvent(db, {
      subjectType: 'file',
      subjectId: id,
      actor: 'engine',
      from: 'discovered',
      to: status,
      reason: `because ${awkward}`,
      data: { awkward, n: i, nested: { list: [1, 2.5, null, true] } },
    });
    if (status !== 'processing') {
      await db.exec(
        `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes, seconds)
         values ($1, 'backup', $2, 'verified', 'sha256', '[]', $3, $4)`,
        [id, `/backup/${id}`, 1000 + i, i / 7],
      );
    }
    if (status === 'done') {
      const job = await db.one<{ id: string }>(
        `insert into jobs (file_id, settings_name, settings_version, key, executor, job_id, state, output_dir, outcome)
         values ($1, 'dia', 1, $2, 'local', $3, 'COMPLETED', $4, 'success') returning id`,
        [id, `sluice-${i}`, String(1000 + i), `/out/${i}`],
      );
      await db.exec(
        `insert into metrics (file_id, settings_name, settings_version, name, value, job_row_id)
         values ($1, 'dia', 1, 'precursors', $2, $3), ($1, 'dia', 1, 'weird', $4, $3)`,
        [id, 1000 + i, job.id, i % 2 ? 'NaN' : '1e-300'],
      );
    }
  }
  await enqueue(db, { kind: 'backup.copy', subject: 'f0001', payload: { x: 'tab\there' }, pool: 'copy' });
  const running = await enqueue(db, {
    kind: 'scan',
    subject: 'astral1',
    pool: 'scan',
    tags: ['instrument:astral1'],
  });
  await db.exec(
    `update tasks set state = 'running', lease_owner = 'gone-worker', lease_expires_at = now() + interval '1 minute',
       token = 3, attempts = 1 where id = $1`,
    [running],
  );
  const done = await enqueue(db, { kind: 'engine.prune' });
  await db.exec(`update tasks set state = 'succeeded', finished_at = now() where id = $1`, [done]);
  // pruned tasks leave the id sequence ahead of max(id): the restore must keep it there
  const gone = await enqueue(db, { kind: 'noop' });
  await db.exec('delete from tasks where id = $1', [gone]);
  await ensureSchedules(db, [
    { name: 'engine.prune', kind: 'engine.prune', cron: '17 3 * * *' },
    { name: 'scan:astral1', kind: 'scan', intervalMs: 10_000, pool: 'scan' },
  ]);
  const vars = new Variables(db, {});
  await vars.set('stuck_file_minutes', 90, 'alice');
  await vars.set('cleanup_dry_run', false, 'bob');
  await vars.unset('cleanup_dry_run', 'bob');
  const admin = await createUser(
    db,
    { name: 'admin', role: 'admin', password: 'correct horse battery' },
    'setup',
  );
  await createUser(db, { name: 'viewer.1', role: 'viewer' }, 'admin');
  await createToken(db, { user: 'admin', name: 'ci' }, 'admin');
  await createSession(db, admin.user.id);
  await db.exec(
    `insert into alerts_sent (rule, subject, last_sent_at, count, last_title) values ('file_error', 'f0002', now(), 2, 'File entered error')`,
  );
  await db.exec(`insert into alerts_state (key, value) values ('error_event_id', '"42"')`);
  // a live process: its row is not part of a backup
  await registerProcess(db, {
    id: 'seed-worker',
    role: 'worker',
    tags: [],
    kinds: ['scan'],
    version: '0.1.0',
  });
  await db.exec(`update workers set stopped_at = now() where id = 'seed-worker'`);
}

/** Every row of every table (but workers), as sorted JSON text, plus the migrations applied. */
export async function snapshot(db: Db): Promise<Record<string, string[]>> {
  // to_jsonb renders floats with the session's extra_float_digits, which a test sets per database
  // (taking effect on new connections only): pin it, or the same value compares unequal
  return db.tx(async (q) => {
    await q.exec('set local extra_float_digits = 3');
    return snapshotIn(q);
  });
}

/**
 * The snapshot's entry for the copies per (target, state) (migration 0048): their sums, not the
 * rows of `copy_counts`, which a backup leaves out and a restore's load of `copies` writes again
 * (one delta per table loaded, where the source had one per statement).
 */
export const COPY_COUNTS = 'copy_counts (sums)';

async function snapshotIn(q: Queryable): Promise<Record<string, string[]>> {
  const tables = await q.query<{ t: string }>(
    `select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = current_schema() and c.relkind = 'r'
       and c.relname not in ('workers', 'sluice_migrations', 'copy_counts', 'copy_counts_baseline')
     order by 1`,
  );
  const out: Record<string, string[]> = {};
  for (const { t } of tables) {
    const rows = await q.query<{ r: string }>(`select to_jsonb(x)::text as r from "${t}" x order by 1`);
    out[t] = rows.map((r) => r.r);
  }
  out[COPY_COUNTS] = (
    await q.query<{ r: string }>(
      `select target || ' ' || state || ' ' || sum(n) as r from copy_counts
       group by target, state having sum(n) <> 0 order by 1`,
    )
  ).map((r) => r.r);
  out.sluice_migrations = (
    await q.query<{ r: string }>(`select version || ' ' || name as r from sluice_migrations order by version`)
  ).map((r) => r.r);
  return out;
}

/** A new database with nothing in it (no schema); dropped by `drop()`. */
export const blankDb = () => createTestDb({ blank: true });

export interface ParsedDump {
  header: Record<string, unknown> & {
    tables: { name: string }[];
    migrations: { version: number; name: string }[];
  };
  /** Row lines of each table, in header order. */
  tables: string[][];
  trailer: Record<string, unknown>;
}

export async function parseDumpFile(file: string): Promise<ParsedDump> {
  const text = gunzipSync(await readFile(file)).toString('utf8');
  const lines = text.split('\n');
  const header = JSON.parse(lines[0]!) as ParsedDump['header'];
  const tables: string[][] = [];
  let i = 1;
  for (let t = 0; t < header.tables.length; t++) {
    const rows: string[] = [];
    while (lines[i] !== '\\.') rows.push(lines[i++]!);
    i++;
    tables.push(rows);
  }
  return { header, tables, trailer: JSON.parse(lines[i]!) };
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Writes a dump with correct checksums for whatever `d` now holds (unless `keepTrailer`). */
export async function writeDumpFile(
  file: string,
  d: ParsedDump,
  opts: { keepTrailer?: boolean } = {},
): Promise<void> {
  const headerLine = JSON.stringify(d.header);
  const parts = [`${headerLine}\n`];
  const stats = d.tables.map((rows, i) => {
    const data = rows.map((r) => `${r}\n`).join('');
    parts.push(data, '\\.\n');
    return {
      name: d.header.tables[i]!.name,
      rows: rows.length,
      bytes: Buffer.byteLength(data),
      sha256: sha(data),
    };
  });
  const trailer = opts.keepTrailer
    ? d.trailer
    : { end: 'sluice-dump', header_sha256: sha(headerLine), tables: stats };
  parts.push(`${JSON.stringify(trailer)}\n`);
  await writeFile(file, gzipSync(Buffer.from(parts.join(''))));
}
