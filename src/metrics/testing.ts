/** Test helpers for the metrics folder: tmp output folders, fixture access, a capturing logger. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PermanentError } from '../core/errors.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__');

/** A fixture as a naive grid (split on newlines and tabs), independent of the reader under test. */
export async function fixtureGrid(
  rel: string,
): Promise<{ text: string; header: string[]; rows: string[][] }> {
  const text = await readFile(path.join(FIXTURES, rel), 'utf8');
  const [header, ...rows] = text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
  return { text, header: header!, rows };
}

export async function makeOutputDir(): Promise<{
  dir: string;
  write(rel: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-metrics-'));
  return {
    dir,
    async write(rel, text) {
      const file = path.join(dir, rel);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text);
      return file;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export function captureLog(): {
  warn(obj: object, msg: string): void;
  warnings: { obj: object; msg: string }[];
} {
  const warnings: { obj: object; msg: string }[] = [];
  return { warnings, warn: (obj, msg) => warnings.push({ obj, msg }) };
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<PermanentError> {
  const res = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (res.ok) throw new Error(`expected a rejection, got ${JSON.stringify(res.v)}`);
  if (!(res.e instanceof PermanentError)) throw res.e;
  return res.e;
}

/** The PermanentError a function throws. */
export function thrown(fn: () => unknown): PermanentError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PermanentError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

/** Build TSV text from a header and rows. */
export function tsv(header: string[], rows: (string | number)[][], eol = '\n'): string {
  return [header, ...rows].map((r) => r.join('\t')).join(eol) + eol;
}
