/** The log levels (pino's, plus `silent`), without the config schema, for the CLI's --log-level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
