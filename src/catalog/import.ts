/**
 * Importing a samples sheet: read it (./sheet.ts), plan it against the samples that exist
 * (./import-plan.ts, pure), and write it in one transaction with the updates' history, or not at all
 * (a creation's history is derived from the sample row, ./history.ts). The sheet is read, looked up,
 * planned and its new samples sent to the database in steps, one step written while the next are
 * planned. A sheet with any rejected row writes nothing unless `skipRejected`;
 * `dryRun` plans and writes nothing.
 * The samples' search index is not written here: the import queues the samples it wrote and enqueues
 * a `catalog.index` task in its transaction (./search-index.ts), which indexes them after the commit.
 */
import type { CatalogConfig } from '../core/config/schema/catalog.ts';
import type { Db, Tx } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { attributeChecker } from './attributes.ts';
import {
  type Existing,
  missingColumns,
  type PlannedRow,
  rowPlanner,
  type SampleValues,
} from './import-plan.ts';
import { hiddenProjects, listProjects, type Viewer } from './projects.ts';
import {
  createSamples,
  type InOrder,
  inOrder,
  lockImports,
  samplesByRefcode,
  updateSamples,
} from './samples.ts';
import { requestIndexing } from './search-index.ts';
import { csvSheet, readXlsx, type SheetRow, type SheetStream } from './sheet.ts';

export interface ImportOptions {
  format: 'csv' | 'xlsx';
  sheetName?: string;
  dryRun?: boolean;
  skipRejected?: boolean;
  actor: string;
  viewer: Viewer;
}

export interface ImportReport {
  created: { row: number; refcode: string }[];
  updated: { row: number; refcode: string; changed: string[] }[];
  unchanged: { row: number; refcode: string }[];
  rejected: { row: number; refcode: string | null; reasons: string[] }[];
  /** True when the created and updated rows were written. */
  written: boolean;
  /**
   * True when samples were written: their search index is updated after the import, by the
   * `catalog.index` task (until then they are found by exact refcode only).
   */
  indexing: boolean;
  dryRun: boolean;
}

/** The format a file name says (`.csv`, `.xlsx`), or an error naming both. */
export function formatOf(name: string): 'csv' | 'xlsx' {
  if (/\.csv$/i.test(name)) return 'csv';
  if (/\.xlsx$/i.test(name)) return 'xlsx';
  throw new UsageError(
    `cannot tell the format of '${name}'`,
    'name the sheet .csv or .xlsx, or pass --format csv|xlsx',
  );
}

/** The sheet's header, checked; a CSV's rows are read as they are asked for (./sheet.ts). */
export async function readSheet(
  buf: Buffer,
  format: 'csv' | 'xlsx',
  sheetName?: string,
): Promise<SheetStream> {
  const sheet = format === 'csv' ? csvSheet(buf) : await readXlsx(buf, sheetName);
  const missing = missingColumns(sheet.header);
  if (missing.length > 0) {
    throw new UsageError(
      `the sheet has no column ${missing.map((m) => `'${m}'`).join(', ')} (its columns: ${sheet.header.join(', ')})`,
      'the header row must name refcode, name and project; type is optional; every other column is an attribute',
    );
  }
  return sheet;
}

/**
 * The report, filled row by row as the sheet is planned (a row's plan is not kept: only what the
 * report says of it, and the planned updates, which are written after the new samples).
 */
class Report {
  readonly created: ImportReport['created'] = [];
  readonly updated: ImportReport['updated'] = [];
  readonly unchanged: ImportReport['unchanged'] = [];
  readonly rejected: ImportReport['rejected'] = [];
  readonly updates: PlannedRow[] = [];

  add(r: PlannedRow): void {
    if (r.action === 'create') this.created.push({ row: r.row, refcode: r.refcode });
    else if (r.action === 'unchanged') this.unchanged.push({ row: r.row, refcode: r.refcode });
    else {
      this.updated.push({ row: r.row, refcode: r.refcode, changed: r.changed });
      this.updates.push(r);
    }
  }

  of(written: boolean, dryRun: boolean): ImportReport {
    const { created, updated, unchanged, rejected } = this;
    const changes = created.length > 0 || updated.length > 0;
    return { created, updated, unchanged, rejected, written, indexing: written && changes, dryRun };
  }
}

/** Turns the event loop once (so PostgreSQL's replies are answered while the sheet is planned). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Rows read or planned between two turns of the event loop. */
const SLICE = 500;

/**
 * Rows per step: the first step small, so that the first COPY starts early, the next ones twice as
 * large up to MAX_STEP (fewer statements). Up to LOOKAHEAD steps are read and looked up ahead (the
 * one being planned included), so the process plans a step while PostgreSQL writes the ones before.
 */
const FIRST_STEP = 1_000;
const MAX_STEP = 8_000;
const LOOKAHEAD = 3;

/** One step of the sheet: its rows and the samples that exist with their refcodes. */
interface Step {
  rows: SheetRow[];
  existing: Promise<Map<string, Existing>>;
}

/**
 * The sheet's rows in steps, each with its existing samples (`samplesByRefcode`, locked), up to
 * LOOKAHEAD steps read and looked up ahead: a step's lookup is queued (`order`) on the transaction's
 * connection as soon as the step is read, before the COPYs of the steps given after that.
 */
async function* steps(
  tx: Tx,
  order: InOrder,
  sheet: SheetStream,
): AsyncGenerator<{ rows: SheetRow[]; existing: Map<string, Existing> }> {
  const rows = sheet.rows[Symbol.iterator]();
  const at = sheet.header.indexOf('refcode');
  const ahead: Step[] = [];
  let size = FIRST_STEP;
  let done = false;
  const read = async (): Promise<void> => {
    const step: SheetRow[] = [];
    while (step.length < size) {
      const r = rows.next();
      if (r.done) {
        done = true;
        break;
      }
      step.push(r.value);
      if (step.length % SLICE === 0) await turn();
    }
    size = Math.min(size * 2, MAX_STEP);
    if (step.length === 0) return;
    const refcodes: string[] = [];
    for (const { cells } of step) {
      const c = cells[at];
      if (c && 'value' in c && c.value !== null) refcodes.push(String(c.value));
    }
    const existing = order(() => samplesByRefcode(tx, refcodes));
    existing.catch(() => undefined); // awaited in its turn; a failure then is the step's to throw
    ahead.push({ rows: step, existing });
  };
  for (;;) {
    while (!done && ahead.length < LOOKAHEAD) await read();
    const step = ahead.shift();
    if (!step) return;
    yield { rows: step.rows, existing: await step.existing };
  }
}

/**
 * Imports `buf` (a CSV or XLSX sheet): the report says what happened (or would, with `dryRun`).
 * The sheet is read, looked up and planned in steps, and each step's new samples go to PostgreSQL's
 * COPY as soon as it is planned, so the database writes while the process reads and plans the rest.
 * Should a row be rejected (and `skipRejected` not set), no more steps are sent, the rest are
 * still planned for the report, and everything written is rolled back to the savepoint taken
 * before: nothing half-imported, and the same report as if the sheet had been planned first.
 */
export async function importSamples(
  db: Db,
  catalog: CatalogConfig,
  buf: Buffer,
  opts: ImportOptions,
): Promise<ImportReport> {
  const sheet = await readSheet(buf, opts.format, opts.sheetName);
  const check = attributeChecker(catalog);
  return db.tx(async (tx) => {
    if (!opts.dryRun) await lockImports(tx);
    const projects = await listProjects(tx);
    const hidden = new Set(hiddenProjects(opts.viewer, projects));
    const visible = new Set(projects.map((p) => p.id).filter((id) => !hidden.has(id)));
    const plan = new Report();
    const planRow = rowPlanner({ header: sheet.header, projects: visible, check });
    const order = inOrder();
    const mayWrite = () => plan.rejected.length === 0 || opts.skipRejected === true;
    /** Each step planned into `plan`, and its new samples while they may be written. */
    async function* creations(): AsyncGenerator<SampleValues[]> {
      for await (const { rows, existing } of steps(tx, order, sheet)) {
        const created: SampleValues[] = [];
        for (let i = 0; i < rows.length; i++) {
          if (i % SLICE === SLICE - 1) await turn();
          const r = planRow(rows[i]!, existing);
          if ('reasons' in r) plan.rejected.push(r);
          // a sample of a project the importer may not see is not theirs to change (nor to learn about)
          else if (r.before !== null && hidden.has(r.before.project_id)) {
            plan.rejected.push({
              row: r.row,
              refcode: r.refcode,
              reasons: [`refcode '${r.refcode}' is taken`],
            });
          } else {
            plan.add(r);
            if (r.action === 'create') created.push(r.after);
          }
        }
        if (created.length > 0 && mayWrite()) yield created;
      }
    }
    try {
      if (opts.dryRun) for await (const _ of creations());
      else {
        await tx.exec('savepoint sample_import');
        await createSamples(tx, creations(), opts.actor, order);
      }
    } finally {
      // after a failure, lookups asked for ahead may still be queued: they end before the transaction
      await order.idle();
    }
    const write = !opts.dryRun && mayWrite();
    const report = plan.of(write, opts.dryRun === true);
    if (write) await updateSamples(tx, plan.updates, opts.actor);
    else if (!opts.dryRun) await tx.exec('rollback to savepoint sample_import');
    // the search index is written after this commits, by a durable task enqueued with the samples
    if (report.indexing) await requestIndexing(tx);
    return report;
  });
}
