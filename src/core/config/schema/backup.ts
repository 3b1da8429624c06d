/**
 * Config schema: `backup` (where verified copies go, their layout, verification).
 */
import { getHashes } from 'node:crypto';
import { z } from 'zod';
import { backupTargetsSchema } from './backup-targets.ts';
import { always, bool, num, section, str } from './building-blocks.ts';

export const LAYOUT_PLACEHOLDERS = ['instrument', 'yyyy', 'mm', 'dd', 'file_id', 'project'] as const;
export const DEFAULT_LAYOUT = '{instrument}/{yyyy}_{mm}/{file_id}';

const layoutSchema = z
  .string({ error: `a path template such as "${DEFAULT_LAYOUT}"` })
  .superRefine((s, ctx) => {
    if (typeof s !== 'string') return;
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message, params: { full: true } });
    const allowed = LAYOUT_PLACEHOLDERS.map((p) => `{${p}}`).join(', ');
    for (const m of s.matchAll(/\{([^{}]*)\}/g)) {
      if (!(LAYOUT_PLACEHOLDERS as readonly string[]).includes(m[1] ?? '')) {
        issue(`unknown placeholder: expected only ${allowed}, found '{${m[1]}}' in '${s}'`);
      }
    }
    const stripped = s.replace(/\{[^{}]*\}/g, '');
    if (/[{}]/.test(stripped)) issue(`unbalanced braces: expected placeholders like {file_id}, found '${s}'`);
    if (!s.includes('{file_id}')) {
      issue(`expected a layout containing {file_id} (every file needs its own place), found '${s}'`);
    }
    if (s.startsWith('/') || s.split('/').includes('..')) {
      issue(`expected a relative path inside backup.path without '..', found '${s}'`);
    }
  }, always);

/** Scheduled fixity audits of the backup copies (src/backup/fixity.ts). */
export const fixitySchema = section(
  z.strictObject({
    enabled: bool().default(true),
    /** Every verified copy is re-read at least once in this many days (a share of them every hour). */
    cycle_days: num({ gt: 0, lte: 3650 }, 'days').default(30),
    /** Average read rate of an audit (10^6 bytes per second); 0 reads as fast as the storage allows. */
    max_mb_per_second: num({ gte: 0 }, 'MB/s').default(50),
  }),
);

export const backupSchema = section(
  z.strictObject({
    /** Default: `<data_dir>/backup`; relative paths are resolved against the config file's directory. */
    path: str('a directory path').optional(),
    layout: layoutSchema.default(DEFAULT_LAYOUT),
    hash: str()
      .refine((h) => getHashes().includes(h), {
        error: 'a hash algorithm supported by Node.js (sha256, sha512, sha1, md5, ...)',
      })
      .default('sha256'),
    /**
     * `path` must be a mount point (its device differs from its parent's): an unmounted share
     * leaves an empty local folder, and nothing may be copied there (src/backup/target.ts).
     */
    require_mount: bool().default(false),
    /**
     * While the backup target is unavailable (not mounted, marker missing or wrong), each waiting
     * copy looks again after a delay that doubles from 1 s up to this many seconds.
     */
    target_recheck_seconds: num({ gt: 0, lte: 3600 }, 'seconds').default(60),
    fixity: fixitySchema,
    /** More targets besides this filesystem one (named `backup`): S3 buckets (backup-targets.ts). */
    targets: backupTargetsSchema,
  }),
);
