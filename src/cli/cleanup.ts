/**
 * `sluice cleanup check`: what the remover would delete from an instrument's disk now, after
 * re-verifying each instrument copy and its backup against the recorded hashes: a dry run of the
 * scheduled `cleanup.remove` pass (src/cleanup/remove.ts), printed instead of only logged. It never
 * deletes anything; like every remover pass it records on a file's timeline a copy that no longer
 * verifies (a damaged backup is marked `corrupt`).
 */
import type { Command } from 'commander';
import { type RemoverReport, runRemover } from '../cleanup/remove.ts';
import type { Db } from '../core/db/db.ts';
import { SluiceError, UsageError } from '../core/errors.ts';
import { silentLogger } from '../core/log.ts';
import { ownEntry } from '../core/own.ts';
import { copyStatesOf } from '../files/copies.ts';
import { filesByIdOldestFirst } from '../files/repo.ts';
import { withContext } from './context.ts';
import { bytes, printJson, printTable } from './output.ts';

interface CheckReport extends RemoverReport {
  /** Details of `wouldRemove`, oldest first. */
  files: { id: string; bytes: number; modified: Date; path: string | null }[];
  /** Per file listed (would remove, refused): each `cleanup.require` target's copy state, or `none`. */
  targets: Record<string, Record<string, string>>;
  /** Why the instrument could not be checked (its folder cannot be read here). */
  error?: string;
}

const GB = 1024 ** 3;

export function registerCleanupCommands(program: Command): void {
  const cleanup = program
    .command('cleanup')
    .description('instrument disks: what the remover would delete, checked against the backups');
  cleanup
    .command('check')
    .description(
      'dry run of the remover: re-verify instrument copies and backups and list what would be deleted now',
    )
    .option('-i, --instrument <id>', 'only this instrument (default: every instrument)')
    .option(
      '--all',
      'every file old enough to be removed, not only as many as needed to reach min_free_space_gb',
    )
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Each file is read in full, on the instrument and in the backup, and compared with the hashes
recorded at backup, exactly as before a real removal; this takes as long as reading that data.
Run it on a machine that mounts the instrument folders. Nothing is deleted, whatever the variable
cleanup_dry_run says. A file whose copies no longer match is listed as REFUSED, noted on its
timeline (a damaged backup is marked corrupt), and the command exits with code 1, as it does
when an instrument folder cannot be read here. Column targets: the state of each cleanup.require
target's copy of the file (verified, corrupt, replaced, or none yet).
Settings: instruments.<id>.cleanup, variables min_free_space_gb and min_file_age_days.
See docs/intake-and-backup.md ("Cleanup").`,
    )
    .action(async (opts: { instrument?: string; all?: boolean; json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db, config, vars }) => {
        const ids = Object.keys(config.instruments);
        if (opts.instrument && !ownEntry(config.instruments, opts.instrument)) {
          throw new UsageError(
            `no instrument '${opts.instrument}' in the config`,
            `known: ${ids.join(', ') || 'none'}`,
          );
        }
        const reports: CheckReport[] = [];
        for (const id of opts.instrument ? [opts.instrument] : ids) {
          const report = await runRemover(db, { config, vars }, id, silentLogger, {
            dryRun: true,
            force: opts.all,
            onCandidate: (c) =>
              process.stderr.write(
                `${id}: verifying ${c.index + 1}/${c.count} ${c.id} (${bytes(c.bytes)}) on the instrument and in the backup\n`,
              ),
          }).then(
            (r): CheckReport => ({ ...r, files: [], targets: {} }),
            (err: unknown): CheckReport => {
              // the watch folder cannot be read here (intake/offline.ts); anything else is a failure
              if (!(err instanceof SluiceError) || err.code !== 'intake.offline') throw err;
              return {
                instrument: id,
                enabled: false,
                dryRun: true,
                removed: [],
                wouldRemove: [],
                refused: [],
                files: [],
                targets: {},
                error: `${err.message}: run this on a machine that mounts the instrument folder`,
              };
            },
          );
          reports.push(await withDetails(db, config.cleanup.require, report));
        }
        if (reports.some((r) => r.refused.length > 0 || r.error)) process.exitCode = 1;
        if (opts.json) return printJson(reports);
        for (const r of reports) printReport(r, Boolean(opts.all));
      });
    });
}

/** The listed files' details: size, time and path of each to remove; every file's target states. */
async function withDetails(db: Db, require: readonly string[], report: CheckReport): Promise<CheckReport> {
  const rows = await filesByIdOldestFirst(db, report.wouldRemove);
  report.files = rows.map((r) => ({
    id: r.id,
    bytes: Number(r.size_bytes),
    modified: r.mtime,
    path: r.current_path,
  }));
  const listed = [...report.wouldRemove, ...report.refused.map((x) => x.id)];
  report.targets = targetStates(listed, require, await copyStatesOf(db, listed, require));
  return report;
}

/** Per file: each required target's copy state (`none`: no copy there). */
export function targetStates(
  fileIds: readonly string[],
  targets: readonly string[],
  rows: readonly { file_id: string; target: string; state: string }[],
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const id of fileIds) out[id] = Object.fromEntries(targets.map((t) => [t, 'none']));
  for (const r of rows) if (out[r.file_id]) out[r.file_id]![r.target] = r.state;
  return out;
}

/** The targets column: `backup verified, s3 none`. */
export function targetsColumn(states: Record<string, string> | undefined): string {
  return Object.entries(states ?? {})
    .map(([t, st]) => `${t} ${st}`)
    .join(', ');
}

function printReport(r: CheckReport, all: boolean): void {
  const out = process.stdout;
  if (r.error || !r.enabled) {
    out.write(`${r.instrument}: not checked: ${r.error ?? r.reason}\n\n`);
    return;
  }
  const gb = (n: number | undefined) => (n === undefined ? '?' : `${(n / GB).toFixed(1)} GB`);
  out.write(`${r.instrument}: ${gb(r.freeBefore)} free, min_free_space_gb ${r.minFreeGb}\n`);
  if (r.reason && r.files.length === 0) {
    // enough free space and no --all: the remover stops before looking at any file
    out.write(
      'nothing would be removed now: the free space is enough (--all lists every file old enough)\n\n',
    );
    return;
  }
  out.write(all ? 'WOULD REMOVE (every file old enough)\n' : 'WOULD REMOVE\n');
  printTable(
    r.files.map((f) => ({
      file: f.id,
      size: bytes(f.bytes),
      modified: f.modified,
      targets: targetsColumn(r.targets[f.id]),
      path: f.path,
    })),
    '(nothing: no verified file is old enough)',
  );
  out.write(`free afterwards: ${gb(r.freeAfter)}\n`);
  if (r.refused.length > 0) {
    out.write(
      'REFUSED: a copy no longer matches its recorded hashes, or a cleanup.require target has none verified (see `sluice files show ID`)\n',
    );
    printTable(
      r.refused.map((x) => ({
        file: x.id,
        targets: targetsColumn(r.targets[x.id]),
        problem: x.problems.slice(0, 3).join('; '),
      })),
    );
  }
  out.write('\n');
}
