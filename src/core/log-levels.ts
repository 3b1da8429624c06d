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
