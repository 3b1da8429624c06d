/**
 * Reading the small per-job files and the log tails of many work directories with ONE command
 * each (local or over SSH).
 */
import { randomBytes } from 'node:crypto';
import { SluiceError } from '../../core/errors.ts';
import type { CommandRunner } from './command.ts';
import type { LogTail } from './types.ts';

/**
 * For each directory, for each name: the file's content (newlines turned into spaces, at most
 * 4 KiB) or undefined when it does not exist. Directories go over stdin, one per line (work
 * directories never contain newlines: validateWorkDir), names as arguments: nothing is ever
 * pasted into the shell script itself.
 */
export async function readJobFiles(
  runner: CommandRunner,
  dirs: readonly string[],
  names: readonly string[],
  timeoutMs?: number,
): Promise<(string | undefined)[][]> {
  if (dirs.length === 0) return [];
  const script =
    'while IFS= read -r d; do for n in "$@"; do ' +
    `if [ -f "$d/$n" ]; then printf '+'; head -c 4096 -- "$d/$n" | tr '\\n\\r' '  '; echo; else echo -; fi; ` +
    'done; done';
  const res = await runner.run(['sh', '-c', script, 'sluice-read', ...names], {
    input: `${dirs.join('\n')}\n`,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  const lines = res.stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (res.code !== 0 || lines.length !== dirs.length * names.length) {
    throw new SluiceError(
      'process.read_job_files',
      `could not read job status files on ${runner.description} (exit ${res.code}, ${lines.length} of ${dirs.length * names.length} lines): ${res.stderr.trim().slice(0, 500)}`,
    );
  }
  const out: (string | undefined)[][] = [];
  let i = 0;
  for (let d = 0; d < dirs.length; d++) {
    const row: (string | undefined)[] = [];
    for (let n = 0; n < names.length; n++) {
      const line = lines[i++]!;
      row.push(line.startsWith('+') ? line.slice(1).trim() : undefined);
    }
    out.push(row);
  }
  return out;
}

/**
 * The last `lines` lines of `name` in each directory, with ONE command (one spawn or one SSH round
 * trip for a whole poll round instead of one per job). Each tail is followed by a line holding a
 * boundary token made up for this call and tail's exit status, so any log content, with or
 * without a final newline, comes back exactly.
 */
export async function readLogTails(
  runner: CommandRunner,
  dirs: readonly string[],
  name: string,
  lines: number,
  timeoutMs?: number,
): Promise<LogTail[]> {
  if (dirs.length === 0) return [];
  const boundary = `--sluice-tail-${randomBytes(12).toString('hex')}--`;
  const script =
    'n=$1 name=$2 b=$3; while IFS= read -r d; do s=0; ' +
    'if [ -e "$d/$name" ]; then tail -n "$n" -- "$d/$name" || s=$?; fi; ' +
    `printf '\\n%s %s\\n' "$b" "$s"; done`;
  const res = await runner.run(['sh', '-c', script, 'sluice-tail', String(lines), name, boundary], {
    input: `${dirs.join('\n')}\n`,
    ...(timeoutMs ? { timeoutMs } : {}),
  });
  const parts = res.stdout.split(new RegExp(`\\n${boundary} (\\d+)\\n`));
  // [text0, status0, text1, status1, ..., ''] — one text and one status per directory
  if (res.code !== 0 || parts.length !== dirs.length * 2 + 1) {
    throw new SluiceError(
      'process.read_job_files',
      `could not read job logs on ${runner.description} (exit ${res.code}, ${(parts.length - 1) / 2} of ${dirs.length} logs): ${res.stderr.trim().slice(0, 500)}`,
    );
  }
  return dirs.map((_, i) =>
    parts[i * 2 + 1] === '0'
      ? { text: parts[i * 2]! }
      : { problem: `tail exited with ${parts[i * 2 + 1]}: ${res.stderr.trim().slice(0, 300)}` },
  );
}
