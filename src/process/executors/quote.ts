/**
 * Quoting and validation of every value that reaches a shell or a scheduler command.
 *
 * Locally, commands run through `execFile` (no shell). Over SSH the remote side always runs the
 * command line through the user's login shell, so argv is joined with POSIX single-quote quoting:
 * inside '...' nothing is special except the closing quote, which becomes '\'' .
 */
import path from 'node:path';
import { PermanentError } from '../../core/errors.ts';

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argument as a POSIX shell word. */
export function quoteArg(arg: string, first = false): string {
  if (arg.includes('\0')) {
    throw new PermanentError('process.bad_argument', 'a command argument contains a NUL byte');
  }
  // A first word with '=' would be taken as a variable assignment.
  if (arg !== '' && PLAIN.test(arg) && !(first && arg.includes('='))) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** argv as one POSIX shell command line that reproduces exactly these arguments. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a, i) => quoteArg(a, i === 0)).join(' ');
}

export const KEY_PATTERN = /^[A-Za-z0-9._-]{1,120}$/;

export function validateKey(key: string): void {
  if (!KEY_PATTERN.test(key)) {
    throw new PermanentError(
      'process.bad_job_key',
      `job key ${JSON.stringify(key.slice(0, 200))} is not valid: it must match [A-Za-z0-9._-]{1,120}`,
      'this is a bug in the caller that builds job keys',
    );
  }
}

/**
 * A work directory must be an absolute path without newlines or NUL (the executors pass lists
 * of work directories line by line). `forSlurm` also refuses backslashes: SLURM treats a
 * backslash in --output as an escape character and cannot write a log there.
 */
export function validateWorkDir(workDir: string, opts: { forSlurm?: boolean } = {}): void {
  const bad = (why: string): never => {
    throw new PermanentError(
      'process.bad_work_dir',
      `job work directory ${JSON.stringify(workDir.slice(0, 500))} is not usable: ${why}`,
      'choose an output directory path without such characters',
    );
  };
  if (!path.posix.isAbsolute(workDir)) bad('it must be an absolute path');
  if (/[\n\r\0]/.test(workDir)) bad('it contains a newline or NUL character');
  if (opts.forSlurm && workDir.includes('\\'))
    bad('SLURM cannot write job logs into a path with a backslash');
  if (workDir.length > 3000) bad('it is longer than 3000 characters');
}

/** A path for sbatch --output/--error: '%' starts a replacement pattern there, so it is doubled. */
export function slurmFilename(p: string): string {
  return p.replaceAll('%', '%%');
}

/** Join a work directory and a file name (POSIX, as the cluster sees it). */
export function inWorkDir(workDir: string, name: string): string {
  return workDir.endsWith('/') ? workDir + name : `${workDir}/${name}`;
}
