/** Reading the small per-job files of many work directories with ONE command (local or over SSH). */
import { SluiceError } from '../../core/errors.ts';
import type { CommandRunner } from './command.ts';

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
