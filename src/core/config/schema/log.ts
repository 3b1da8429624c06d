/**
 * Config schema: `log` (the level of the structured logs).
 */
import { z } from 'zod';
import { LOG_LEVELS } from '../../log-levels.ts';
import { section } from './building-blocks.ts';

export { LOG_LEVELS };

export const logSchema = section(
  z.strictObject({
    level: z.enum(LOG_LEVELS).default('info'),
  }),
);
