/**
 * Structured logging (pino): the logger every module is given, and a silent one for tests and tools.
 * Read-only commands use one that loads pino only when it writes (./log-light.ts).
 */
import pino, { type Logger } from 'pino';
import { sluiceLogger } from './log-levels.ts';

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
  return sluiceLogger(pino, opts);
}

export const silentLogger: Logger = pino({ level: 'silent' });
