/**
 * Metric extractors: the contract, also for custom plugins.
 *
 * A processing job leaves its output in a folder (`ctx.outputDir`). An extractor reads that output and
 * returns QC figures for ONE raw file (`ctx.rawFileName`, e.g. `sample_01.raw` or `sample_01.d`). Sluice
 * stores them per file and processing-settings version.
 *
 * A custom plugin is an ES module (`.js`, `.mjs` or `.ts`) named in the configuration:
 *
 * ```ts
 * // my-extractor.ts
 * import type { MetricExtractor } from 'sluice/metrics/types';
 * const extractor: MetricExtractor = {
 *   name: 'my-tool',
 *   async extract(ctx, options) {
 *     const text = await readFile(join(ctx.outputDir, 'summary.txt'), 'utf8');
 *     return [{ name: 'precursors', value: Number(text.trim()) }];
 *   },
 * };
 * export default extractor;        // or: export { extractor }
 * ```
 *
 * Rules for `extract`:
 * - Return every metric you know about; use `value: null` for a metric that is missing this time
 *   (e.g. a `NaN` in the output) rather than leaving it out, so charts show the gap.
 * - `value` is a finite number or `null`. Non-finite numbers are stored as `null`; anything else is an
 *   error.
 * - `name` is lowercase: letters, digits, `_`, `-`, with `.` to group (`precursors`, `fwhm_rt`,
 *   `optimization.ms2_error`). Names must be unique within one result.
 * - `unit` is optional free text (`ppm`, `min`, `s`).
 * - Only read inside `ctx.outputDir`; never modify it.
 * - Throw `PermanentError` (from `src/core/errors.ts`) when the output can never yield metrics (wrong
 *   format, run missing); throw a plain `Error` for faults worth retrying (e.g. a network file system
 *   hiccup). Messages should name the file and what was expected.
 * - `options` is the extractor's `options` object from the configuration, unvalidated: check it.
 */
export interface MetricValue {
  name: string;
  value: number | null;
  unit?: string;
}

export interface ExtractContext {
  /** Absolute path of the processing output folder for this file. */
  outputDir: string;
  /** Name of the raw file (or folder), with its extension: `sample_01.raw`, `sample_01.d`. */
  rawFileName: string;
  /** Optional structured logger (pino-compatible `warn(obj, msg)`). */
  log?: { warn(obj: object, msg: string): void };
}

export interface MetricExtractor {
  name: string;
  extract(ctx: ExtractContext, options: Record<string, unknown>): Promise<MetricValue[]>;
}

/** Metric names: lowercase letters, digits, `_`, `-`, and `.` between parts. */
export const METRIC_NAME_RE = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

export function isMetricName(name: string): boolean {
  return METRIC_NAME_RE.test(name);
}
