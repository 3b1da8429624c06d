/**
 * Log levels and the one way Sluice makes its pino logger, without loading pino (only its types):
 * core/log.ts imports pino, core/log-light.ts loads it on first use, both make the logger here.
 */
import type PinoModule from 'pino';

/** The log levels (pino's, plus `silent`), without the config schema, for the CLI's --log-level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** pino's number for each level (a record is written when its level's number >= the logger's). */
export const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** The level a logger gets: `level`, else `SLUICE_LOG_LEVEL`, else `info` (`silent` in tests). */
export function logLevelFrom(level: string | undefined): string {
  return level ?? process.env.SLUICE_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
}

/**
 * The logger Sluice writes with, made from the pino module it is given (imported by core/log.ts,
 * loaded on first use by core/log-light.ts): JSON records on `destination` (stderr by default),
 * written synchronously, with the process id.
 */
export function sluiceLogger(
  pino: typeof PinoModule,
  opts: { level?: string; name?: string; destination?: number | string } = {},
): PinoModule.Logger {
  const dest = pino.destination({ dest: opts.destination ?? 2, sync: true });
  return pino(
    { level: logLevelFrom(opts.level), name: opts.name ?? 'sluice', base: { pid: process.pid } },
    dest,
  );
}
