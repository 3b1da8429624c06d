/** Turning a chosen TSV row into metrics, shared by the `alphadia` and `tsv` extractors. */
import { PermanentError } from '../core/errors.ts';
import { metricNameFromColumn, runCandidates } from './extractor-kit.ts';
import { cellNumber, columnIndex, numericColumns, type TsvRow, type TsvTable } from './tsv.ts';
import type { ExtractContext, MetricValue } from './types.ts';

/** Rows whose `column` equals the raw file's stem (preferred) or full name. */
export function rowsForRun(table: TsvTable, column: string, rawFileName: string): TsvRow[] {
  const idx = columnIndex(table, column);
  if (idx < 0) return [];
  for (const candidate of runCandidates(rawFileName)) {
    const hits = table.rows.filter((r) => (r.cells[idx] ?? '').trim() === candidate);
    if (hits.length > 0) return hits;
  }
  return [];
}

/** The distinct values of a column, for "runs present: ..." messages (at most 20 shown). */
export function listValues(table: TsvTable, column: string): string {
  const idx = columnIndex(table, column);
  if (idx < 0) return '(none)';
  const values = [...new Set(table.rows.map((r) => (r.cells[idx] ?? '').trim()))];
  if (values.length === 0) return '(none: the file has no data rows)';
  const shown = values.slice(0, 20).map((v) => `'${v}'`);
  return values.length > 20 ? `${shown.join(', ')} and ${values.length - 20} more` : shown.join(', ');
}

/**
 * Every numeric column of `row` as a metric (name = column name lowercased, `prefix` prepended),
 * except the `skip` columns. Text columns are left out; missing cells become `null`.
 */
export function allNumericMetrics(
  table: TsvTable,
  row: TsvRow,
  opts: {
    skip?: string[];
    prefix?: string;
    units?: (name: string) => string | undefined;
    ctx?: ExtractContext;
  },
): MetricValue[] {
  const skip = new Set((opts.skip ?? []).map((s) => s.toLowerCase()));
  const out: MetricValue[] = [];
  const seen = new Set<string>();
  for (const i of numericColumns(table)) {
    const column = table.header[i]!;
    if (skip.has(column.toLowerCase())) continue;
    const base = metricNameFromColumn(column);
    if (base === '') {
      opts.ctx?.log?.warn({ file: table.file, column }, 'column name gives no usable metric name; skipped');
      continue;
    }
    const name = (opts.prefix ?? '') + base;
    if (seen.has(name)) {
      throw new PermanentError(
        'metrics.bad_output',
        `${table.file}: two columns give the same metric name '${name}' (one is '${column}')`,
      );
    }
    seen.add(name);
    const value = cellNumber(row.cells[i]) ?? null;
    const unit = opts.units?.(name);
    out.push(unit ? { name, value, unit } : { name, value });
  }
  return out;
}
