/**
 * Samples: reads, the import's writes (many rows in few statements, history in the same
 * transaction) and single edits. Owns `samples`.
 */

import { copyIn } from '../core/db/copy.ts';
import type { Queryable } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import { createStagedSamples, STAGED_COLUMNS, STAGED_SAMPLES, upsertSamplesWithHistory } from './history.ts';
import type { Existing, PlannedRow, SampleValues } from './import-plan.ts';

export interface SampleRow extends SampleValues {
  id: string;
  created_by: string;
  created_at: Date;
  updated_by: string;
  updated_at: Date;
}

const COLUMNS =
  'id, refcode, name, project_id, type, attributes, created_by, created_at, updated_by, updated_at';

/** The samples with these refcodes, locked for the rest of the transaction. */
export async function samplesByRefcode(
  q: Queryable,
  refcodes: readonly string[],
): Promise<Map<string, Existing>> {
  const rows = await q.query<Existing>(
    'select refcode, name, project_id, type, attributes from samples where refcode = any($1::text[]) for update',
    [refcodes],
  );
  return new Map(rows.map((r) => [r.refcode, r]));
}

/** Imports serialise on this lock, so a row's `before` in the history is what the import replaced. */
export async function lockImports(q: Queryable): Promise<void> {
  await q.exec(`select pg_advisory_xact_lock(hashtext('sluice.catalog.import'))`);
}

/**
 * Writes the updated rows of a plan and their history in the caller's transaction (once per
 * transaction): they are copied (COPY, ../core/db/copy.ts) into the transaction's staging table and
 * written by one set-based upsert with their history (./history.ts).
 */
export async function updateSamples(q: Queryable, rows: readonly PlannedRow[], actor: string): Promise<void> {
  if (!rows.some((r) => r.action === 'update')) return;
  await createStagedSamples(q);
  await copyIn(q, STAGED_SAMPLES, STAGED_COLUMNS, stagedRows(rows));
  // a new table has no statistics: without them the upsert's read of the rows it replaces may be
  // planned as a scan of all samples per staged row
  await q.exec(`analyze ${STAGED_SAMPLES} (action, refcode)`);
  await upsertSamplesWithHistory(q, actor);
}

const SAMPLE_IDS = `pg_get_serial_sequence('samples', 'id')`;
const SAMPLE_COLUMNS = ['refcode', 'name', 'project_id', 'type', 'attributes', 'created_by', 'updated_by'];

/** Runs statements on one connection in the order asked for (see `inOrder`), without waiting. */
export interface InOrder {
  <T>(statement: () => Promise<T>): Promise<T>;
  /** Settles when every statement asked for so far has finished (or failed). */
  idle(): Promise<void>;
}

/**
 * A queue of statements for one connection (a transaction's): each is sent when the ones asked for
 * before it have finished, so a caller may ask for several without waiting and go on with its own
 * work (a connection runs one statement at a time; pg's own queue for that is deprecated). A
 * statement after a failed one is still sent, and fails in the failed transaction. Before the
 * transaction ends, wait for `idle()`: nothing may be sent on the connection after it.
 */
export function inOrder(): InOrder {
  let last: Promise<unknown> = Promise.resolve();
  const order = <T>(statement: () => Promise<T>): Promise<T> => {
    const p = last.then(statement);
    last = p.catch(() => undefined);
    return p;
  };
  return Object.assign(order, { idle: () => last.then(() => undefined) });
}

/**
 * Creates new samples by COPY (../core/db/copy.ts) straight into `samples`, in the caller's
 * transaction, one COPY per batch as `batches` gives them; returns how many. Each COPY is queued
 * at once on `order`, behind the statements queued before it (the import queues the lookups of
 * the next batches there while it plans them). The caller planned them as new under the imports' lock: a refcode
 * taken meanwhile fails the COPY, and with it the import (the first error is the one thrown); the
 * project's foreign key is checked per row as by an insert.
 * They are queued for the search index with one queue row naming the range of their ids
 * (./search-index.ts): it starts at an id taken from the samples' sequence before the first COPY
 * and ends at the last one this session took (a session's ids only grow, so every sample the COPYs
 * created lies within it; ids of others in it are indexed too, which is harmless). No history row:
 * a sample's creation is derived from its row (./history.ts).
 */
export async function createSamples(
  q: Queryable,
  batches: AsyncIterable<readonly SampleValues[]>,
  actor: string,
  order: InOrder,
): Promise<number> {
  const { lo } = await order(() => q.one<{ lo: string }>(`select nextval(${SAMPLE_IDS})::text as lo`));
  let n = 0;
  let failed: { err: unknown } | undefined;
  let stopped: { err: unknown } | undefined;
  const sent: Promise<void>[] = [];
  try {
    for await (const batch of batches) {
      if (failed) break;
      sent.push(
        order(() => copyIn(q, 'samples', SAMPLE_COLUMNS, sampleRows(batch, actor))).then(
          (k) => {
            n += k;
          },
          (err: unknown) => {
            failed ??= { err };
          },
        ),
      );
    }
  } catch (err) {
    stopped = { err };
  }
  await Promise.all(sent);
  // a statement queued after a failed COPY fails too: the COPY's error is the one to tell
  if (failed) throw failed.err;
  if (stopped) throw stopped.err;
  if (n > 0) {
    await q.exec(`insert into sample_search_queue (sample_id, last_id) values ($1, currval(${SAMPLE_IDS}))`, [
      lo,
    ]);
  }
  return n;
}

/** New samples' rows, in the order of SAMPLE_COLUMNS (attributes as JSON text). */
function* sampleRows(samples: readonly SampleValues[], actor: string): Generator<(string | null)[]> {
  for (const a of samples) {
    yield [a.refcode, a.name, a.project_id, a.type, JSON.stringify(a.attributes), actor, actor];
  }
}

/** The updates to write, in the order of STAGED_COLUMNS (attributes as JSON text). */
function* stagedRows(rows: readonly PlannedRow[]): Generator<(string | null)[]> {
  for (const r of rows) {
    if (r.action !== 'update') continue;
    const a = r.after;
    yield [String(r.row), r.action, a.refcode, a.name, a.project_id, a.type, JSON.stringify(a.attributes)];
  }
}

export interface SampleFilter {
  project?: string;
  type?: string;
  /** Projects whose samples are not shown (visibility). */
  hidden: readonly string[];
  limit: number;
  /** Refcodes after this one (paging in refcode order). */
  after?: string;
}

export async function listSamples(q: Queryable, f: SampleFilter): Promise<SampleRow[]> {
  return q.query<SampleRow>(
    `select ${COLUMNS} from samples
     where ($1::text is null or project_id = $1) and ($2::text is null or type = $2)
       and project_id <> all($3::text[]) and ($4::text is null or refcode > $4)
     order by refcode limit $5`,
    [f.project ?? null, f.type ?? null, f.hidden, f.after ?? null, f.limit],
  );
}

export async function getSample(
  q: Queryable,
  refcode: string,
  hidden: readonly string[],
): Promise<SampleRow> {
  const s = await q.maybeOne<SampleRow>(
    `select ${COLUMNS} from samples where refcode = $1 and project_id <> all($2::text[])`,
    [refcode, hidden],
  );
  if (!s) throw noSuchSample(refcode);
  return s;
}

export function noSuchSample(refcode: string): SluiceError {
  return new SluiceError('catalog.not_found', `no sample '${refcode}'`, {
    hint: 'list samples with `sluice samples list`, or search with `sluice search`',
    exitCode: 2,
    status: 404,
  });
}

/** Refcodes that exist among `refcodes` (and are visible). */
export async function existingRefcodes(
  q: Queryable,
  refcodes: readonly string[],
  hidden: readonly string[] = [],
): Promise<Set<string>> {
  const rows = await q.query<{ refcode: string }>(
    'select refcode from samples where refcode = any($1::text[]) and project_id <> all($2::text[])',
    [refcodes, hidden],
  );
  return new Set(rows.map((r) => r.refcode));
}

export async function samplesOfProjectCount(q: Queryable, project: string): Promise<number> {
  const r = await q.one<{ n: string }>('select count(*) as n from samples where project_id = $1', [project]);
  return Number(r.n);
}

/** CSV of samples (header: refcode, name, project, type, then every attribute seen), for export. */
export function samplesCsv(rows: readonly SampleValues[]): string {
  const attrs = [...new Set(rows.flatMap((r) => Object.keys(r.attributes)))].sort();
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [['refcode', 'name', 'project', 'type', ...attrs].map(cell).join(',')];
  for (const r of rows) {
    lines.push(
      [r.refcode, r.name, r.project_id, r.type, ...attrs.map((a) => r.attributes[a])].map(cell).join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The samples with these refcodes (visible ones), in refcode order. */
export async function listSamplesByRefcode(
  q: Queryable,
  refcodes: readonly string[],
  hidden: readonly string[],
): Promise<SampleRow[]> {
  return q.query<SampleRow>(
    `select ${COLUMNS} from samples where refcode = any($1::text[]) and project_id <> all($2::text[]) order by refcode`,
    [refcodes, hidden],
  );
}

/** The refcodes of a project's samples. */
export async function refcodesOfProject(q: Queryable, project: string): Promise<string[]> {
  const rows = await q.query<{ refcode: string }>('select refcode from samples where project_id = $1', [
    project,
  ]);
  return rows.map((r) => r.refcode);
}
