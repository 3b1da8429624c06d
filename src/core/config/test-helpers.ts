/** Helpers for the config tests: a temp directory with config files in it. */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError } from '../errors.ts';
import { parseConfigText } from './load.ts';

export interface TempDir {
  dir: string;
  write(name: string, text: string, mode?: number): Promise<string>;
  cleanup(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
  return {
    dir,
    async write(name, text, mode) {
      const p = join(dir, name);
      await writeFile(p, text);
      if (mode !== undefined) await chmod(p, mode);
      return p;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** YAML with the common indentation removed, so tests can indent it with the code. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = raw.replace(/^\n/, '').split('\n');
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
  );
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Awaits `p`, expects a ConfigError with exit code 2 whose message contains every part. */
export async function expectConfigError(
  p: Promise<unknown> | (() => unknown),
  parts: string[],
): Promise<ConfigError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a ConfigError').toBeInstanceOf(ConfigError);
  const ce = err as ConfigError;
  expect(ce.exitCode).toBe(2);
  expect(ce.code).toBe('config.invalid');
  for (const part of parts) expect(ce.message).toContain(part);
  return ce;
}

/** The config a YAML text gives, as `/etc/sluice/sluice.yaml` (relative paths resolve there). */
export const parseAt = (text: string) => parseConfigText(text, '/etc/sluice/sluice.yaml').config;

/** The message a refused config text gets (fails the test when the text is accepted). */
export function refusal(text: string): string {
  try {
    parseAt(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}
