import { z } from 'zod';
import { bool, section } from './common.ts';

export const cleanupSchema = section(
  z.strictObject({
    /** Deleting from instruments is refused outside `production` unless this is true. */
    allow_outside_production: bool().default(false),
  }),
);
