/**
 * `sluice reconcile`: compares the records with what is on disk (ops/reconcile.ts) and reports differences.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { ownEntry } from '../core/own.ts';
import { reconcileReport } from '../ops/reconcile.ts';
import { withContext } from './context.ts';
import { printJson, printTable } from './output.ts';

/** `sluice reconcile`: what catch-up after a fallback instance (or a database restore) did. */
export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(
      'after a fallback instance ran: backups and outputs found in place and associated, files stopped on a mismatch, work still under way',
    )
    .option('-i, --instrument <id>', 'only this instrument')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Catch-up is automatic: the normal scan finds the files the fallback instance handled, the backup
step associates a backup already in place once its hashes verify, and processing associates an
output whose job manifest names the same job key and settings hash. This command shows the result.
See docs/fallback.md.`,
    )
    .action(async (opts: { instrument?: string; json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db, config }) => {
        if (opts.instrument && !ownEntry(config.instruments, opts.instrument)) {
          throw new UsageError(
            `no instrument '${opts.instrument}' in the config`,
            `known: ${Object.keys(config.instruments).join(', ') || 'none'}`,
          );
        }
        const report = await reconcileReport(db, Object.keys(config.instruments), {
          instrument: opts.instrument,
        });
        if (opts.json) return printJson(report);
        printTable(
          report.map((r) => ({
            instrument: r.instrument,
            files: r.files,
            'backups associated': r.backups.associated,
            'backups copied': r.backups.copied,
            'outputs associated': r.jobs.associated,
            'jobs run': r.jobs.run,
            stopped: r.stopped.length,
            'under way': r.pending,
          })),
          '(no instruments)',
        );
        const stopped = report.flatMap((r) => r.stopped);
        if (stopped.length > 0) {
          process.stdout.write(
            '\nSTOPPED: found in place but not matching (inspect, then `sluice files show ID`)\n',
          );
          printTable(stopped.map((s) => ({ file: s.id, reason: s.reason })));
          process.exitCode = 1;
        }
        if (report.some((r) => r.pending > 0)) {
          process.stdout.write('\ncatch-up is still under way; run this again later\n');
        }
      });
    });
}
