/**
 * What every command runs in: the global options, who is acting (for audit trails), and the
 * application context opened for the command and always closed after it (`withContext`).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { AppContext, GlobalOptions, SchemaMode } from '../runtime/context.ts';

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Who is acting, for audit trails: `$SLUICE_ACTOR`, else `cli:<unix user>`. */
export function actor(): string {
  return process.env.SLUICE_ACTOR ?? `cli:${userInfo().username}`;
}

/** Runs `fn` with an open context and always closes it. */
export async function withContext<T>(
  cmd: Command,
  fn: (ctx: AppContext) => Promise<T>,
  how: { schema?: SchemaMode } = {},
): Promise<T> {
  // loaded when a command runs, not when it is registered: `sluice pools --help` needs no database
  const { openContext } = await import('../runtime/context.ts');
  const ctx = await openContext(globals(cmd), { quiet: true, ...how });
  // Ctrl-C (or a closed terminal) mid-command still leaves the embedded server properly: the last
  // user stops it (core/db/embedded.ts), so a CLI command never leaves one behind that nobody owns.
  const onSignal = (sig: NodeJS.Signals) => {
    void ctx.close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 129));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGHUP', onSignal);
  try {
    return await fn(ctx);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onSignal);
    await ctx.close();
  }
}
