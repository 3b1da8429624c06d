/**
 * `sluice archive list|show|run`: the archives on long-term storage (state, size, members), one
 * archive with its members (the manifest in the database), and a policy pass run now (items due
 * after processing or N days, pack tasks for every target with work). docs/archive.md.
 */
import type { Command } from 'commander';
import { archivePass } from '../archive/pass.ts';
import { type ArchiveState, getArchive, itemCounts, listArchives, membersOf } from '../archive/repo.ts';
import { UsageError } from '../core/errors.ts';
import { parseIntArg } from './args.ts';
import { withContext } from './context.ts';
import { printJson, printTable } from './output.ts';

const STATES: readonly ArchiveState[] = ['writing', 'written', 'archived', 'failed', 'corrupt'];

export function registerArchiveCommands(program: Command): void {
  const archive = program
    .command('archive')
    .description('archives on long-term storage: list, show one with its members, run the policy pass');
  registerList(archive);
  registerShow(archive);
  registerRun(archive);
}

function registerList(archive: Command): void {
  archive
    .command('list')
    .description(
      'archives, newest first (state, target, size, members, where), and items per target and state',
    )
    .option('--target <name>', 'only this archive target')
    .option('--state <state>', `only archives in this state (${STATES.join(', ')})`)
    .option('--limit <n>', 'at most this many archives', '50')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: { target?: string; state?: string; limit: string; json?: boolean }, cmd: Command) => {
        if (opts.state && !STATES.includes(opts.state as ArchiveState)) {
          throw new UsageError(`--state must be one of ${STATES.join(', ')}, got '${opts.state}'`);
        }
        const limit = parseIntArg('--limit', opts.limit, 1, 10_000);
        await withContext(cmd, async ({ db }) => {
          const rows = await listArchives(db, {
            target: opts.target,
            state: opts.state as ArchiveState,
            limit,
          });
          const items = await itemCounts(db);
          if (opts.json) return printJson({ archives: rows, items });
          if (rows.length === 0) process.stdout.write('no archives yet\n');
          else
            printTable(
              rows.map((a) => ({
                id: a.id,
                target: a.target,
                state: a.state,
                members: a.members,
                bytes: a.size_bytes ?? '-',
                verified: a.verified_at?.toISOString() ?? '-',
                location: a.location,
                ...(a.reason ? { reason: a.reason } : {}),
              })),
            );
          if (items.length) {
            process.stdout.write('\nitems:\n');
            printTable(
              items.map((i) => ({ target: i.target, state: i.state, files: i.items, bytes: i.bytes })),
            );
          }
        });
      },
    );
}

function registerShow(archive: Command): void {
  archive
    .command('show <id>')
    .description(
      'one archive: where, state, sizes and hashes, and every member (raw, output of a job, metrics) with its offset and sha256',
    )
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      if (!/^\d+$/.test(id))
        throw new UsageError(`an archive id is a number (see \`sluice archive list\`), got '${id}'`);
      await withContext(cmd, async ({ db }) => {
        const a = await getArchive(db, id);
        if (!a) throw new UsageError(`no archive ${id}`, 'see `sluice archive list`');
        const members = await membersOf(db, id);
        if (opts.json) return printJson({ archive: a, members });
        printTable([
          { field: 'target', value: a.target },
          { field: 'location', value: a.location },
          { field: 'state', value: a.reason ? `${a.state} (${a.reason})` : a.state },
          { field: 'storage class', value: a.storage_class ?? '-' },
          { field: 'bytes', value: a.size_bytes ?? '-' },
          { field: 'manifest sha256', value: a.manifest_sha256 ?? '-' },
          { field: 'written', value: a.written_at?.toISOString() ?? '-' },
          { field: 'verified', value: a.verified_at?.toISOString() ?? '-' },
          ...(a.tar_removed_at
            ? [{ field: 'tar removed', value: `${a.tar_removed_at.toISOString()} (its sets verified anew)` }]
            : []),
        ]);
        process.stdout.write('\n');
        printTable(
          members.map((m) => ({
            file: m.file_id,
            kind: m.kind === 'output' ? `output (job ${m.job_row_id})` : m.kind,
            member: m.path,
            size: m.size,
            offset: m.data_offset,
            sha256: m.sha256,
          })),
        );
      });
    });
}

function registerRun(archive: Command): void {
  archive
    .command('run')
    .description(
      'run the archive policy pass now: add due items, start a pack task for every target with work',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await withContext(cmd, async ({ db, config }) => {
        if (config.archive.targets.length === 0) {
          throw new UsageError(
            'no archive targets configured',
            'add archive.targets and archive.policies to the config',
          );
        }
        const added = await db.tx((tx) => archivePass(tx, config));
        process.stdout.write(
          `${added} item(s) added; pack tasks enqueued for targets with work (workers run them)\n`,
        );
      });
    });
}
