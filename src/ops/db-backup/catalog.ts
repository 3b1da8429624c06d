/**
 * What a database backup contains, read from two places:
 *
 * - Sluice's own migrations (`src/core/db/migrations/*.sql`) name every object Sluice creates
 *   (`create table`, `create function`, ...). Only those are dumped, and only those are dropped when
 *   a restore rebuilds the schema, so a database shared with something else keeps its other objects.
 *   test/db-backup.test.ts checks that this list equals what a freshly migrated database holds.
 * - The PostgreSQL catalog gives each table's columns, foreign keys (for a load order in which
 *   every referenced row exists first) and serial/identity sequences.
 *
 * Left out of every dump:
 * - `sluice_migrations`: the header records the applied migrations instead; a restore replays them.
 * - `workers`: the registry of live processes and their heartbeats. Restored rows would describe
 *   processes that no longer exist (and raise stale-worker alerts); every process registers itself
 *   when it starts.
 * - `copy_counts` and `copy_counts_baseline` (migration 0048): the restore's COPY into `copies` fires
 *   the triggers that count copies, and the first read after it takes a new baseline; restoring the
 *   saved counts as well would count every copy twice.
 * Everything else is restored as it was, leases of running tasks included: they expire and another
 * worker takes the task over, exactly as after a crash.
 */
import type { Queryable } from '../../core/db/db.ts';
import { loadMigrations, type Migration } from '../../core/db/migrate.ts';

export const MIGRATIONS_TABLE = 'sluice_migrations';
export const EXCLUDED_TABLES = [MIGRATIONS_TABLE, 'workers', 'copy_counts', 'copy_counts_baseline'] as const;
/**
 * Tables Sluice fills from the configuration by itself (at start or on `db migrate`): rows there do
 * not make a database "non-empty" for `sluice db restore`.
 */
export const CONFIG_DERIVED_TABLES = [
  'pools',
  'schedules',
  'instruments',
  'processing_settings',
  'outbox_switch',
] as const;

export type ObjectKind =
  | 'table'
  | 'view'
  | 'materialized view'
  | 'function'
  | 'procedure'
  | 'type'
  | 'sequence';

export interface SchemaObject {
  kind: ObjectKind;
  name: string;
}

const CREATE_RE =
  /\bcreate\s+(?:or\s+replace\s+)?(?:unlogged\s+)?(table|view|materialized\s+view|function|procedure|type|sequence)\s+(?:if\s+not\s+exists\s+)?("[^"]+"|[a-z_][a-z0-9_$]*)/gi;

function stripComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');
}

/** The objects the given migrations create, in order of appearance (unique). */
export function objectsCreatedBy(migrations: Migration[] = loadMigrations()): SchemaObject[] {
  const seen = new Set<string>();
  const out: SchemaObject[] = [];
  for (const m of migrations) {
    for (const match of stripComments(m.sql).matchAll(CREATE_RE)) {
      const kind = match[1]!.toLowerCase().replace(/\s+/g, ' ') as ObjectKind;
      const raw = match[2]!;
      const name = raw.startsWith('"') ? raw.slice(1, -1) : raw.toLowerCase();
      const key = `${kind}:${name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ kind, name });
    }
  }
  return out;
}

/** Names of the tables Sluice's migrations create (the migrations table included). */
export function sluiceTableNames(): string[] {
  return [
    MIGRATIONS_TABLE,
    ...objectsCreatedBy()
      .filter((o) => o.kind === 'table')
      .map((o) => o.name),
  ];
}

export interface TableInfo {
  name: string;
  /** Stored (not generated) columns in their order. */
  columns: string[];
}

/** Tables of `names` that exist in the current schema, with their columns. */
export async function existingTables(q: Queryable, names: string[]): Promise<TableInfo[]> {
  const rows = await q.query<{ table: string; column: string }>(
    `select c.relname as table, a.attname as column
     from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     join pg_attribute a on a.attrelid = c.oid
     where n.nspname = current_schema() and c.relkind in ('r', 'p') and c.relname = any($1)
       and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
     order by c.relname, a.attnum`,
    [names],
  );
  const byTable = new Map<string, string[]>();
  for (const r of rows) {
    const cols = byTable.get(r.table) ?? [];
    cols.push(r.column);
    byTable.set(r.table, cols);
  }
  return [...byTable].map(([name, columns]) => ({ name, columns }));
}

/**
 * Orders tables so that every table comes after the tables its foreign keys reference (ties by
 * name). Self-references are ignored; a cycle is an error (Sluice's schema has none).
 */
export async function loadOrder(q: Queryable, tables: TableInfo[]): Promise<TableInfo[]> {
  const names = tables.map((t) => t.name);
  const fks = await q.query<{ child: string; parent: string }>(
    `select distinct ch.relname as child, pa.relname as parent
     from pg_constraint k
     join pg_class ch on ch.oid = k.conrelid
     join pg_class pa on pa.oid = k.confrelid
     join pg_namespace n on n.oid = ch.relnamespace
     where k.contype = 'f' and n.nspname = current_schema()
       and ch.relname = any($1) and pa.relname = any($1) and ch.oid <> pa.oid`,
    [names],
  );
  const parents = new Map(names.map((n) => [n, new Set<string>()]));
  for (const fk of fks) parents.get(fk.child)?.add(fk.parent);
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < names.length) {
    const ready = names.filter((n) => !done.has(n) && [...parents.get(n)!].every((p) => done.has(p))).sort();
    if (ready.length === 0) {
      const left = names.filter((n) => !done.has(n));
      throw new Error(`foreign keys form a cycle among ${left.join(', ')}; cannot order the tables`);
    }
    for (const n of ready) {
      done.add(n);
      order.push(n);
    }
  }
  const byName = new Map(tables.map((t) => [t.name, t]));
  return order.map((n) => byName.get(n)!);
}

export interface SequenceInfo {
  table: string;
  column: string;
  /** The sequence's last value (text: bigint), or null when it was never used. */
  last_value: string | null;
}

/** Serial and identity sequences of the given tables, with their current values. */
export async function sequencesOf(q: Queryable, tables: TableInfo[]): Promise<SequenceInfo[]> {
  return q.query<SequenceInfo>(
    `select s.table, s.column, pg_sequence_last_value(s.seq::regclass)::text as last_value
     from (
       select c.relname as table, a.attname as column,
              pg_get_serial_sequence(format('%I', c.relname), a.attname) as seq
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid
       where n.nspname = current_schema() and c.relname = any($1) and a.attnum > 0 and not a.attisdropped
     ) s
     where s.seq is not null
     order by s.table, s.column`,
    [tables.map((t) => t.name)],
  );
}

/** Quote an identifier for SQL (`"name"`, inner quotes doubled). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
