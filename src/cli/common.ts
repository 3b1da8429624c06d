import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { type AppContext, type GlobalOptions, openContext, type SchemaMode } from '../runtime/context.ts';

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

/** The most rows a listing (`files list`, `jobs list`, `vars history`) prints at once. */
export const MAX_LIST_LIMIT = 100_000;

/** A whole number from `min` to `max` written in digits (no `1e3`, `0x10`, signs or blanks). */
export function parseIntArg(name: string, raw: string, min: number, max: number): number {
  const n = /^\d{1,16}$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
  return n;
}
