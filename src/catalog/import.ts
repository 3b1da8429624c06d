/**
 * Importing a samples sheet: read it (./sheet.ts), plan it against the samples that exist
 * (./import-plan.ts, pure), and write it in one transaction with the updates' history, or not at all
 * (a creation's history is derived from the sample row, ./history.ts). New samples are sent to the
 * database as they are planned. A sheet with any rejected row writes nothing unless `skipRejected`;
 * `dryRun` plans and writes nothing.
 * The samples' search index is not written here: the import queues the samples it wrote and enqueues
 * a `catalog.index` task in its transaction (./search-index.ts), which indexes them after the commit.
 */
import type { CatalogConfig } from '../core/config/schema/catalog.ts';
import type { Db } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { attributeChecker } from './attributes.ts';
import {
  type ImportPlan,
  missingColumns,
  type PlannedRow,
  planRows,
  type SampleValues,
} from './import-plan.ts';
import { hiddenProjects, listProjects, type Viewer } from './projects.ts';
import { createSamples, lockImports, samplesByRefcode, updateSamples } from './samples.ts';
import { requestIndexing } from './search-index.ts';
import { readCsv, readXlsx, type Sheet } from './sheet.ts';

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

export async function readSheet(buf: Buffer, format: 'csv' | 'xlsx', sheetName?: string): Promise<Sheet> {
  const sheet = format === 'csv' ? readCsv(buf) : await readXlsx(buf, sheetName);
  const missing = missingColumns(sheet.header);
  if (missing.length > 0) {
    throw new UsageError(
      `the sheet has no column ${missing.map((m) => `'${m}'`).join(', ')} (its columns: ${sheet.header.join(', ')})`,
      'the header row must name refcode, name and project; type is optional; every other column is an attribute',
    );
  }
  return sheet;
}

export function reportOf(plan: ImportPlan, written: boolean, dryRun: boolean): ImportReport {
  const pick = (a: string) => plan.rows.filter((r) => r.action === a);
  const changes = plan.rows.some((r) => r.action !== 'unchanged');
  return {
    created: pick('create').map((r) => ({ row: r.row, refcode: r.refcode })),
    updated: pick('update').map((r) => ({ row: r.row, refcode: r.refcode, changed: r.changed })),
    unchanged: pick('unchanged').map((r) => ({ row: r.row, refcode: r.refcode })),
    rejected: plan.rejected,
    written,
    indexing: written && changes,
    dryRun,
  };
}

/**
 * Imports `buf` (a CSV or XLSX sheet): the report says what happened (or would, with `dryRun`).
 * The new samples are written while the sheet is planned: each row planned as a creation goes to
 * PostgreSQL's COPY as soon as it is planned, so the database works while the process plans the
 * rest. Should a row be rejected (and `skipRejected` not set), no more rows are sent, the rest are
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
    const refcodes = sheet.rows
      .map((r) => r.cells[sheet.header.indexOf('refcode')])
      .flatMap((c) => (c && 'value' in c && c.value !== null ? [String(c.value)] : []));
    const existing = await samplesByRefcode(tx, refcodes);
    const plan: ImportPlan = { rows: [], rejected: [] };
    const items = planRows({ sheet, existing, projects: visible, check });
    /** The next row planned into `plan` (null: rejected; undefined: no more rows). */
    const next = (): PlannedRow | null | undefined => {
      const it = items.next();
      if (it.done) return undefined;
      const r = it.value;
      if ('reasons' in r) plan.rejected.push(r);
      // a sample of a project the importer may not see is not theirs to change (nor to learn about)
      else if (r.before !== null && hidden.has(r.before.project_id)) {
        plan.rejected.push({ row: r.row, refcode: r.refcode, reasons: [`refcode '${r.refcode}' is taken`] });
      } else {
        plan.rows.push(r);
        return r;
      }
      return null;
    };
    const mayWrite = () => plan.rejected.length === 0 || opts.skipRejected === true;
    if (!opts.dryRun) {
      await tx.exec('savepoint sample_import');
      // planned and sent row by row; `items` is read by hand, so stopping here leaves it open
      function* creations(): Generator<SampleValues> {
        for (let r = next(); r !== undefined && mayWrite(); r = next()) {
          if (r?.action === 'create') yield r.after;
        }
      }
      await createSamples(tx, creations(), opts.actor);
    }
    while (next() !== undefined); // the rest of the sheet, planned for the report
    const write = !opts.dryRun && mayWrite();
    const report = reportOf(plan, write, opts.dryRun === true);
    if (write) await updateSamples(tx, plan.rows, opts.actor);
    else if (!opts.dryRun) await tx.exec('rollback to savepoint sample_import');
    // the search index is written after this commits, by a durable task enqueued with the samples
    if (report.indexing) await requestIndexing(tx);
    return report;
  });
}
