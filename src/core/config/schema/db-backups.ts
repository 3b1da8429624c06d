/**
 * `database.backups:` — named strategies for backing up Sluice's own database: when (cron), where
 * (a local directory or an S3 bucket) and how long to keep them. Each strategy runs as the periodic
 * task `db.backup` on Sluice's engine; `sluice db backup --strategy NAME` runs one by hand.
 * See src/ops/db-backup/ and docs/backups.md.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { httpUrlPortValid } from '../limits.ts';
import { always, bool, int, isMapping, num, str, strList, uniqueNames } from './building-blocks.ts';

/** A strategy name: part of every backup file name (`sluice-<name>-<timestamp>.sluicedump`). */
export const STRATEGY_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const cronSchema = str('a cron expression with five fields, e.g. "0 3 * * *"').superRefine((s, ctx) => {
  try {
    new Cron(s, { paused: true });
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a cron expression with five fields (minute hour day month weekday), e.g. "0 3 * * *", found '${s}' (${(err as Error).message})`,
      params: { full: true },
    });
  }
}, always);

const s3Schema = z.strictObject({
  bucket: str('an S3 bucket name'),
  /** Key prefix, e.g. `sluice/db/` (a trailing `/` is not added for you). */
  prefix: z.string({ error: 'a key prefix such as "sluice/db/"' }).default(''),
  /** For S3-compatible stores (MinIO, Ceph, ...): `https://s3.example.org`. Default: AWS. */
  endpoint: str('an http(s) URL')
    .regex(/^https?:\/\/\S+$/i, { error: 'an http(s) URL such as https://s3.example.org' })
    .refine(httpUrlPortValid, { error: 'an http(s) URL with a valid host and a port between 1 and 65535' })
    .optional(),
  region: str('a region name such as us-east-1').default('us-east-1'),
  /** Address buckets as `endpoint/bucket` (most S3-compatible stores need this). */
  force_path_style: bool().default(false),
  /** Both or neither; without them the AWS default chain applies (AWS_* variables, instance role). */
  access_key_id: str('an access key id').optional(),
  secret_access_key: str('a secret access key').optional(),
  session_token: str('a session token').optional(),
});

const locationSchema = z
  .strictObject(
    {
      /** A directory on the worker that runs the strategy; relative to the config file. */
      dir: str('a directory path').optional(),
      s3: s3Schema.optional(),
    },
    { error: 'a mapping with dir (a local directory) or s3 (a bucket)' },
  )
  .superRefine((l, ctx) => {
    if (!isMapping(l)) return;
    const v = l as { dir?: unknown; s3?: unknown };
    if ((v.dir === undefined) === (v.s3 === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one of dir (a local directory) and s3 (a bucket), found ${v.dir === undefined ? 'neither' : 'both'}`,
        params: { full: true },
      });
    }
  }, always);

const retentionSchema = z
  .strictObject({
    /** Keep at most this many of the strategy's backups (the newest). */
    keep_last: int(1).optional(),
    /** Delete the strategy's backups older than this. */
    max_age_days: num({ gt: 0 }, 'days').optional(),
  })
  .default({});

const s3CredentialsCheck = (s: unknown, ctx: z.RefinementCtx) => {
  const v = (s ?? {}) as { access_key_id?: unknown; secret_access_key?: unknown };
  if ((v.access_key_id === undefined) !== (v.secret_access_key === undefined)) {
    const missing = v.access_key_id === undefined ? 'access_key_id' : 'secret_access_key';
    ctx.addIssue({
      code: 'custom',
      path: ['location', 's3', missing],
      message: `expected both access_key_id and secret_access_key (or neither, for the AWS default credentials), found only ${missing === 'access_key_id' ? 'secret_access_key' : 'access_key_id'}`,
      params: { full: true },
    });
  }
};

export const dbBackupStrategySchema = z
  .strictObject(
    {
      name: str('a strategy name').regex(STRATEGY_NAME, {
        error: "a strategy name: lowercase letters, digits, '-' and '_', starting with a letter or digit",
      }),
      /** When it runs, e.g. "0 3 * * *" (03:00 every day, the worker's local time). */
      cron: cronSchema,
      location: locationSchema,
      retention: retentionSchema,
      /** Worker tags required to run it (a `dir` location must be mounted on that worker). */
      tags: strList('a tag').default([]),
      /** false: `sluice db backup --strategy NAME` only, no schedule. */
      enabled: bool().default(true),
    },
    { error: 'a backup strategy: a mapping with at least name, cron and location' },
  )
  .superRefine((s, ctx) => {
    if (isMapping(s) && isMapping(s.location)) s3CredentialsCheck(s.location.s3, ctx);
  }, always);

export const dbBackupsSchema = z
  .array(dbBackupStrategySchema, { error: 'a list of backup strategies ({name, cron, location, retention})' })
  .superRefine(uniqueNames('strategy', 'database.backups'), always)
  .default([]);

export type DbBackupStrategy = z.output<typeof dbBackupStrategySchema>;
export type DbBackupStrategyInput = z.input<typeof dbBackupStrategySchema>;
export type S3LocationConfig = z.output<typeof s3Schema>;
export type DbBackupRetention = z.output<typeof retentionSchema>;
