/**
 * Generic extractors, configured rather than coded:
 *
 * - `tsv`: `{ file, columns?, row?, match_column? }`. `columns` maps source columns to metric names
 *   (default: every numeric column, named after the column lowercased). `row` is `first`, `last` or
 *   `match` (the row whose `match_column` equals the raw file's stem or full name; the default when
 *   `match_column` is given, else `first`).
 * - `json`: `{ file, fields }`. `fields` maps metric names to paths like `summary.precursors` or
 *   `runs[0].fwhm` (see `jsonpath.ts`). A path that is absent gives `null`; a value that is not a
 *   number (or numeric string) is left out with a warning. Python's bare `NaN` is accepted.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors.ts';
import { parseOptions, readOutputText, resolveInside, runCandidates } from './extractor-kit.ts';
import { parseJsonLenient, parsePath, resolvePath } from './jsonpath.ts';
import { allNumericMetrics, listValues, rowsForRun } from './rows.ts';
import { cellNumber, columnIndex, readTsv, type TsvRow, type TsvTable } from './tsv.ts';
import { type ExtractContext, METRIC_NAME_RE, type MetricExtractor, type MetricValue } from './types.ts';

const relPath = z.string().trim().min(1, 'expected a non-empty path relative to the output folder');
const metricName = z
  .string()
  .regex(
    METRIC_NAME_RE,
    'expected a metric name: lowercase letters, digits, _ and -, with . between parts (e.g. fwhm_rt, optimization.ms2_error)',
  );

export const tsvOptionsSchema = z
  .object({
    file: relPath,
    columns: z
      .record(z.string().trim().min(1, 'expected a column name'), metricName)
      .refine((c) => Object.keys(c).length > 0, 'expected at least one column (or leave columns out for all)')
      .refine(
        (c) => new Set(Object.values(c)).size === Object.values(c).length,
        'two columns map to the same metric name',
      )
      .optional(),
    row: z.enum(['first', 'last', 'match']).optional(),
    match_column: z.string().trim().min(1, 'expected a column name').optional(),
  })
  .strict()
  .refine((o) => o.row !== 'match' || o.match_column !== undefined, {
    message: "match_column is required when row is 'match'",
    path: ['match_column'],
  });

export type TsvOptions = z.output<typeof tsvOptionsSchema>;

const jsonPathString = z.string().superRefine((p, issue) => {
  try {
    parsePath(p);
  } catch (err) {
    issue.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const jsonOptionsSchema = z
  .object({
    file: relPath,
    fields: z
      .record(metricName, jsonPathString)
      .refine(
        (f) => Object.keys(f).length > 0,
        'expected at least one field: { metric_name: "path.to.value" }',
      ),
  })
  .strict();

export type JsonOptions = z.output<typeof jsonOptionsSchema>;

function pickRow(table: TsvTable, opts: TsvOptions, ctx: ExtractContext): TsvRow {
  const mode = opts.row ?? (opts.match_column ? 'match' : 'first');
  if (table.rows.length === 0) {
    throw new PermanentError('metrics.bad_output', `${table.file}: the file has a header but no data rows`);
  }
  if (mode === 'first') return table.rows[0]!;
  if (mode === 'last') return table.rows[table.rows.length - 1]!;
  const col = opts.match_column!;
  if (columnIndex(table, col) < 0) {
    throw new PermanentError(
      'metrics.bad_output',
      `${table.file}: no column '${col}' (options.match_column); columns present: ${table.header.join(', ')}`,
    );
  }
  const hits = rowsForRun(table, col, ctx.rawFileName);
  if (hits.length === 0) {
    throw new PermanentError(
      'metrics.run_not_found',
      `${table.file}: no row with ${col} ${runCandidates(ctx.rawFileName)
        .map((c) => `'${c}'`)
        .join(' or ')}; values present: ${listValues(table, col)}`,
    );
  }
  if (hits.length > 1) {
    ctx.log?.warn(
      { file: table.file, column: col, rows: hits.map((h) => h.line) },
      'several rows match this raw file; using the first',
    );
  }
  return hits[0]!;
}

/** Metrics from a parsed table, by `tsv` options (exported for presets and tests). */
export function tsvMetrics(table: TsvTable, opts: TsvOptions, ctx: ExtractContext): MetricValue[] {
  const row = pickRow(table, opts, ctx);
  if (!opts.columns) {
    return allNumericMetrics(table, row, { skip: opts.match_column ? [opts.match_column] : [], ctx });
  }
  const out: MetricValue[] = [];
  for (const [column, name] of Object.entries(opts.columns)) {
    const idx = columnIndex(table, column);
    if (idx < 0) {
      throw new PermanentError(
        'metrics.bad_output',
        `${table.file}: no column '${column}' (options.columns); columns present: ${table.header.join(', ')}`,
        'the output format may have changed; update the extractor options',
      );
    }
    const value = cellNumber(row.cells[idx]);
    if (value === undefined) {
      ctx.log?.warn(
        { file: table.file, line: row.line, column, cell: row.cells[idx] },
        'cell is not a number; metric left out',
      );
      continue;
    }
    out.push({ name, value });
  }
  return out;
}

export const tsvExtractor: MetricExtractor = {
  name: 'tsv',
  async extract(ctx, options) {
    const opts = parseOptions('tsv', tsvOptionsSchema, options);
    const table = await readTsv(resolveInside(ctx.outputDir, opts.file, 'tsv options.file'));
    return tsvMetrics(table, opts, ctx);
  },
};

/** Metrics from a parsed JSON document, by `json` options (exported for tests). */
export function jsonMetrics(doc: unknown, fields: Record<string, string>, file: string, ctx: ExtractContext) {
  const out: MetricValue[] = [];
  for (const [name, p] of Object.entries(fields)) {
    const res = resolvePath(doc, parsePath(p));
    if (!res.found) {
      ctx.log?.warn(
        { file, metric: name, path: p, missing: res.missing },
        'JSON path not found; metric is null',
      );
      out.push({ name, value: null });
      continue;
    }
    const v = res.value;
    let value: number | null | undefined;
    if (v === null) value = null;
    else if (typeof v === 'number') value = Number.isFinite(v) ? v : null;
    else if (typeof v === 'string') value = cellNumber(v);
    if (value === undefined) {
      ctx.log?.warn(
        { file, metric: name, path: p, type: Array.isArray(v) ? 'array' : typeof v },
        'JSON value is not a number; metric left out',
      );
      continue;
    }
    out.push({ name, value });
  }
  return out;
}

export const jsonExtractor: MetricExtractor = {
  name: 'json',
  async extract(ctx, options) {
    const opts = parseOptions('json', jsonOptionsSchema, options);
    const file = resolveInside(ctx.outputDir, opts.file, 'json options.file');
    const text = await readOutputText(file);
    let doc: unknown;
    try {
      doc = parseJsonLenient(text);
    } catch (err) {
      throw new PermanentError(
        'metrics.bad_output',
        `${file}: not valid JSON: ${(err as Error).message}`,
        undefined,
        err,
      );
    }
    return jsonMetrics(doc, opts.fields, file, ctx);
  },
};
