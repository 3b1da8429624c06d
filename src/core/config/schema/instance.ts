/**
 * Config schema: `instance` (`normal` or `fallback`: a fallback never deletes or moves instrument data).
 */
import { z } from 'zod';
import { section, str } from './building-blocks.ts';

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
    /**
     * The name of this Sluice deployment, written into the backup area's marker file
     * (`.sluice-backup-target`, src/backup/target.ts): a backup area whose marker names another
     * deployment is refused. A fallback instance uses its main instance's name.
     */
    name: str('a name such as "proteomics-core"')
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
        error: "letters, digits, '.', '_' and '-', starting with a letter or digit",
      })
      .default('sluice'),
  }),
);
