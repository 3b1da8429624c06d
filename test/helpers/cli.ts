import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SLUICE_BIN = path.join(root, 'bin/sluice.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `sluice` command. */
export function sluice(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return run(args, opts, false);
}

/**
 * Runs `sluice` like `sluice ... | head -1`: stdout's read side is closed after the first chunk, so
 * the command's further writes fail with EPIPE. Returns that first chunk as `stdout`.
 */
export function sluiceClosingStdout(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  return run(args, opts, true);
}

function run(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; input?: string },
  closeAfterFirstChunk: boolean,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], {
      cwd: opts.cwd ?? root,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (closeAfterFirstChunk && stdout !== '') return;
      stdout += d.toString();
      if (closeAfterFirstChunk) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.end(opts.input ?? '');
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
