/**
 * Structured logging (pino): the logger every module is given, and a silent one for tests and tools.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Scope child loggers with the fields an operator searches by:
 * `{ stage, taskId, fileId, instrument }`.
 *
 * `SLUICE_LOG_LEVEL` sets the level (default `info`; `silent` in tests).
 */
export function createLogger(
  opts: { level?: string; name?: string; destination?: number | string } = {},
): Logger {
  const level = opts.level ?? process.env.SLUICE_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const dest = pino.destination({ dest: opts.destination ?? 2, sync: true });
  return pino({ level, name: opts.name ?? 'sluice', base: { pid: process.pid } }, dest);
}

export const silentLogger: Logger = pino({ level: 'silent' });
