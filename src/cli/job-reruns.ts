/**
 * `sluice jobs rerun|reruns`: processing settings at their current version run again over past
 * files (preview, start, cancel) and the list of such re-runs (process/reruns.ts; docs/processing.md).
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { cancelProcessingRerun, previewProcessingRerun, startProcessingRerun } from '../process/reruns.ts';
import { listProcessingReruns } from '../process/reruns-repo.ts';
import { actor, withContext } from './context.ts';
import { parseSince } from './files.ts';
import { ago, printJson, printTable } from './output.ts';

interface RerunOpts {
  settings?: string;
  current?: boolean;
  since?: string;
  instrument?: string;
  project?: string;
  preview?: boolean;
  cancel?: string;
  json?: boolean;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

async function rerun(cmd: Command, o: RerunOpts): Promise<void> {
  await withContext(cmd, async ({ db, config }) => {
    if (o.cancel !== undefined) {
      const row = await cancelProcessingRerun(db, o.cancel, actor());
      if (o.json) return printJson(row);
      process.stdout.write(
        `processing re-run ${row.id} cancelled after ${row.done} of ${plural(row.total, 'job')}; jobs already created run on (sluice jobs cancel)\n`,
      );
      return;
    }
    if (o.settings === undefined && !o.current)
      throw new UsageError(
        'give --settings NAME or --current (or --cancel ID)',
        'e.g. sluice jobs rerun --settings qc --preview',
      );
    const opts = {
      settings: o.settings,
      current: o.current,
      since: o.since ? parseSince(o.since) : undefined,
      instrument: o.instrument,
      project: o.project,
    };
    const which = (s: { name: string; version: number }[]) =>
      s.map((x) => `${x.name} v${x.version}`).join(', ');
    if (o.preview) {
      const p = await previewProcessingRerun(db, config, opts);
      if (o.json) return printJson(p);
      process.stdout.write(
        `would run ${which(p.settings)}: ${plural(p.jobs, 'job')} over ${plural(p.files, 'file')}\n`,
      );
      return;
    }
    const row = await startProcessingRerun(db, config, { ...opts, actor: actor() });
    if (o.json) return printJson(row);
    process.stdout.write(
      `processing re-run ${row.id}: ${which(row.settings)}, ${plural(row.total, 'job')} over ${plural(row.files, 'file')}, queued; cancel with: sluice jobs rerun --cancel ${row.id}\n`,
    );
  });
}

export function registerJobRerunCommands(jobs: Command): void {
  jobs
    .command('rerun')
    .description(
      'run processing settings at their current version again over past files (new jobs; earlier jobs, outputs and metrics kept)',
    )
    .option(
      '--settings <name>',
      'these settings (NAME or NAME@VERSION; the version must be the one in the config)',
    )
    .option('--current', 'every processing settings entry at its current version')
    .option('--since <when>', 'only files acquired since: a date (2026-11-01) or an age (7d, 24h)')
    .option('--instrument <id>', "only this instrument's files")
    .option('--project <id>', "only this project's files")
    .option('--preview', 'only count the files and jobs it would create')
    .option('--cancel <id>', 'cancel a running re-run (no more jobs; jobs created so far run on)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Scope: the files of --instrument and --project; without --project, every project's files,
members-only projects (catalog.project_visibility) included: a re-run is facility-wide. Through the
API only operators and admins may preview or start one (POST /api/jobs/reruns).
See docs/processing.md ("Re-processing past files").`,
    )
    .action((o: RerunOpts, cmd: Command) => rerun(cmd, o));
  jobs
    .command('reruns')
    .description('processing re-runs, newest first: settings, progress, unfinished jobs, state')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const rows = await listProcessingReruns(db, 100);
        if (o.json) return printJson(rows);
        printTable(
          rows.map((r) => ({
            id: r.id,
            settings: r.settings.map((s) => `${s.name} v${s.version}`).join(', '),
            jobs: `${r.done}/${r.total}`,
            files: r.files,
            unfinished: r.active,
            status: r.status,
            by: r.requested_by,
            created: ago(r.created_at),
          })),
          '(no processing re-runs)',
        );
      });
    });
}
