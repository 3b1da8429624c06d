/**
 * `sluice files …` and `sluice backup …`: list, show, retry, ignore, accept an overwrite, mark the
 * backup area. Names are printed escaped for a terminal (core/visible.ts) and read back from that form
 * (cli/names.ts). `files list` loads no config schema unless it filters by instrument or project
 * (cli/context.ts withDatabase); what the other commands act with is loaded when they run.
 */
import { type Command, Option } from 'commander';
import { initTarget, TARGET_MARKER } from '../backup/target.ts';
import type { Config } from '../core/config/index.ts';
import { parseIsoDate } from '../core/dates.ts';
import type { Queryable } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';
import { OUTPUT_EXISTS_MODES, type OutputExistsMode } from '../core/output-exists.ts';
import { ownEntry } from '../core/own.ts';
import { visibleText as safe } from '../core/visible.ts';
import { FILE_STATUSES, isFileStatus } from '../files/lifecycle.ts';
import { anyFileOf, listFiles, noSuchFile } from '../files/repo.ts';
import { MAX_LIST_LIMIT, parseIntArg } from './args.ts';
import { actor, globals, withContext, withDatabase } from './context.ts';
import { resolveFileId } from './names.ts';
import { bytes, printJson, printTable } from './output.ts';

const AGE_UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `--since 2026-11-01` (00:00 UTC), `--since 2026-11-01T08:00Z` (ISO 8601, UTC unless an offset is
 * given; impossible dates such as 2026-02-30 are refused), `--since 24h`, `--since 7d`, `--since 30m`.
 */
export function parseSince(raw: string, now = Date.now()): Date {
  const text = raw.trim();
  const rel = /^(\d{1,7})\s*(m|h|d)$/.exec(text);
  const d = rel
    ? new Date(now - Number(rel[1]) * AGE_UNITS[rel[2] as keyof typeof AGE_UNITS])
    : parseIsoDate(text);
  if (d === undefined) {
    throw new UsageError(
      `--since: expected a date (2026-11-01, 2026-11-01T08:00Z) or an age (30m, 24h, 7d), got '${raw}'`,
      'dates are ISO 8601 (YYYY-MM-DD, optionally THH:MM[:SS] and Z or ±HH:MM; UTC unless an offset is given)',
    );
  }
  return d;
}

/** `--status error,stored`: known statuses only; undefined when the option is not given. */
export function parseStatuses(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0)
    throw new UsageError(
      `--status: expected one or more statuses separated by commas, got '${raw}'`,
      `statuses: ${FILE_STATUSES.join(', ')}; leave out --status for every status`,
    );
  for (const s of list) {
    if (!isFileStatus(s))
      throw new UsageError(`--status: unknown status '${s}'`, `statuses: ${FILE_STATUSES.join(', ')}`);
  }
  return list;
}

/** `--instrument` and `--project` name one in the config or one that has files recorded. */
async function checkKnown(
  db: Queryable,
  config: Config,
  filter: { instrument?: string; project?: string },
): Promise<void> {
  // an instrument or project no longer in the config still has its files
  if (
    filter.instrument &&
    !ownEntry(config.instruments, filter.instrument) &&
    !(await anyFileOf(db, { instrument: filter.instrument }))
  ) {
    const known = Object.keys(config.instruments);
    throw new UsageError(
      `--instrument: no instrument '${filter.instrument}' in the config or the records`,
      `configured instruments: ${known.join(', ') || 'none'}`,
    );
  }
  if (
    filter.project &&
    !ownEntry(config.projects, filter.project) &&
    filter.project !== config.fallback_project &&
    !(await anyFileOf(db, { project: filter.project }))
  ) {
    const known = [...Object.keys(config.projects), config.fallback_project];
    throw new UsageError(
      `--project: no project '${filter.project}' in the config or the records (ids are case-sensitive)`,
      `projects: ${known.join(', ')}`,
    );
  }
}

/** `sluice files list`: filtered, newest first; says on stderr when more match. */
function listCommand(files: Command): void {
  files
    .command('list')
    .description('files, newest first')
    .option('-i, --instrument <id>', 'only this instrument')
    .option('-s, --status <list>', 'only these statuses (comma-separated)')
    .option('-p, --project <id>', 'only this project')
    .option(
      '--since <when>',
      'discovered since a date (2026-11-01, 2026-11-01T08:00Z; UTC unless an offset is given) or an age (30m, 24h, 7d)',
    )
    .option(
      '-n, --limit <n>',
      `at most this many (1 to ${MAX_LIST_LIMIT}); says on stderr when more match`,
      '50',
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        opts: {
          instrument?: string;
          status?: string;
          project?: string;
          since?: string;
          limit: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const filter = {
          instrument: opts.instrument,
          status: parseStatuses(opts.status),
          project: opts.project,
          since: opts.since ? parseSince(opts.since) : undefined,
          limit: parseIntArg('--limit', opts.limit, 1, MAX_LIST_LIMIT),
        };
        const list = async (db: Queryable) => {
          // one row more than asked tells whether the list is cut, without counting every match
          const rows = await listFiles(db, { ...filter, limit: filter.limit + 1 });
          if (rows.length > filter.limit) {
            rows.length = filter.limit;
            process.stderr.write(
              `${filter.limit} files shown, newest first; more match (use --limit to see more, or narrow the filters)\n`,
            );
          }
          if (opts.json) return printJson(rows.map(({ manifest: _m, acquired_fingerprint: _f, ...r }) => r));
          printTable(
            rows.map((f) => ({
              id: f.id,
              instrument: f.instrument_id,
              project: f.project_id,
              status: f.status,
              size: bytes(Number(f.size_bytes)),
              backup: f.backup ?? '-',
              instrument_copy: f.instrument_copy,
              updated: f.updated_at,
            })),
            '(no files match)',
          );
        };
        // naming an instrument or a project is checked against the config; listing needs no config
        if (filter.instrument === undefined && filter.project === undefined) await withDatabase(cmd, list);
        else
          await withContext(cmd, async ({ db, config }) => {
            await checkKnown(db, config, filter);
            await list(db);
          });
      },
    );
}

/** `sluice files show`: a file's detail (src/views/file-detail.ts), as text or JSON. */
function showCommand(files: Command): void {
  files
    .command('show <id>')
    .description("a file's details, backup copies and timeline")
    .option('--json', 'machine-readable output')
    .action(async (input: string, opts: { json?: boolean }, cmd: Command) => {
      const [{ fileDetail }, { printFileDetail }] = await Promise.all([
        import('../views/file-detail.ts'),
        import('./file-show.ts'),
      ]);
      await withContext(cmd, async ({ db }) => {
        const id = await resolveFileId(db, input);
        const detail = await fileDetail(db, id);
        if (!detail) throw noSuchFile(id);
        const { file, copies, jobs, metrics, events } = detail;
        if (opts.json) return printJson({ file, copies, jobs, metrics, events });
        printFileDetail(detail);
      });
    });
}

/** `sluice files retry`: run a file again, warning when its output folders would stop it. */
function retryCommand(files: Command): void {
  files
    .command('retry <id>')
    .description(
      'run a file again: with a verified backup from there, otherwise back it up again (an identical backup is reused)',
    )
    .addOption(
      new Option(
        '--output-exists <mode>',
        'when the output folder of a job exists (from an earlier run): overwrite (old folder kept renamed), add (new folder), associate (attach the job found in it) or raise (stop); default: the variable output_exists_mode',
      ).choices(OUTPUT_EXISTS_MODES),
    )
    .action(async (input: string, opts: { outputExists?: OutputExistsMode }, cmd: Command) => {
      const [{ retryFile }, { jobsOf }] = await Promise.all([
        import('../pipeline/actions.ts'),
        import('../process/jobs.ts'),
      ]);
      await withContext(cmd, async ({ db, config, vars }) => {
        const id = await resolveFileId(db, input);
        const to = await retryFile(db, config, id, actor(), { outputExists: opts.outputExists });
        process.stdout.write(`${safe(id)}: ${to}; the workers take it from here\n`);
        // processing again, where it ran before: its output folders exist, and `raise` stops on them
        if (to === 'backed_up' && !opts.outputExists && (await jobsOf(db, id)).length > 0) {
          const mode = await vars.get('output_exists_mode');
          if (mode === 'raise') {
            process.stderr.write(
              `note: ${safe(id)} was processed before; output_exists_mode is raise, so a job whose output folder exists stops in error. Use --output-exists overwrite (the old folder is kept renamed) or add (a new folder) to run it anyway\n`,
            );
          }
        }
      });
    });
}

/** `sluice files ignore`: stop all work on a file. */
function ignoreCommand(files: Command): void {
  files
    .command('ignore <id>')
    .description('stop all work on a file (cancels waiting tasks); `retry` undoes it')
    .option('--reason <text>', 'why, for the timeline')
    .action(async (input: string, opts: { reason?: string }, cmd: Command) => {
      const { ignoreFile } = await import('../pipeline/actions.ts');
      await withContext(cmd, async ({ db }) => {
        const id = await resolveFileId(db, input);
        await ignoreFile(db, id, actor(), opts.reason);
        process.stdout.write(`${safe(id)}: ignored\n`);
      });
    });
}

/** `sluice backup …`: accept an overwrite, mark the backup area. */
function backupCommands(program: Command): void {
  const backup = program.command('backup').description('backup actions');
  backup
    .command('accept-overwrite <id>')
    .description(
      'the existing backup differs from the source: keep it renamed (<name>.replaced-<time>) and copy again',
    )
    .action(async (input: string, _opts: unknown, cmd: Command) => {
      const { acceptOverwrite } = await import('../pipeline/actions.ts');
      await withContext(cmd, async ({ db, config }) => {
        const id = await resolveFileId(db, input);
        await acceptOverwrite(db, config, id, actor());
        process.stdout.write(
          `${safe(id)}: the differing backup will be kept renamed and the file copied again\n`,
        );
      });
    });
  backup
    .command('init-target')
    .description(
      `mark backup.path as this instance's backup area (writes ${TARGET_MARKER} naming instance.name); copies wait until it is there`,
    )
    .option('--force', 'replace a marker that names another instance')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      const { loadAppConfig } = await import('../runtime/context.ts');
      const { config } = await loadAppConfig(globals(cmd));
      process.stdout.write(`${await initTarget(config, { force: opts.force })}\n`);
    });
}

export function registerFileCommands(program: Command): void {
  const files = program.command('files').description('raw data files: list, timeline, retry, ignore');
  listCommand(files);
  showCommand(files);
  retryCommand(files);
  ignoreCommand(files);
  backupCommands(program);
}
