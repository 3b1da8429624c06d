/**
 * One owner per table, checked: every SQL statement in src/ that names a table (`from files`,
 * `update copies`, `insert into tasks`, `join metrics`, `delete from jobs` …) must sit in that
 * table's owner (a folder or a file). Other modules call the owner's functions.
 *
 * Only the text of string and template literals is read (comments and prose do not count), so a
 * statement is found wherever it is built. `npx tsx scripts/owners.ts` lists the breaches (exit 1
 * when there are any); `test/owners.test.ts` runs the same check in the suite.
 *
 * To give a new table an owner, add it to OWNERS. ALLOWED is for the few places where moving the
 * statement would be wrong, or is left for later: each entry says why.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Table → the folder (ending in `/`) or file that owns it, relative to the repository root. */
export const OWNERS: Record<string, string> = {
  files: 'src/files/',
  copies: 'src/files/',
  copy_counts: 'src/files/',
  copy_counts_baseline: 'src/files/',
  instruments: 'src/files/',
  metrics: 'src/metrics/store.ts',
  qc_guide_sets: 'src/metrics/guide-sets.ts',
  tasks: 'src/engine/',
  workers: 'src/engine/',
  pools: 'src/engine/',
  pool_audit: 'src/engine/',
  schedules: 'src/engine/',
  events: 'src/engine/',
  jobs: 'src/process/',
  processing_settings: 'src/process/',
  fixity_checks: 'src/backup/fixity.ts',
  users: 'src/auth/',
  sessions: 'src/auth/',
  api_tokens: 'src/auth/',
  login_throttle: 'src/auth/',
  archive_fetches: 'src/archive/retrieve-repo.ts',
  retrievals: 'src/archive/retrieve-repo.ts',
  variable_overrides: 'src/core/variables.ts',
  variable_audit: 'src/core/variables.ts',
  alerts_state: 'src/ops/alerts/',
  alerts_sent: 'src/ops/alerts/',
  stream_items: 'src/streams/repo.ts',
  filter_decisions: 'src/streams/repo.ts',
  unit_results: 'src/streams/repo.ts',
  stream_dead_letters: 'src/streams/repo.ts',
  outbox: 'src/streams/outbox-repo.ts',
  outbox_switch: 'src/streams/outbox-repo.ts',
  acquisition_signals: 'src/streams/signals-repo.ts',
  reaction_runs: 'src/streams/reactions-repo.ts',
  unit_reruns: 'src/streams/reactions-repo.ts',
  processing_reruns: 'src/process/reruns-repo.ts',
  projects: 'src/catalog/',
  project_members: 'src/catalog/projects.ts',
  samples: 'src/catalog/',
  sample_search: 'src/catalog/',
  sample_search_queue: 'src/catalog/',
  datasets: 'src/catalog/',
  catalog_relations: 'src/catalog/',
  catalog_history: 'src/catalog/history.ts',
  archives: 'src/archive/',
  archive_members: 'src/archive/',
  archive_items: 'src/archive/',
};

/** `file` (relative path) → tables it may touch although it does not own them, with the reason. */
export const ALLOWED: Record<string, { tables: string[]; why: string }> = {
  'src/metrics/series-store.ts': {
    tables: ['metrics', 'files'],
    why: "the chart series' reads (range scans built as JSON text by PostgreSQL), the store's read side for charts kept in a file of their own so that store.ts stays readable; read-only. `files`: the project of a point's file, for what a caller may see (metric names with a visible point, the display series without hidden files' points)",
  },
  'src/files/lifecycle.ts': {
    tables: ['events'],
    why: '`transitionMany` moves many files and appends their timeline events in one statement (one round trip, one lock order), `addToTimelineOf` notes many files in one; each event has the shape `recordEvent` (src/engine/events.ts) writes',
  },
  'src/ops/db-backup/': {
    tables: ['events', 'workers'],
    why: 'database backup and restore work on the database as a whole (the restore refuses while workers are live, the strategy records its run)',
  },

  'src/ops/reconcile.ts': {
    tables: ['files', 'copies', 'jobs'],
    why: "catch-up's report counts, per instrument, backups (copies) and jobs by their file's instrument, and lists files with an associated copy or job: two statements join jobs (src/process/) to files (src/files/); src/files cannot hold them (src/process imports src/files), so they stay with the report",
  },

  'src/core/config/starter.ts': {
    tables: ['instruments'],
    why: 'not SQL: a comment of the starter YAML ("Deleting from instruments is refused …")',
  },
};

const TABLES = Object.keys(OWNERS).join('|');
const STATEMENT = new RegExp(
  `\\b(?:from|join|update|insert\\s+into|delete\\s+from|truncate(?:\\s+table)?)\\s+(${TABLES})\\b`,
  'gi',
);

/** The tables that SQL in this text names (each once, in order of first appearance). */
export function tablesNamed(sql: string): string[] {
  const out: string[] = [];
  for (const m of sql.matchAll(STATEMENT)) {
    const t = m[1]!.toLowerCase();
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** The text of every string and template literal of a TypeScript source, with its line. */
export function literals(source: string, fileName = 'x.ts'): { line: number; text: string }[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const out: { line: number; text: string }[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) {
      out.push({ line: sf.getLineAndCharacterOfPosition(n.getStart()).line + 1, text: n.text });
    } else if (ts.isTemplateExpression(n)) {
      // the pieces joined where an expression was: a table chosen by an expression is not named
      const text = [n.head.text, ...n.templateSpans.map((s) => s.literal.text)].join(' ? ');
      out.push({ line: sf.getLineAndCharacterOfPosition(n.getStart()).line + 1, text });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

export interface Breach {
  file: string;
  line: number;
  table: string;
  owner: string;
}

const within = (file: string, place: string) =>
  place.endsWith('/') ? file.startsWith(place) : file === place;

/** Whether `file` may touch `table`: it is the owner, or ALLOWED says so. */
export function mayTouch(file: string, table: string): boolean {
  const owner = OWNERS[table];
  if (owner === undefined || within(file, owner)) return true;
  return Object.entries(ALLOWED).some(([place, a]) => within(file, place) && a.tables.includes(table));
}

/** The breaches in one source file (`file` relative to the repository root). */
export function breachesIn(file: string, source: string): Breach[] {
  const out: Breach[] = [];
  for (const lit of literals(source, file)) {
    for (const table of tablesNamed(lit.text)) {
      if (!mayTouch(file, table)) out.push({ file, line: lit.line, table, owner: OWNERS[table]! });
    }
  }
  return out;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== '__fixtures__' && e.name !== 'node_modules') out.push(...sources(p));
    } else if (/\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) {
      out.push(p);
    }
  }
  return out;
}

/** Every source file under `root`/src (tests are not checked: they set up rows directly), by relative path. */
function readSources(root: string): { file: string; source: string }[] {
  return sources(path.join(root, 'src')).map((p) => ({
    file: path.relative(root, p).split(path.sep).join('/'),
    source: readFileSync(p, 'utf8'),
  }));
}

/** Every breach under `root`/src. Migrations (`.sql`) are not read: they are the schema itself. */
export function ownerBreaches(root: string): Breach[] {
  return readSources(root).flatMap(({ file, source }) => breachesIn(file, source));
}

/** ALLOWED entries (place: table) that no statement needs any more, so that the list only shrinks. */
export function unusedAllowances(root: string): string[] {
  const touched = new Set<string>();
  for (const { file, source } of readSources(root)) {
    for (const lit of literals(source, file)) {
      for (const table of tablesNamed(lit.text)) {
        for (const place of Object.keys(ALLOWED)) if (within(file, place)) touched.add(`${place}: ${table}`);
      }
    }
  }
  return Object.entries(ALLOWED).flatMap(([place, a]) =>
    a.tables.map((t) => `${place}: ${t}`).filter((k) => !touched.has(k)),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const found = ownerBreaches(root);
  for (const b of found) console.log(`${b.file}:${b.line}\t${b.table}\towned by ${b.owner}`);
  console.log(`${found.length} statements touching a table outside its owner`);
  const unused = unusedAllowances(root);
  for (const u of unused) console.log(`ALLOWED entry no longer needed: ${u}`);
  process.exitCode = found.length + unused.length > 0 ? 1 : 0;
}
