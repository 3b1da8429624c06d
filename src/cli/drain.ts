/**
 * `sluice drain` / `sluice undrain`: set pools to 0 so running work finishes and nothing new starts, and back.
 */
import type { Command } from 'commander';
import { listPools, setPoolSize } from '../engine/pools.ts';
import { parseIntArg } from './args.ts';
import { actor, withContext } from './context.ts';
import { printJson } from './output.ts';

/**
 * `sluice drain`: every pool to 0 (running work finishes, nothing new starts), then waits until no
 * task runs, reporting progress. For upgrades: drain, replace the program, start, `sluice undrain`.
 */
export function registerDrainCommands(program: Command): void {
  program
    .command('drain')
    .description(
      'stop starting new work on every machine (all pools to 0) and wait until running work has finished',
    )
    .option(
      '--timeout <seconds>',
      'give up waiting after this long, at most a week (the pools stay drained)',
      '600',
    )
    .option('--no-wait', 'set the pools to 0 and return at once')
    .option('--json', 'machine-readable result')
    .action(async (opts: { timeout: string; wait: boolean; json?: boolean }, cmd: Command) => {
      const timeoutS = parseIntArg('--timeout', opts.timeout, 1, 7 * 86_400);
      await withContext(cmd, async ({ db }) => {
        const pools = await listPools(db);
        await db.tx(async (tx) => {
          for (const p of pools) await setPoolSize(tx, p.name, 0, actor());
        });
        const started = Date.now();
        let running = pools.reduce((n, p) => n + p.running, 0);
        if (!opts.json)
          process.stderr.write(`drained ${pools.length} pools; ${running} task(s) still running\n`);
        while (opts.wait && running > 0 && Date.now() - started < timeoutS * 1000) {
          await new Promise((r) => setTimeout(r, 1000));
          const now = (await listPools(db)).reduce((n, p) => n + p.running, 0);
          if (now !== running && !opts.json) process.stderr.write(`  ${now} task(s) still running\n`);
          running = now;
        }
        const result = {
          drained: pools.map((p) => p.name),
          running,
          waitedSeconds: Math.round((Date.now() - started) / 1000),
        };
        if (opts.json) return printJson(result);
        process.stdout.write(
          running === 0
            ? 'nothing runs now; safe to stop or upgrade. `sluice undrain` resumes work\n'
            : `${running} task(s) still running after ${timeoutS} s (they continue; nothing new starts)\n`,
        );
        if (running > 0) process.exitCode = 1;
      });
    });
  program
    .command('undrain')
    .description('resume work: every pool back to its configured size (runtime overrides are removed)')
    .action(async (_opts: unknown, cmd: Command) => {
      await withContext(cmd, async ({ db }) => {
        const pools = await listPools(db);
        await db.tx(async (tx) => {
          for (const p of pools) if (p.override !== null) await setPoolSize(tx, p.name, null, actor());
        });
        process.stdout.write(`resumed: ${pools.map((p) => `${p.name} ${p.configured}`).join(', ')}\n`);
      });
    });
}
