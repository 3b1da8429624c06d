/**
 * What every command runs in: the global options, who is acting (for audit trails), and the
 * application context opened for the command and always closed after it (`withContext`), or for
 * read-only commands only the database (`withDatabase`: no config schema loaded).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Db } from '../core/db/db.ts';
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
  return closedAfter(ctx, () => fn(ctx));
}

/**
 * Runs a read-only `fn` on the database alone (schema current), opened from the database settings
 * of the config without loading the rest (core/config/light.ts): what a command that only reads
 * records costs to start is mostly the config schema. When those settings are not plainly valid it
 * opens the whole context instead, which reports the mistake as every command does.
 */
export async function withDatabase<T>(cmd: Command, fn: (db: Db) => Promise<T>): Promise<T> {
  const opts = globals(cmd);
  const { readDatabaseSettings } = await import('../core/config/light.ts');
  const settings = await readDatabaseSettings({ path: opts.config, env: opts.env });
  if (!settings) return withContext(cmd, ({ db }) => fn(db));
  const [{ lightLogger }, { openDatabase }] = await Promise.all([
    import('../core/log-light.ts'),
    import('../runtime/database.ts'),
  ]);
  const log = lightLogger({ level: opts.logLevel ?? 'warn' });
  const open = await openDatabase(settings, log);
  return closedAfter(open, () => fn(open.db));
}

/**
 * Runs `fn`, then closes `ctx`. Ctrl-C (or a closed terminal) mid-command still leaves the embedded
 * server properly: the last user stops it (core/db/embedded.ts), so a CLI command never leaves one
 * behind that nobody owns.
 */
async function closedAfter<T>(ctx: { close(): Promise<void> }, fn: () => Promise<T>): Promise<T> {
  const onSignal = (sig: NodeJS.Signals) => {
    void ctx.close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 129));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGHUP', onSignal);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onSignal);
    await ctx.close();
  }
}
