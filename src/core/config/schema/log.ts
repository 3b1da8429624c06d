/**
 * Config schema: `log` (the level of the structured logs).
 */
import { z } from 'zod';
import { section } from './building-blocks.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const logSchema = section(
  z.strictObject({
    level: z.enum(LOG_LEVELS).default('info'),
  }),
);
