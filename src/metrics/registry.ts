/**
 * Which extractor a configuration names: the built-ins (`alphadia`, `diann`, `tsv`, `json`, `msqc`) or a
 * custom plugin module (`{ type: 'custom', module: './plugins/my-extractor.ts' }`, resolved against
 * the configuration's folder). A plugin's default export, or its named export `extractor`, must be a
 * `MetricExtractor` (see `types.ts`); what it returns is checked on every call.
 */
import { z } from 'zod';
import { PermanentError } from '../core/errors.ts';
import { importPluginModule } from '../core/plugins.ts';
import { alphadiaExtractor } from './alphadia.ts';
import { diannExtractor } from './diann.ts';
import { parseOptions, resolveInside } from './extractor-kit.ts';
import { jsonExtractor, tsvExtractor, tsvMetrics } from './generic.ts';
import { readTsv } from './tsv.ts';
import { type ExtractContext, isMetricName, type MetricExtractor, type MetricValue } from './types.ts';

const msqcOptionsSchema = z
  .object({
    file: z.string().trim().min(1, 'expected a non-empty relative path').default('msqc_results.tsv'),
  })
  .strict();

/**
 * `msqc`: MSQC's `msqc_results.tsv`, one data row under a header whose first column is pandas'
 * unnamed index (left out); every numeric column is a metric (`ms1_median_injection_time`, ...).
 */
export const msqcExtractor: MetricExtractor = {
  name: 'msqc',
  async extract(ctx, options) {
    const opts = parseOptions('msqc', msqcOptionsSchema, options);
    const table = await readTsv(resolveInside(ctx.outputDir, opts.file, 'msqc options.file'));
    if (table.rows.length > 1) {
      ctx.log?.warn(
        { file: table.file, rows: table.rows.length },
        'MSQC results have several rows; using the first',
      );
    }
    return tsvMetrics(table, { file: opts.file, row: 'first' }, ctx);
  },
};

export const builtinExtractors: ReadonlyMap<string, MetricExtractor> = new Map(
  [alphadiaExtractor, diannExtractor, tsvExtractor, jsonExtractor, msqcExtractor].map((e) => [e.name, e]),
);

export interface ExtractorSpec {
  type: string;
  module?: string;
}

function knownTypes(): string {
  return [...builtinExtractors.keys(), 'custom'].map((t) => `'${t}'`).join(', ');
}

/**
 * The extractor for a configuration entry. `baseDir` is where relative `module` paths start (the
 * configuration file's folder).
 */
export async function loadExtractor(spec: ExtractorSpec, baseDir: string): Promise<MetricExtractor> {
  if (spec.type !== 'custom') {
    const builtin = builtinExtractors.get(spec.type);
    if (!builtin) {
      throw new PermanentError(
        'metrics.unknown_extractor',
        `unknown metric extractor type '${spec.type}'; known types: ${knownTypes()}`,
      );
    }
    if (spec.module !== undefined) {
      throw new PermanentError(
        'metrics.bad_options',
        `metric extractor type '${spec.type}' does not take a module ('${spec.module}'); use type 'custom' for a plugin`,
      );
    }
    return builtin;
  }
  if (typeof spec.module !== 'string' || spec.module.trim() === '') {
    throw new PermanentError(
      'metrics.bad_plugin',
      "metric extractor type 'custom' needs `module`: the path of a .js, .mjs or .ts file",
    );
  }
  return checkedExtractor(await importPlugin(spec.module, baseDir), spec.module);
}

async function importPlugin(module: string, baseDir: string): Promise<MetricExtractor> {
  const { mod, where } = await importPluginModule(module, baseDir, 'metrics.bad_plugin');
  // ESM: `export default` / `export const extractor`. CommonJS (`module.exports = ...` or
  // `exports.extractor = ...`) arrives wrapped in `default`.
  const wrapped = isObjectLike(mod.default) ? (mod.default as Record<string, unknown>) : {};
  const candidates = [mod.default, mod.extractor, wrapped.default, wrapped.extractor].filter(
    (c) => c !== undefined && c !== null,
  );
  const valid = candidates.find((c) => extractorProblems(c).length === 0);
  if (valid) return valid as MetricExtractor;
  const first = candidates[0];
  if (first === undefined) {
    throw new PermanentError(
      'metrics.bad_plugin',
      `${where} exports no extractor: expected a default export or a named export 'extractor' (exports: ${
        Object.keys(mod).join(', ') || 'none'
      })`,
    );
  }
  throw new PermanentError(
    'metrics.bad_plugin',
    `${where}: the exported extractor is missing ${extractorProblems(first).join(' and ')}`,
    'see src/metrics/types.ts for the MetricExtractor interface',
  );
}

function isObjectLike(v: unknown): boolean {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

/** What keeps `candidate` from being a MetricExtractor (empty when nothing). */
function extractorProblems(candidate: unknown): string[] {
  if (!isObjectLike(candidate)) return [`an object (got ${typeof candidate})`];
  const obj = candidate as Partial<Record<keyof MetricExtractor, unknown>>;
  const missing: string[] = [];
  if (typeof obj.name !== 'string' || obj.name.trim() === '') missing.push('`name` (a non-empty string)');
  if (typeof obj.extract !== 'function') {
    missing.push('`extract` (a function (ctx, options) => Promise<MetricValue[]>)');
  }
  return missing;
}

/**
 * Check what an extractor returned: an array of `{ name, value, unit? }` with valid, unique names and
 * numeric or null values (non-finite numbers become null). Throws `metrics.bad_plugin_output`.
 */
export function validateMetrics(result: unknown, source: string): MetricValue[] {
  const fail: (why: string) => never = (why) => {
    throw new PermanentError('metrics.bad_plugin_output', `metric extractor ${source} returned ${why}`);
  };
  if (!Array.isArray(result))
    fail(`${result === null ? 'null' : typeof result}, expected an array of metrics`);
  const out: MetricValue[] = [];
  const seen = new Set<string>();
  for (const [i, m] of (result as unknown[]).entries()) {
    if (m === null || typeof m !== 'object') fail(`a non-object at index ${i}`);
    const { name, value, unit } = m as Record<string, unknown>;
    if (typeof name !== 'string' || !isMetricName(name)) {
      fail(
        `an invalid metric name ${JSON.stringify(name)} at index ${i} (expected e.g. 'fwhm_rt', 'optimization.ms2_error')`,
      );
    }
    if (seen.has(name)) fail(`metric '${name}' twice`);
    seen.add(name);
    if (value !== null && typeof value !== 'number') {
      fail(`a ${typeof value} for metric '${name}', expected a number or null`);
    }
    if (unit !== undefined && typeof unit !== 'string') fail(`a non-string unit for metric '${name}'`);
    const v = value === null || !Number.isFinite(value) ? null : value;
    out.push(unit === undefined ? { name, value: v } : { name, value: v, unit });
  }
  return out;
}

function checkedExtractor(plugin: MetricExtractor, module: string): MetricExtractor {
  const source = `'${plugin.name}' (${module})`;
  return {
    name: plugin.name,
    async extract(ctx: ExtractContext, options: Record<string, unknown>) {
      return validateMetrics(await plugin.extract(ctx, options), source);
    },
  };
}
