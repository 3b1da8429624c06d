/**
 * `alphadia` extractor: AlphaDIA's `stat.tsv` (one row per run, or per run and channel when
 * multiplexed) and, when present, `internal.tsv` (durations, as `internal.<column>`).
 *
 * Every numeric column becomes a metric named after the column, lowercased, dots kept
 * (`precursors`, `fwhm_rt`, `optimization.ms2_error`), so columns added by new AlphaDIA versions
 * appear without a code change. The identifier columns `run` and `channel` are not metrics.
 *
 * Options (all optional): `file` (default `stat.tsv`, relative to the output folder),
 * `internal_file` (default `internal.tsv` beside `file`; `false` to skip it), `channel` (which channel
 * row to use for multiplexed runs; default the lowest).
 */
import path from 'node:path';
import { z } from 'zod';
import { PermanentError } from '../core/errors.ts';
import { parseOptions, resolveInside, runCandidates } from './extractor-kit.ts';
import { allNumericMetrics, listValues, rowsForRun } from './rows.ts';
import { cellNumber, columnIndex, readTsv, type TsvRow, type TsvTable } from './tsv.ts';
import type { ExtractContext, MetricExtractor, MetricValue } from './types.ts';

const relPath = z.string().trim().min(1, 'expected a non-empty relative path');

export const alphadiaOptionsSchema = z
  .object({
    file: relPath.default('stat.tsv'),
    internal_file: z.union([relPath, z.literal(false)]).optional(),
    channel: z.number().int().nonnegative().optional(),
  })
  .strict();

export type AlphadiaOptions = z.output<typeof alphadiaOptionsSchema>;

/** Units where the AlphaDIA column name says it: mass errors in ppm, `*_m` in minutes. */
function alphadiaUnit(name: string): string | undefined {
  if (/^(optimization\.ms[12]_error|calibration\.ms[12]_median_(accuracy|precision))$/.test(name))
    return 'ppm';
  if (/^raw\.gradient_\w+_m$/.test(name)) return 'min';
  return undefined;
}

/**
 * The row of `table` for this raw file: the row whose `run` is the raw file's stem (or full name);
 * a single-row table is used as is. Several rows for the run (channels) → the `channel` asked for,
 * else the lowest channel.
 */
export function pickRunRow(table: TsvTable, ctx: ExtractContext, channel: number | undefined): TsvRow {
  let rows = rowsForRun(table, 'run', ctx.rawFileName);
  if (rows.length === 0) {
    const only = table.rows.length === 1 ? table.rows[0] : undefined;
    if (only && channel === undefined) {
      if (columnIndex(table, 'run') >= 0) {
        ctx.log?.warn(
          { file: table.file, runs: listValues(table, 'run'), rawFileName: ctx.rawFileName },
          'the only row in the file names another run; using it',
        );
      }
      return only;
    }
    if (!only) {
      throw new PermanentError(
        'metrics.run_not_found',
        `${table.file}: no row with run ${runCandidates(ctx.rawFileName)
          .map((c) => `'${c}'`)
          .join(' or ')}; runs present: ${listValues(table, 'run')}`,
        'check that the processing job was given this raw file',
      );
    }
    rows = [only];
  }
  const chIdx = columnIndex(table, 'channel');
  if (chIdx < 0) {
    if (rows.length > 1) {
      ctx.log?.warn(
        { file: table.file, rawFileName: ctx.rawFileName, rows: rows.length },
        'several rows for this run and no channel column; using the first',
      );
    }
    return rows[0]!;
  }
  const withChannel = rows.map((r) => ({ r, ch: cellNumber(r.cells[chIdx]) }));
  if (channel !== undefined) {
    const hit = withChannel.find((x) => x.ch === channel);
    if (!hit) {
      throw new PermanentError(
        'metrics.run_not_found',
        `${table.file}: run for '${ctx.rawFileName}' has no channel ${channel}; channels present: ${withChannel
          .map((x) => String(x.ch ?? '?'))
          .join(', ')}`,
      );
    }
    return hit.r;
  }
  let best = withChannel[0]!;
  for (const x of withChannel) {
    if (x.ch !== null && x.ch !== undefined && (typeof best.ch !== 'number' || x.ch < best.ch)) best = x;
  }
  return best.r;
}

async function internalMetrics(file: string, explicit: boolean, ctx: ExtractContext): Promise<MetricValue[]> {
  let table: TsvTable;
  try {
    table = await readTsv(file);
  } catch (err) {
    if (err instanceof PermanentError && err.code === 'metrics.output_missing') {
      if (explicit) ctx.log?.warn({ file }, 'AlphaDIA internal_file does not exist; its metrics are skipped');
      return [];
    }
    if (err instanceof PermanentError) {
      // internal.tsv is optional: a broken one must not cost the stat.tsv metrics.
      ctx.log?.warn({ file, err: err.message }, 'cannot read AlphaDIA internal.tsv; its metrics are skipped');
      return [];
    }
    throw err;
  }
  let row: TsvRow;
  try {
    row = pickRunRow(table, ctx, undefined);
  } catch (err) {
    if (!(err instanceof PermanentError)) throw err;
    ctx.log?.warn({ file, err: err.message }, 'no row for this run in AlphaDIA internal.tsv; skipped');
    return [];
  }
  return allNumericMetrics(table, row, { skip: ['run', 'channel'], prefix: 'internal.', ctx });
}

export const alphadiaExtractor: MetricExtractor = {
  name: 'alphadia',
  async extract(ctx, options) {
    const opts = parseOptions('alphadia', alphadiaOptionsSchema, options);
    const statFile = resolveInside(ctx.outputDir, opts.file, 'alphadia options.file');
    const table = await readTsv(statFile);
    const row = pickRunRow(table, ctx, opts.channel);
    const metrics = allNumericMetrics(table, row, { skip: ['run', 'channel'], units: alphadiaUnit, ctx });
    if (opts.internal_file !== false) {
      const rel = opts.internal_file ?? path.join(path.dirname(opts.file), 'internal.tsv');
      const internalFile = resolveInside(ctx.outputDir, rel, 'alphadia options.internal_file');
      metrics.push(...(await internalMetrics(internalFile, opts.internal_file !== undefined, ctx)));
    }
    return metrics;
  },
};
