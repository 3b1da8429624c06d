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
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

export function parseIntArg(name: string, raw: string, min = 0): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${name} must be a whole number ≥ ${min}, got '${raw}'`);
  return n;
}
