import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { patient } from './patience.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Starts a TypeScript file as a child node process (through tsx); resolves once it prints `ready`. */
export async function spawnTs(
  file: string,
  env: Record<string, string>,
  opts: { ready?: string; args?: string[] } = {},
): Promise<ChildProcess & { output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(root, file), ...(opts.args ?? [])], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ready = opts.ready ?? 'ready';
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.includes(ready)) {
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before ready:\n${out}`)));
  });
  return Object.assign(child, { output: () => out });
}

export function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Polls `fn` until it returns a truthy value, or until `timeoutMs` of a quiet machine (× PATIENCE, see
 * patience.ts) passes: then it throws naming `what`.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + patient(timeoutMs);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} (${patient(timeoutMs) / 1000} s)`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
