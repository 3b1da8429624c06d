/**
 * What the built-in extractors share: reading a file of a job's output
 * safely (inside the folder, size-capped), metric names from column names, the raw file's stem and
 * run names to find its row, and parsing an extractor's options.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { PermanentError } from '../core/errors.ts';

/** Biggest output file the built-in extractors read (QC tables are a few KiB). */
export const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * A metric name from a column name: trimmed, lowercased, other characters than `a-z0-9_.-` turned
 * into `_` (dots kept: `optimization.ms2_error`). Returns '' for a blank column name.
 */
export function metricNameFromColumn(column: string): string {
  return column
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._]+|[._]+$/g, '');
}

/** `sample_01.raw` → `sample_01`; `sample.d` → `sample`; `noext` → `noext`. Path parts are dropped. */
export function rawFileStem(rawFileName: string): string {
  const base = path.basename(rawFileName);
  const ext = path.extname(base);
  return ext ? base.slice(0, -ext.length) : base;
}

/** Values a `run`-like cell may hold for this raw file: the stem first, then the full name. */
export function runCandidates(rawFileName: string): string[] {
  const base = path.basename(rawFileName);
  const stem = rawFileStem(rawFileName);
  return stem === base ? [base] : [stem, base];
}

/**
 * `rel` resolved inside `outputDir`; absolute paths and `..` escapes are configuration errors.
 */
export function resolveInside(outputDir: string, rel: string, what: string): string {
  if (path.isAbsolute(rel)) {
    throw new PermanentError(
      'metrics.bad_options',
      `${what}: expected a path relative to the output folder, got absolute path '${rel}'`,
    );
  }
  const root = path.resolve(outputDir);
  const full = path.resolve(root, rel);
  if (full !== root && !full.startsWith(root + path.sep)) {
    throw new PermanentError(
      'metrics.bad_options',
      `${what}: '${rel}' points outside the output folder ${root}`,
    );
  }
  return full;
}

/**
 * Read an output file as text. A missing file or a folder in its place is a `PermanentError`
 * (`metrics.output_missing` / `metrics.bad_output`); other I/O errors propagate (retryable).
 */
export async function readOutputText(file: string): Promise<string> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.isDirectory()) {
      throw new PermanentError('metrics.bad_output', `${file} is a folder, expected a file`);
    }
    size = st.size;
  } catch (err) {
    if (err instanceof PermanentError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PermanentError(
        'metrics.output_missing',
        `output file ${file} does not exist`,
        'check that the processing job finished and wrote its results, and the extractor options `file`',
        err,
      );
    }
    throw err;
  }
  if (size > MAX_OUTPUT_BYTES) {
    throw new PermanentError(
      'metrics.bad_output',
      `${file} is ${size} bytes; metric files larger than ${MAX_OUTPUT_BYTES} bytes are not read`,
    );
  }
  return readFile(file, 'utf8');
}

/** Validate extractor options with zod; errors name the extractor, each option and what was expected. */
export function parseOptions<S extends z.ZodType>(
  extractor: string,
  schema: S,
  options: unknown,
): z.output<S> {
  const res = schema.safeParse(options ?? {});
  if (res.success) return res.data;
  const parts = res.error.issues.map((issue) => {
    const where = issue.path.length ? `options.${issue.path.map(String).join('.')}` : 'options';
    if (issue.code === 'invalid_key') {
      const why = issue.issues.map((i) => i.message).join('; ');
      return `${where}: the key '${String(issue.path[issue.path.length - 1])}' is invalid: ${why}`;
    }
    return `${where}: ${issue.message}`;
  });
  throw new PermanentError(
    'metrics.bad_options',
    `invalid options for metric extractor '${extractor}': ${parts.join('; ')}`,
    'fix the extractor options in the configuration',
  );
}
