/**
 * `diann` extractor: DIA-NN's per-run statistics table (`report.stats.tsv`, written beside the report
 * named by `--out`). One row per run; `File.Name` holds the run's full input path as DIA-NN was given
 * it (POSIX or Windows, `.raw`, `.d`, `.wiff` or a converted `.mzML`), so the row is found by the file
 * name's stem, whatever folder or converted extension it carries.
 *
 * Every numeric column becomes a metric named in snake case (`Precursors.Identified` →
 * `precursors_identified`, `Median.Mass.Acc.MS1` → `median_mass_acc_ms1`), so columns added by a new
 * DIA-NN release appear without a code change. Units where the column says: mass accuracies in ppm,
 * `FWHM.RT` in minutes, `FWHM.Scans` in scans.
 *
 * Options (all optional): `file` (default `report.stats.tsv`, relative to the output folder).
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors.ts';
import { parseOptions, rawFileStem, resolveInside } from './extractor-kit.ts';
import { allNumericMetrics, listValues } from './rows.ts';
import { columnIndex, readTsv, type TsvRow, type TsvTable } from './tsv.ts';
import type { ExtractContext, MetricExtractor } from './types.ts';

export const diannOptionsSchema = z
  .object({
    file: z.string().trim().min(1, 'expected a non-empty relative path').default('report.stats.tsv'),
  })
  .strict();

const RUN_COLUMN = 'File.Name';

/** DIA-NN's column name in snake case: `Median.Mass.Acc.MS1` → `median_mass_acc_ms1`. */
export function diannMetricName(column: string): string {
  return column
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export function diannUnit(name: string): string | undefined {
  if (/^median_mass_acc_ms[12](_corrected)?$/.test(name)) return 'ppm';
  if (name === 'fwhm_rt') return 'min';
  if (name === 'fwhm_scans') return 'scans';
  return undefined;
}

/** The stem of a path as DIA-NN wrote it: either separator, and `.d`/`.raw`/`.mzML` dropped. */
export function runStem(fileName: string): string {
  const base = fileName.trim().split(/[\\/]/).filter(Boolean).pop() ?? '';
  return rawFileStem(base);
}

/** The row of `table` whose `File.Name` names this raw file (by stem). */
export function pickDiannRow(table: TsvTable, ctx: ExtractContext): TsvRow {
  const idx = columnIndex(table, RUN_COLUMN);
  if (idx < 0) {
    throw new PermanentError(
      'metrics.bad_output',
      `${table.file}: no '${RUN_COLUMN}' column; columns present: ${table.header.join(', ') || '(none)'}`,
      'is this a DIA-NN report.stats.tsv? For other tables use type: tsv',
    );
  }
  const want = rawFileStem(ctx.rawFileName);
  const hits = table.rows.filter((r) => runStem(r.cells[idx] ?? '') === want);
  if (hits.length === 0) {
    throw new PermanentError(
      'metrics.run_not_found',
      `${table.file}: no row whose ${RUN_COLUMN} is the run '${want}'; runs present: ${listValues(table, RUN_COLUMN)}`,
      'check that the processing job was given this raw file',
    );
  }
  if (hits.length > 1) {
    ctx.log?.warn(
      { file: table.file, rawFileName: ctx.rawFileName, rows: hits.length },
      'several DIA-NN rows for this run; using the first',
    );
  }
  return hits[0]!;
}

export const diannExtractor: MetricExtractor = {
  name: 'diann',
  async extract(ctx, options) {
    const opts = parseOptions('diann', diannOptionsSchema, options);
    const table = await readTsv(resolveInside(ctx.outputDir, opts.file, 'diann options.file'));
    const row = pickDiannRow(table, ctx);
    // Column names go through DIA-NN's own snake case, not the generic lower-casing with dots kept.
    const renamed: TsvTable = { ...table, header: table.header.map(diannMetricName) };
    return allNumericMetrics(renamed, row, { skip: [diannMetricName(RUN_COLUMN)], units: diannUnit, ctx });
  },
};
