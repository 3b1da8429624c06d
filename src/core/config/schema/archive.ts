/**
 * Config schema: `archive` — long-term storage (issue #20). `targets` are where archives go: a
 * long-term-storage mount (`filesystem`, with `require_mount` and a minimum free share checked before
 * each write) or an S3 bucket (`s3`, like a backup target plus a cold storage class and the tier a
 * retrieval restores with). `policies` say which files are archived (per project and/or instrument),
 * when (after their backup, after processing, or N days after acquisition) and to which targets.
 * The pools `archive.write` (default 1) and `archive.read` (default 2) limit parallel writes and
 * reads; size 0 pauses them, as everywhere.
 */
import { z } from 'zod';
import { httpUrlPortValid } from '../limits.ts';
import { archiveFixitySchema } from './archive-fixity.ts';
import { backupRetentionSchema } from './archive-retention.ts';
import { TARGET_NAME } from './backup-targets.ts';
import { always, bool, int, isMapping, num, section, str, strList, uniqueNames } from './building-blocks.ts';

/** Storage classes an archive may be written in (the cold ones need a restore before a read). */
export const ARCHIVE_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
] as const;
/** Classes whose objects cannot be read without a `RestoreObject` first. */
export const COLD_CLASSES: readonly string[] = ['GLACIER', 'DEEP_ARCHIVE'];
export const RESTORE_TIERS = ['Expedited', 'Standard', 'Bulk'] as const;
export const ARCHIVE_WHEN = ['after_backup', 'after_processing', 'days_after_acquisition'] as const;
/** What a policy archives: the raw set always; the finished jobs' outputs and the metrics optionally. */
export const ARCHIVE_WHAT = ['raw', 'outputs', 'metrics'] as const;
export type ArchiveWhat = (typeof ARCHIVE_WHAT)[number];
const WHAT_PHRASE = 'a list of raw, outputs, metrics that contains raw, e.g. [raw, outputs, metrics]';

/** `what:` a list of ARCHIVE_WHAT containing `raw` (a single word is taken as a list of one). */
const whatSchema = z.preprocess(
  (v) => (typeof v === 'string' ? [v] : v),
  z
    .array(z.enum(ARCHIVE_WHAT, { error: `one of ${ARCHIVE_WHAT.join(', ')}` }), { error: WHAT_PHRASE })
    .refine((w) => w.includes('raw'), { error: `${WHAT_PHRASE} (the raw set is always archived)` })
    .transform((w) => [...new Set(w)]),
);

export const ARCHIVE_WRITE_POOL = 'archive.write';
export const ARCHIVE_READ_POOL = 'archive.read';
export const ARCHIVE_POOL_SIZES: Record<string, number> = { [ARCHIVE_WRITE_POOL]: 1, [ARCHIVE_READ_POOL]: 2 };

const name = str('a target name').regex(TARGET_NAME, {
  error: "a target name: lowercase letters, digits, '-' and '_', starting with a letter",
});

/** Shared by both kinds: how large one archive may grow before the next one starts. */
const common = {
  name,
  /** Members are added to an archive while it stays below this; a larger file gets its own. */
  archive_size_mb: int(1, undefined, 'a size in MiB: a positive integer').default(51_200),
};

const fsTargetSchema = z.strictObject(
  {
    ...common,
    type: z.literal('filesystem'),
    path: str('a directory path (the long-term-storage mount)'),
    /** Refuse to write unless `path` is a mount point (a missing mount would fill the root disk). */
    require_mount: bool().default(false),
    /** Before each write: at least this share of the filesystem stays free after it (0.2 = 20 %). */
    min_free_share: num({ gte: 0, lte: 0.95 }).default(0.2),
  },
  { error: 'a filesystem archive target: a mapping with name, type: filesystem and path' },
);

const s3TargetSchema = z
  .strictObject(
    {
      ...common,
      type: z.literal('s3'),
      endpoint: str('an http(s) URL')
        .regex(/^https?:\/\/\S+$/i, { error: 'an http(s) URL such as https://s3.example.org' })
        .refine(httpUrlPortValid, {
          error: 'an http(s) URL with a valid host and a port between 1 and 65535',
        })
        .optional(),
      region: str('a region name such as us-east-1').default('us-east-1'),
      bucket: str('an S3 bucket name').regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
        error: "an S3 bucket name: 3–63 lowercase letters, digits, '.' and '-'",
      }),
      prefix: z
        .string({ error: 'a key prefix such as "archive/" (or "" for none)' })
        .refine((p) => p === '' || (!p.startsWith('/') && p.endsWith('/')), {
          error: 'a key prefix that does not start with "/" and ends with "/", such as "archive/"',
        })
        .default(''),
      storage_class: z
        .enum(ARCHIVE_STORAGE_CLASSES, { error: `one of ${ARCHIVE_STORAGE_CLASSES.join(', ')}` })
        .default('DEEP_ARCHIVE'),
      /** The tier a retrieval's RestoreObject asks for, and for how many days the restored copy stays. */
      restore_tier: z.enum(RESTORE_TIERS, { error: RESTORE_TIERS.join(', ') }).default('Bulk'),
      restore_days: int(1, 365).default(3),
      force_path_style: bool().default(false),
      access_key_id: str('an access key id').optional(),
      secret_access_key: str('a secret access key').optional(),
      session_token: str('a session token').optional(),
      part_size_mb: int(5, 5120).default(16),
      parts_in_flight: int(1, 16).default(4),
    },
    { error: 'an S3 archive target: a mapping with name, type: s3 and bucket' },
  )
  .superRefine((t, ctx) => {
    if (!isMapping(t)) return;
    const v = t as Record<string, unknown>;
    if ((v.access_key_id === undefined) !== (v.secret_access_key === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret_access_key'],
        message:
          'expected both access_key_id and secret_access_key (or neither, for the AWS default credentials)',
        params: { full: true },
      });
    }
  }, always);

const targetSchema = z.discriminatedUnion('type', [fsTargetSchema, s3TargetSchema], {
  error: 'an archive target with type: filesystem or type: s3',
});

const policySchema = z
  .strictObject(
    {
      name: str('a policy name'),
      /** Project ids it covers (none: every project). */
      projects: strList('a project id').default([]),
      /** Instrument ids it covers (none: every instrument). */
      instruments: strList('an instrument id').default([]),
      /** raw always; outputs: the finished jobs' output folders; metrics: the file's metric rows. */
      what: whatSchema.default(['raw']),
      when: z.enum(ARCHIVE_WHEN, { error: ARCHIVE_WHEN.join(', ') }).default('after_backup'),
      /** For `days_after_acquisition`. */
      days: int(0).default(0),
      targets: strList('an archive target name').min(1, { error: 'a list of at least one archive target' }),
    },
    { error: 'a policy: a mapping with name and targets' },
  )
  .superRefine((p, ctx) => {
    if (isMapping(p) && p.when === 'days_after_acquisition' && p.days === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['days'],
        message: 'expected days with when: days_after_acquisition',
      });
    }
  }, always);

export const archiveSchema = section(
  z
    .strictObject({
      targets: z
        .array(targetSchema, { error: 'a list of archive targets' })
        .superRefine(uniqueNames('target', 'archive.targets'), always)
        .default([]),
      policies: z
        .array(policySchema, { error: 'a list of archive policies' })
        .superRefine(uniqueNames('policy', 'archive.policies'), always)
        .default([]),
      /** How often the policy pass looks for files due (after processing, N days) and archives left. */
      pass_minutes: int(1, 1440).default(10),
      /** Re-reads of archived sets (src/archive/fixity.ts). */
      fixity: archiveFixitySchema,
      /** Release of backup copies whose sets verified archives hold (src/archive/retention.ts). */
      backup_retention: backupRetentionSchema,
    })
    .superRefine((a, ctx) => {
      if (!isMapping(a) || !Array.isArray(a.targets) || !Array.isArray(a.policies)) return;
      const names = a.targets.map((t) => (t as { name?: unknown }).name);
      a.policies.forEach((p, i) => {
        const targets = (p as { targets?: unknown }).targets;
        if (!Array.isArray(targets)) return;
        targets.forEach((t, j) => {
          if (typeof t === 'string' && !names.includes(t)) {
            ctx.addIssue({
              code: 'custom',
              path: ['policies', i, 'targets', j],
              message: `unknown archive target: expected one of ${names.join(', ') || '(none defined under archive.targets)'}, found '${t}'`,
              params: { full: true },
            });
          }
        });
      });
      const retention = a.backup_retention as { require?: unknown } | undefined;
      if (isMapping(retention) && Array.isArray(retention.require)) {
        retention.require.forEach((t, j) => {
          if (typeof t === 'string' && !names.includes(t)) {
            ctx.addIssue({
              code: 'custom',
              path: ['backup_retention', 'require', j],
              message: `unknown archive target: expected one of ${names.join(', ') || '(none defined under archive.targets)'}, found '${t}'`,
              params: { full: true },
            });
          }
        });
      }
    }, always),
);

export type ArchiveConfig = z.output<typeof archiveSchema>;
export type ArchiveTarget = ArchiveConfig['targets'][number];
export type FsArchiveTarget = Extract<ArchiveTarget, { type: 'filesystem' }>;
export type S3ArchiveTarget = Extract<ArchiveTarget, { type: 's3' }>;
export type ArchivePolicy = ArchiveConfig['policies'][number];
