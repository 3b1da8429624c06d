/**
 * Config schema: `backup.targets` — backup targets besides the filesystem backup (`backup.path`,
 * which is always there and is the target named `backup`, the primary). A target is an S3 bucket
 * (`type: s3`; AWS or any S3-compatible store: MinIO, Ceph, ...; src/backup/s3/) or another
 * filesystem (`type: filesystem`: a second disk or share; src/backup/fs-target/); each gets its own
 * verified copy of every file, made from the verified primary copy, its own pool, and may be named
 * in `cleanup.require`.
 */
import { z } from 'zod';
import { httpUrlPortValid } from '../limits.ts';
import { always, bool, int, isMapping, str, uniqueNames } from './building-blocks.ts';

/** A target's name: part of its pool's name and of `cleanup.require`; `backup` is the filesystem one. */
export const TARGET_NAME = /^[a-z][a-z0-9_-]*$/;
export const FILESYSTEM_TARGET = 'backup';

/** Storage classes an object may be written in: each can be read back at once (no restore needed). */
export const S3_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'REDUCED_REDUNDANCY',
] as const;

/** Placeholders a bucket name may hold (a bucket per project or instrument). */
export const BUCKET_PLACEHOLDERS = ['project', 'instrument'] as const;

/** Order in which files recorded before a target was added are copied to it. */
export const BACKFILL_ORDERS = ['oldest_first', 'newest_first'] as const;

const bucketSchema = str('an S3 bucket name, optionally with {project} or {instrument}').superRefine(
  (s, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message, params: { full: true } });
    for (const m of s.matchAll(/\{([^{}]*)\}/g)) {
      if (!(BUCKET_PLACEHOLDERS as readonly string[]).includes(m[1] ?? '')) {
        issue(`unknown placeholder: expected only {project} or {instrument}, found '{${m[1]}}' in '${s}'`);
      }
    }
    const literal = s.replace(/\{[^{}]*\}/g, 'x');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(literal)) {
      issue(
        `expected a bucket name of 3–63 lowercase letters, digits, '.' and '-' (placeholders filled), found '${s}'; project and instrument ids used in it must fit that too`,
      );
    }
  },
  always,
);

const prefixSchema = z
  .string({ error: 'a key prefix such as "raw/" (or "" for none)' })
  .refine((p) => p === '' || (!p.startsWith('/') && p.endsWith('/')), {
    error: 'a key prefix that does not start with "/" and ends with "/", such as "raw/" (or "" for none)',
  })
  .default('');

export const s3TargetSchema = z
  .strictObject(
    {
      name: str('a target name').regex(TARGET_NAME, {
        error: "a target name: lowercase letters, digits, '-' and '_', starting with a letter",
      }),
      type: z.literal('s3', { error: 's3 or filesystem' }),
      /** For S3-compatible stores (MinIO, Ceph, ...): `https://s3.example.org`. Default: AWS. */
      endpoint: str('an http(s) URL')
        .regex(/^https?:\/\/\S+$/i, { error: 'an http(s) URL such as https://s3.example.org' })
        .refine(httpUrlPortValid, {
          error: 'an http(s) URL with a valid host and a port between 1 and 65535',
        })
        .optional(),
      region: str('a region name such as us-east-1').default('us-east-1'),
      /** Fixed (`lab-raw`) or per project (`raw-{project}`); the bucket must exist. */
      bucket: bucketSchema,
      /** Before every key; the rest of the key is `backup.layout` filled in, then the member's name. */
      prefix: prefixSchema,
      storage_class: z
        .enum(S3_STORAGE_CLASSES, {
          error: `one of ${S3_STORAGE_CLASSES.join(', ')} (classes that need a restore before a read, GLACIER and DEEP_ARCHIVE, cannot be read back to verify)`,
        })
        .default('STANDARD'),
      /** Address buckets as `endpoint/bucket` (most S3-compatible stores need this). */
      force_path_style: bool().default(false),
      /** Both or neither; without them the AWS default chain applies. Use `${file:...}` secrets. */
      access_key_id: str('an access key id').optional(),
      secret_access_key: str('a secret access key').optional(),
      session_token: str('a session token').optional(),
      /** Bytes per part of a multipart upload, in MiB (S3: at least 5, at most 5120). */
      part_size_mb: int(5, 5120).default(16),
      /** Parts uploaded at once; memory per upload ≈ part_size_mb × (parts_in_flight + 1). */
      parts_in_flight: int(1, 16).default(4),
      /** The pool its copies run in; default `copy.<name>` (size 2 unless set under `pools:`). */
      pool: str('a pool name').optional(),
      /** Files recorded before the target was added: copied oldest or newest first. */
      backfill: z.enum(BACKFILL_ORDERS, { error: 'oldest_first or newest_first' }).default('oldest_first'),
    },
    { error: 'an S3 target: a mapping with at least name, type: s3 and bucket' },
  )
  .superRefine((t, ctx) => {
    if (!isMapping(t)) return;
    const v = t as Record<string, unknown>;
    const full = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message, params: { full: true } });
    if ((v.access_key_id === undefined) !== (v.secret_access_key === undefined)) {
      const missing = v.access_key_id === undefined ? 'access_key_id' : 'secret_access_key';
      full(
        missing,
        `expected both access_key_id and secret_access_key (or neither, for the AWS default credentials), found only ${missing === 'access_key_id' ? 'secret_access_key' : 'access_key_id'}`,
      );
    }
    if (v.name === FILESYSTEM_TARGET) {
      full('name', `expected a name other than '${FILESYSTEM_TARGET}' (the filesystem backup, backup.path)`);
    }
    const part = typeof v.part_size_mb === 'number' ? v.part_size_mb : 16;
    const inFlight = typeof v.parts_in_flight === 'number' ? v.parts_in_flight : 4;
    if (part * (inFlight + 1) > 1024) {
      full(
        'parts_in_flight',
        `expected part_size_mb × (parts_in_flight + 1) ≤ 1024 (the memory one upload holds, in MiB), found ${part} × ${inFlight + 1}; lower one of them`,
      );
    }
  }, always);

const targetName = str('a target name')
  .regex(TARGET_NAME, {
    error: "a target name: lowercase letters, digits, '-' and '_', starting with a letter",
  })
  .refine((n) => n !== FILESYSTEM_TARGET, {
    error: `a name other than '${FILESYSTEM_TARGET}' (the filesystem backup, backup.path)`,
  });

/** Another filesystem (a second disk, a share in another room): a copy of every file as in `backup.path`. */
export const fsTargetSchema = z.strictObject(
  {
    name: targetName,
    type: z.literal('filesystem', { error: 's3 or filesystem' }),
    /** The folder copies go to, in `backup.layout`; must not be, contain or lie inside `backup.path`. */
    path: str('a directory path (the second backup disk or share)'),
    /** `path` must be a mount point: an unmounted share leaves an empty local folder (backup/target.ts). */
    require_mount: bool().default(false),
    /** The pool its copies run in; default `copy.<name>` (size 2 unless set under `pools:`). */
    pool: str('a pool name').optional(),
    /** Files recorded before the target was added: copied oldest or newest first. */
    backfill: z.enum(BACKFILL_ORDERS, { error: 'oldest_first or newest_first' }).default('oldest_first'),
  },
  { error: 'a filesystem target: a mapping with name, type: filesystem and path' },
);

export const backupTargetsSchema = z
  .array(
    z.discriminatedUnion('type', [s3TargetSchema, fsTargetSchema], {
      error: 'a backup target with type: s3 or type: filesystem',
    }),
    { error: 'a list of backup targets ({name, type: s3, bucket, ...} or {name, type: filesystem, path})' },
  )
  .superRefine(uniqueNames('target', 'backup.targets'), always)
  .default([]);

export type S3TargetConfig = z.output<typeof s3TargetSchema>;
export type FsTargetConfig = z.output<typeof fsTargetSchema>;
export type BackupTargetConfig = S3TargetConfig | FsTargetConfig;

/** The S3 targets of `backup.targets`. */
export function s3Targets(targets: readonly BackupTargetConfig[]): S3TargetConfig[] {
  return targets.filter((t): t is S3TargetConfig => t.type === 's3');
}

/** The filesystem targets of `backup.targets` (besides the primary, `backup.path`). */
export function fsTargets(targets: readonly BackupTargetConfig[]): FsTargetConfig[] {
  return targets.filter((t): t is FsTargetConfig => t.type === 'filesystem');
}

/** The pool a target's copies run in. */
export function targetPool(t: Pick<BackupTargetConfig, 'name' | 'pool'>): string {
  return t.pool ?? `copy.${t.name}`;
}

/** Size of a target's pool when `pools:` does not set it. */
export const TARGET_POOL_SIZE = 2;
