import type { Command } from 'commander';
import { openContext } from '../runtime/context.ts';
import { parseRole, runProcess, untilSignal } from '../runtime/run.ts';
import { globals, parseIntArg } from './common.ts';
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
    .addHelpText(
      'after',
      `
Work that needs an instrument's mount carries the tag instrument:<id>; start the worker on the
machine that mounts it with --tags instrument:<id>. SIGTERM/SIGINT stop gracefully: nothing new
is claimed, running tasks get worker.shutdown_grace_seconds to finish, then their leases are
released so another worker continues them.`,
    )
    .action(
      async (opts: { role: string; tags?: string; concurrency?: string; port?: string }, cmd: Command) => {
        const role = parseRole(opts.role);
        const concurrency =
          opts.concurrency === undefined ? undefined : parseIntArg('--concurrency', opts.concurrency, 1);
        const port = opts.port === undefined ? undefined : parseIntArg('--port', opts.port, 0);
        const ctx = await openContext(globals(cmd), { schema: 'migrate' });
        try {
          const tags = [...new Set([...ctx.config.worker.tags, ...parseTags(opts.tags)])];
          const running = await runProcess(ctx, { role, tags, concurrency, port });
          process.stderr.write(
            `sluice ${role} running${running.worker ? ` (worker ${running.worker.id}${tags.length ? `, tags ${tags.join(',')}` : ''})` : ''}${running.webUrl ? `, web ${running.webUrl}` : ''}; Ctrl-C stops\n`,
          );
          if (running.webUrl) await announceFirstAdmin(ctx.db, process.stderr, running.webUrl);
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
