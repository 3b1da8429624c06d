/** `sluice jobs …`: list processing jobs, cancel a file's jobs or one job; re-runs (./job-reruns.ts). */
import type { Command } from 'commander';
import { visibleText } from '../core/visible.ts';
import { cancelJobs } from '../process/actions.ts';
import { listJobs } from '../process/jobs.ts';
import { MAX_LIST_LIMIT, parseIntArg } from './args.ts';
import { actor, withContext } from './context.ts';
import { registerJobRerunCommands } from './job-reruns.ts';
import { resolveFileId } from './names.ts';
import { printJson, printTable } from './output.ts';

export function registerJobCommands(program: Command): void {
  const jobs = program.command('jobs').description('processing jobs on SLURM or the local executor');
  jobs
    .command('list')
    .description('jobs, newest first')
    .option('--active', 'only jobs not finished yet')
    .option('-f, --file <id>', 'only the jobs of this file')
    .option('-n, --limit <n>', `at most this many (1 to ${MAX_LIST_LIMIT})`, '50')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: { active?: boolean; file?: string; limit: string; json?: boolean }, cmd: Command) => {
        const limit = parseIntArg('--limit', opts.limit, 1, MAX_LIST_LIMIT);
        await withContext(cmd, async ({ db }) => {
          const file = opts.file === undefined ? null : await resolveFileId(db, opts.file);
          const rows = await listJobs(db, { active: opts.active ?? false, file, limit });
          if (opts.json) return printJson(rows);
          printTable(
            rows.map((j) => ({
              id: j.id,
              file: j.file_id,
              settings: `${j.settings_name} v${j.settings_version}`,
              job: j.job_id,
              state: j.state,
              outcome: j.outcome,
              exit: j.exit_code,
              reason: j.reason,
            })),
            '(no jobs)',
          );
        });
      },
    );
  jobs
    .command('cancel <id>')
    .description(
      'cancel the active jobs of a file (by file id) or one job (by the job row id from `jobs list`)',
    )
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async ({ db, config }) => {
        const cancelled = await cancelJobs(db, config, await resolveFileId(db, id), actor());
        for (const j of cancelled)
          process.stdout.write(
            `cancelling ${j.settings_name} job ${j.job_id ?? '(not submitted yet)'} of ${visibleText(j.file_id)}\n`,
          );
      });
    });
  registerJobRerunCommands(jobs);
}
