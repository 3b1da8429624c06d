import { z } from 'zod';
import { section } from './common.ts';

export const INSTANCE_MODES = ['normal', 'fallback'] as const;
export type InstanceMode = (typeof INSTANCE_MODES)[number];

/**
 * What this Sluice instance is. `fallback`: an independent stand-in (its own database) that backs up
 * and processes while the main instance is down, and never moves or removes instrument data,
 * whatever `instruments.*.move_after_backup` and `cleanup.enabled` say (docs/fallback.md).
 */
export const instanceSchema = section(
  z.strictObject({
    mode: z.enum(INSTANCE_MODES).default('normal'),
  }),
);
