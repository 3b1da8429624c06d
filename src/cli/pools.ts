/**
 * `sluice pools list|set|unset`: pool sizes and their runtime overrides.
 */
import type { Command } from 'commander';
import { listPools, setPoolSize } from '../engine/pools.ts';
import { parseIntArg } from './args.ts';
import { actor, withContext } from './context.ts';
import { printJson, printTable } from './output.ts';

export function registerPoolCommands(program: Command): void {
  const pools = program.command('pools').description('named limits on concurrent work across all machines');
  pools
    .command('list')
    .description('each pool: size, running, queued, and any runtime override')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const rows = await listPools(db);
        if (opts.json) return printJson(rows);
        printTable(
          rows.map((p) => ({
            pool: p.name,
            size: p.size,
            running: p.running,
            queued: p.queued,
            configured: p.configured,
            override: p.override === null ? '-' : `${p.override} (by ${p.updated_by})`,
          })),
        );
      });
    });
  pools
    .command('set <name> <size>')
    .description('override a pool size at runtime; 0 drains it (running work finishes, nothing new starts)')
    .action(async (name: string, raw: string, _opts: unknown, cmd: Command) => {
      const size = parseIntArg('size', raw, 0, 2_147_483_647);
      await withContext(cmd, async ({ db }) => {
        await db.tx((tx) => setPoolSize(tx, name, size, actor()));
        process.stdout.write(
          size === 0
            ? `pool ${name} drained: running work finishes, nothing new starts\n`
            : `pool ${name} size ${size}\n`,
        );
      });
    });
  pools
    .command('unset <name>')
    .description('remove the runtime override; the size from the config file applies again')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        await db.tx((tx) => setPoolSize(tx, name, null, actor()));
        process.stdout.write(`pool ${name}: override removed\n`);
      });
    });
}
