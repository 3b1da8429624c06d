/**
 * `sluice db …`: migrations and the schema version of the database Sluice uses.
 */
import type { Command } from 'commander';
import { currentVersion, migrate, schemaVersion } from '../core/db/migrate.ts';
import { syncPools } from '../engine/pools.ts';
import { withContext } from './context.ts';
import { registerDbBackupCommands } from './db-backup.ts';
import { printJson } from './output.ts';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('database commands');
  db.command('migrate')
    .description(
      'apply pending schema migrations (start and demo do this too); safe to run from several machines at once',
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(
        cmd,
        async ({ db: handle, log, config }) => {
          const before = await currentVersion(handle);
          const r = await migrate(handle, log);
          await syncPools(handle, config.pools);
          const applied = r.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`);
          if (opts.json) printJson({ from: before, to: r.version, applied });
          else if (applied.length === 0) process.stdout.write(`schema is current (version ${r.version})\n`);
          else process.stdout.write(`migrated ${before} → ${r.version}: ${applied.join(', ')}\n`);
        },
        { schema: 'any' },
      );
    });
  db.command('version')
    .description("print the database's schema version and this Sluice's")
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(
        cmd,
        async ({ db: handle }) => {
          const v = { database: await currentVersion(handle), sluice: schemaVersion() };
          if (opts.json) printJson(v);
          else
            process.stdout.write(
              `database schema ${v.database}, this Sluice ${v.sluice}${v.database < v.sluice ? ' (run `sluice db migrate`)' : ''}\n`,
            );
        },
        { schema: 'any' },
      );
    });
  registerDbBackupCommands(db);
}
