/**
 * `sluice start`: runs this machine's roles (web, worker) until stopped; `--tags` for tag-bound work.
 */
import type { Command } from 'commander';
import { errorMessage } from '../core/errors.ts';
import { withInstanceMode } from '../core/instance.ts';
import { openContext } from '../runtime/context.ts';
import { parseRole, runProcess, untilSignal } from '../runtime/run.ts';
import { parseIntArg } from './args.ts';
import { globals } from './context.ts';
import { announceFirstAdmin } from './users.ts';

export function parseTags(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description("run this machine's part of Sluice: workers that claim tasks, and/or the web server")
    .option('-r, --role <role>', 'web (API + dashboard), worker (claims tasks), or all', 'all')
    .option(
      '-t, --tags <tags>',
      'comma-separated worker tags, e.g. instrument:astral1 (adds to worker.tags in the config)',
    )
    .option('--concurrency <n>', 'tasks this process runs at once (default: worker.concurrency)')
    .option('-p, --port <port>', 'web server port (default: server.port)')
    .option(
      '--fallback',
      'run as a fallback instance (own database; never moves or removes instrument data): same as instance.mode fallback',
    )
    .addHelpText(
      'after',
      `
Work that needs an instrument's mount carries the tag instrument:<id>; start the worker on the
machine that mounts it with --tags instrument:<id>. SIGTERM/SIGINT stop gracefully: nothing new
is claimed, running tasks get worker.shutdown_grace_seconds to finish, then their leases are
released so another worker continues them.

A shared database (database.url) that is not reachable yet is waited for, with backoff: a
service started before its database comes up by itself. Wrong credentials or a missing
database fail at once.

--fallback: a stand-in while the main instance is down (docs/fallback.md). It backs up and processes
into the same backup and output locations, and never moves or removes instrument data.`,
    )
    .action(
      async (
        opts: { role: string; tags?: string; concurrency?: string; port?: string; fallback?: boolean },
        cmd: Command,
      ) => {
        const role = parseRole(opts.role);
        const concurrency =
          opts.concurrency === undefined
            ? undefined
            : parseIntArg('--concurrency', opts.concurrency, 1, 10_000);
        const port = opts.port === undefined ? undefined : parseIntArg('--port', opts.port, 0, 65_535);
        const ctx = await openContext(globals(cmd), {
          schema: 'migrate',
          // a service started before its database (power cut, both booting) waits for it
          waitForDb: (message) => process.stderr.write(`${message}\n`),
        });
        ctx.embedded?.supervise(); // a killed embedded PostgreSQL is started again
        if (opts.fallback) ctx.config = withInstanceMode(ctx.config, 'fallback');
        try {
          const tags = [...new Set([...ctx.config.worker.tags, ...parseTags(opts.tags)])];
          const running = await runProcess(ctx, { role, tags, concurrency, port });
          process.stderr.write(
            `sluice ${role}${ctx.config.instance.mode === 'fallback' ? ' (FALLBACK instance: instrument data is never moved or removed)' : ''} running${running.worker ? ` (worker ${running.worker.id}${tags.length ? `, tags ${tags.join(',')}` : ''})` : ''}${running.webUrl ? `, web ${running.webUrl}` : ''}; Ctrl-C stops\n`,
          );
          if (running.webUrl)
            // a database that goes away right now must not end the process (the next start announces)
            await announceFirstAdmin(ctx.db, process.stderr, running.webUrl, ctx.config.data_dir).catch(
              (err) => ctx.log.warn({ err: errorMessage(err) }, 'could not create the first admin user now'),
            );
          const sig = await untilSignal((s) =>
            process.stderr.write(`${s}: stopping (finishing running tasks)…\n`),
          );
          ctx.log.info({ signal: sig }, 'stopping');
          await running.stop();
        } finally {
          await ctx.close();
        }
      },
    );
}
