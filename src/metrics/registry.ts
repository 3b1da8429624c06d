/**
 * Which extractor a configuration names: the built-ins (`alphadia`, `tsv`, `json`, `msqc`) or a
 * custom plugin module (`{ type: 'custom', module: './plugins/my-extractor.ts' }`, resolved against
 * the configuration's folder). A plugin's default export, or its named export `extractor`, must be a
 * `MetricExtractor` (see `types.ts`); what it returns is checked on every call.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { errorMessage, PermanentError, SluiceError } from '../core/errors.ts';
import { alphadiaExtractor } from './alphadia.ts';
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
  [alphadiaExtractor, tsvExtractor, jsonExtractor, msqcExtractor].map((e) => [e.name, e]),
);

export interface ExtractorSpec {
  type: string;
  module?: string;
}

const PLUGIN_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts'];

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
  const file = path.resolve(baseDir, module);
  const where = `plugin module '${module}' (${file})`;
  if (!PLUGIN_EXTENSIONS.includes(path.extname(file))) {
    throw new PermanentError(
      'metrics.bad_plugin',
      `${where}: expected a file ending in ${PLUGIN_EXTENSIONS.join(', ')}`,
    );
  }
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new PermanentError('metrics.bad_plugin', `${where} is not a file`);
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw new PermanentError(
      'metrics.bad_plugin',
      `${where} not found`,
      `paths are relative to ${baseDir}`,
      err,
    );
  }
  if (path.extname(file) === '.ts' && (await packageType(file)) !== 'module') {
    // TypeScript plugins load through tsx (Sluice itself runs compiled), which compiles `.ts` as an ES
    // module only in an ES-module scope. Refuse clearly rather than fail on TypeScript syntax.
    throw new PermanentError(
      'metrics.bad_plugin',
      `${where}: a .ts plugin must be an ES module, but no package.json with "type": "module" is above it`,
      'rename it to .mts, or put a package.json containing {"type": "module"} in its folder',
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await importModule(file)) as Record<string, unknown>;
  } catch (err) {
    throw new PermanentError(
      'metrics.bad_plugin',
      `${where} failed to load: ${errorMessage(err)}`,
      undefined,
      err,
    );
  }
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

/** Imports a plugin file; TypeScript ones through tsx (bin/sluice.js runs Sluice compiled, without it). */
async function importModule(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  if (!/\.[cm]?ts$/.test(file)) return import(url);
  const { tsImport } = await import('tsx/esm/api');
  return tsImport(url, import.meta.url);
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

/** The `type` of the nearest package.json above `file` (Node's rule for `.ts`/`.js` module kind). */
async function packageType(file: string): Promise<string | undefined> {
  let dir = path.dirname(file);
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { type?: unknown };
      return typeof pkg.type === 'string' ? pkg.type : 'commonjs';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
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
