/** `sluice db backup | restore | backups`: database backups (see docs/backups.md). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../core/config/index.ts';
import { formatError, UsageError } from '../core/errors.ts';
import { writeDump } from '../ops/db-backup/dump.ts';
import {
  type BackupEntry,
  fileSource,
  openLocation,
  outputLocation,
  S3Location,
} from '../ops/db-backup/locations.ts';
import { type DumpSource, type RestoreResult, restoreDump } from '../ops/db-backup/restore.ts';
import { type BackupRun, findStrategy, lastRuns, runStrategy } from '../ops/db-backup/strategy.ts';
import { VERSION } from '../runtime/context.ts';
import { exists } from '../storage/fsutil.ts';
import { actor, withContext } from './context.ts';
import { ago, bytes, printJson, printTable } from './output.ts';
import { progressPrinter } from './progress.ts';

const num = (n: number) => n.toLocaleString('en-US');

interface BackupOpts {
  strategy?: string;
  output?: string;
  json?: boolean;
}

/** Which strategy or file a `db backup` writes, decided before connecting to anything. */
function backupTarget(config: Config, opts: BackupOpts): { strategy: string } | { output: string } {
  if (opts.strategy !== undefined && opts.output !== undefined) {
    throw new UsageError('give either --strategy NAME or --output FILE, not both');
  }
  if (opts.output !== undefined) return { output: resolve(opts.output) };
  if (opts.strategy !== undefined) return { strategy: findStrategy(config, opts.strategy).name };
  const all = config.database.backups;
  if (all.length === 1) return { strategy: all[0]!.name };
  throw new UsageError(
    all.length === 0
      ? 'no backup strategy is configured: give --output FILE'
      : `several backup strategies are configured (${all.map((s) => s.name).join(', ')}): name one with --strategy NAME, or give --output FILE`,
    'strategies are declared under database.backups in the config; see docs/backups.md',
  );
}

function printRun(run: BackupRun, json: boolean | undefined): void {
  const tables = run.summary.trailer.tables.length;
  if (json) {
    printJson({
      strategy: run.strategy ?? null,
      file: run.ref,
      bytes: run.summary.fileBytes,
      tables,
      rows: run.summary.rows,
      schema_version: Math.max(...run.summary.header.migrations.map((m) => m.version)),
      deleted: run.deleted.map((d) => d.ref),
      retention_error: run.retentionError ?? null,
    });
    return;
  }
  process.stdout.write(
    `wrote ${run.ref} (${bytes(run.summary.fileBytes)}; ${tables} tables, ${num(run.summary.rows)} rows)\n`,
  );
  if (run.deleted.length) {
    process.stdout.write(`retention deleted ${run.deleted.length} older backup(s):\n`);
    for (const d of run.deleted) process.stdout.write(`  ${d.ref}\n`);
  }
  if (run.retentionError) process.stderr.write(`warning: retention failed: ${run.retentionError}\n`);
}

/** A restore source from FILE: a local path, or `s3://bucket/key` in a configured strategy's bucket. */
async function restoreSource(config: Config, file: string): Promise<DumpSource> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(file);
  if (!m) {
    if (file.startsWith('s3:')) throw new UsageError(`FILE ${file}: expected s3://bucket/key`);
    return fileSource(resolve(file));
  }
  const [, bucket, key] = m as unknown as [string, string, string];
  const candidates = config.database.backups
    .map((b) => b.location.s3)
    .filter((s) => s !== undefined && s.bucket === bucket && key.startsWith(s.prefix))
    .sort((a, b) => b!.prefix.length - a!.prefix.length);
  const s3 = candidates[0];
  if (!s3) {
    throw new UsageError(
      `FILE ${file}: no strategy under database.backups uses bucket ${bucket}${key.includes('/') ? ' with a matching prefix' : ''}`,
      'Sluice takes the endpoint and credentials of an S3 backup from the strategy that wrote it; add that strategy to the config (enabled: false keeps it from running), or download the file and restore the local copy',
    );
  }
  return new S3Location(s3).source(key.slice(s3.prefix.length));
}

function printRestore(r: RestoreResult, source: string, json: boolean | undefined): void {
  const tables = r.trailer.tables.length;
  if (json) {
    printJson({
      file: source,
      dry_run: r.dryRun,
      created_at: r.header.created_at,
      made_by: r.header.sluice_version,
      strategy: r.header.strategy ?? null,
      tables,
      rows: r.rows,
      schema_from: r.fromVersion,
      schema_to: r.toVersion,
      upgraded: r.upgraded,
      replaced: r.replaced,
    });
    return;
  }
  const made = `made ${r.header.created_at} by Sluice ${r.header.sluice_version}, schema ${r.fromVersion}`;
  if (r.dryRun) {
    process.stdout.write(
      `${source} is intact (${made}; ${tables} tables, ${num(r.rows)} rows); nothing was changed (--dry-run)\n`,
    );
    if (r.replaced.length) {
      process.stdout.write(
        `the database holds data that a restore would replace: ${r.replaced.map((t) => `${t.table} ${t.rows >= 1000 ? '1000+' : t.rows}`).join(', ')}\n`,
      );
    }
    return;
  }
  process.stdout.write(`restored ${source} (${made}): ${tables} tables, ${num(r.rows)} rows\n`);
  if (r.upgraded.length) {
    process.stdout.write(`then migrated ${r.fromVersion} → ${r.toVersion}: ${r.upgraded.join(', ')}\n`);
  }
}

/** `sluice db backup`: back up Sluice's database to a strategy's location (database.backups in the config) or to a file */
function backupCommand(db: Command): void {
  db.command('backup')
    .description(
      "back up Sluice's database to a strategy's location (database.backups in the config) or to a file",
    )
    .option('-s, --strategy <name>', 'the strategy to run (its location and retention)')
    .option('-o, --output <file>', 'write the backup to this file instead (no retention)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Without --strategy or --output, the only configured strategy runs. Progress goes to stderr.
The backup is one consistent snapshot, taken while Sluice keeps running.

Examples:
  sluice db backup --strategy nightly
  sluice db backup --output /mnt/usb/sluice-before-upgrade.sluicedump`,
    )
    .action(async (opts: BackupOpts, cmd: Command) => {
      await withContext(
        cmd,
        async ({ db: handle, log, config }) => {
          const target = backupTarget(config, opts);
          const progress = progressPrinter();
          let run: BackupRun;
          try {
            if ('output' in target) {
              if (await exists(target.output)) {
                throw new UsageError(`--output ${target.output} already exists; it is never overwritten`);
              }
              const { location, name } = outputLocation(target.output);
              const { result, ref } = await location.write(name, (out) =>
                writeDump(handle, out, { version: VERSION, onProgress: (p) => progress.update(p) }),
              );
              run = { strategy: undefined, ref, summary: result, deleted: [] };
            } else {
              run = await runStrategy(handle, findStrategy(config, target.strategy), {
                version: VERSION,
                log,
                actor: actor(),
                onProgress: (p) => progress.update(p),
              });
            }
          } finally {
            progress.finish();
          }
          printRun(run, opts.json);
        },
        { schema: 'any' },
      );
    });
}

/** `sluice db restore`: restore a database backup (replaces everything in the database) */
function restoreCommand(db: Command): void {
  db.command('restore')
    .description('restore a database backup (replaces everything in the database)')
    .argument('<file>', 'a .sluicedump file, or s3://bucket/key of a configured S3 strategy')
    .option('--force', 'replace a database that already holds data')
    .option('--dry-run', 'verify the backup and check the database; change nothing')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
The whole file is verified (checksums, completeness) before the database is touched, and the
restore runs in one transaction: if anything fails, the database stays as it was. Stop every
Sluice process first. A backup made by an older Sluice is migrated to this version's schema; one
made by a newer Sluice is refused.

Examples:
  sluice db restore /mnt/backup/sluice-nightly-20260304T030000.000Z.sluicedump
  sluice db restore --force s3://lab-backups/sluice/sluice-nightly-20260304T030000.000Z.sluicedump`,
    )
    .action(
      async (file: string, opts: { force?: boolean; dryRun?: boolean; json?: boolean }, cmd: Command) => {
        await withContext(
          cmd,
          async ({ db: handle, config }) => {
            const source = await restoreSource(config, file);
            const progress = progressPrinter();
            let r: RestoreResult;
            try {
              r = await restoreDump(handle, source, {
                force: Boolean(opts.force),
                dryRun: Boolean(opts.dryRun),
                onProgress: (p) => progress.update(p),
              });
            } finally {
              progress.finish();
            }
            printRestore(r, source.name, opts.json);
          },
          { schema: 'any' },
        );
      },
    );
}

/** `sluice db backups`: list the backups of each strategy, newest first, with each strategy's last run */
function backupsCommand(db: Command): void {
  db.command('backups')
    .description("list the backups of each strategy, newest first, with each strategy's last run")
    .option('-s, --strategy <name>', 'only this strategy')
    .option('--json', 'machine-readable output')
    .action(async (opts: { strategy?: string; json?: boolean }, cmd: Command) => {
      await withContext(
        cmd,
        async ({ db: handle, config }) => {
          const strategies =
            opts.strategy === undefined ? config.database.backups : [findStrategy(config, opts.strategy)];
          const runs = new Map((await lastRuns(handle).catch(() => [])).map((r) => [r.strategy, r]));
          // one unreachable location does not hide the others; it makes the exit code 1
          const listed: {
            strategy: string;
            location: string;
            backups: BackupEntry[];
            error: string | null;
          }[] = [];
          for (const s of strategies) {
            const location = openLocation(s);
            const entry = {
              strategy: s.name,
              location: location.describe,
              backups: [] as BackupEntry[],
              error: null,
            };
            listed.push(
              await location.list(s.name).then(
                (backups) => ({ ...entry, backups }),
                (err: unknown) => ({ ...entry, error: formatError(err) }),
              ),
            );
          }
          if (listed.some((l) => l.error !== null)) process.exitCode = 1;
          if (opts.json) {
            printJson(
              listed.map((l) => ({
                ...l,
                last_run: runs.get(l.strategy) ?? null,
                backups: l.backups.map((b) => ({ file: b.ref, bytes: b.size, created_at: b.createdAt })),
              })),
            );
            return;
          }
          if (strategies.length === 0) {
            process.stdout.write(
              'no backup strategy is configured (database.backups; see docs/backups.md)\n',
            );
            return;
          }
          for (const l of listed) {
            const run = runs.get(l.strategy);
            const last = run
              ? `last run ${run.state} ${ago(run.at)}${run.state === 'failed' && run.reason ? `: ${run.reason}` : ''}`
              : 'never run';
            process.stdout.write(`${l.strategy} → ${l.location} (${last})\n`);
            if (l.error !== null) {
              process.stderr.write(`error: ${l.error}\n`);
              continue;
            }
            printTable(
              l.backups.map((b) => ({
                file: b.ref,
                size: bytes(b.size),
                created: b.createdAt,
                age: ago(b.createdAt),
              })),
              '  (no backups)',
            );
          }
        },
        { schema: 'any' },
      );
    });
}

export function registerDbBackupCommands(db: Command): void {
  backupCommand(db);
  restoreCommand(db);
  backupsCommand(db);
}
