/**
 * Task `backup.s3_upkeep` (one schedule per S3 target, every 10 minutes): keeps a target whole.
 *
 * - Catch-up: files with a verified filesystem copy but none on the target (the target was added to a
 *   running site, or a copy failed for good) get a `backup.s3` task, `BACKFILL_BATCH` per run, in the
 *   target's `backfill` order, through the target's pool (files whose task is queued or running
 *   already are skipped by the kind's de-duplication). `sluice status` shows the progress.
 * - Sweep: multipart uploads under the target's prefix started more than `STALE_UPLOAD_MS` ago (left by
 *   a process killed mid-upload, or an abort the store did not get) are aborted, so no part is kept
 *   (and billed) for ever.
 */
import { AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import type { Config } from '../../core/config/index.ts';
import { type S3TargetConfig, s3Targets, targetPool } from '../../core/config/schema/backup-targets.ts';
import type { Db } from '../../core/db/db.ts';
import type { Logger } from '../../core/log.ts';
import { ownEntry } from '../../core/own.ts';
import type { ScheduleSpec } from '../../engine/schedules.ts';
import type { TaskHandlerDef } from '../../engine/types.ts';
import { filesWithoutCopyOn } from '../../files/copies.ts';
import { releasedWithoutCopyOn } from '../../files/releases.ts';
import { defineHandler, enqueueTasks, Kind, scheduleOf } from '../../tasks/catalogue.ts';
import { clientFor } from './clients.ts';
import { s3Target } from './copy-task.ts';
import { listUploads } from './upload.ts';

export const S3_UPKEEP_PREFIX = 's3-upkeep:';
export const BACKFILL_BATCH = 200;
export const STALE_UPLOAD_MS = 24 * 3_600_000;

export function s3UpkeepSchedules(config: Config): ScheduleSpec[] {
  return s3Targets(config.backup.targets).map((t) =>
    scheduleOf(Kind.backupS3Upkeep, {
      name: `${S3_UPKEEP_PREFIX}${t.name}`,
      payload: { target: t.name },
      intervalMs: 10 * 60_000,
    }),
  );
}

/** Every bucket the target may use: the fixed one, or one per project / instrument in the config. */
export function bucketsOf(config: Config, t: Pick<S3TargetConfig, 'bucket'>): string[] {
  const projects = [...Object.keys(config.projects), config.fallback_project];
  const instruments = Object.keys(config.instruments);
  let names = [t.bucket];
  if (t.bucket.includes('{project}'))
    names = names.flatMap((b) => projects.map((p) => b.replaceAll('{project}', p)));
  if (t.bucket.includes('{instrument}'))
    names = names.flatMap((b) => instruments.map((i) => b.replaceAll('{instrument}', i)));
  return [...new Set(names)];
}

/** Enqueues copies of files the target lacks; returns how many tasks were added. */
export async function backfill(db: Db, config: Config, t: S3TargetConfig): Promise<number> {
  const missing = await filesWithoutCopyOn(db, t.name, t.backfill, BACKFILL_BATCH);
  if (missing.length === 0) return 0;
  return enqueueTasks(
    db,
    Kind.backupS3,
    missing.map((f) => ({
      subject: f.id,
      payload: { target: t.name },
      opts: { tags: ownEntry(config.instruments, f.instrument_id)?.tags, pool: targetPool(t) },
    })),
  );
}

/** Aborts the target's multipart uploads older than `STALE_UPLOAD_MS`; returns how many. */
export async function sweepStaleUploads(
  config: Config,
  t: S3TargetConfig,
  log: Logger,
  now = Date.now(),
): Promise<number> {
  const client = clientFor(t);
  let n = 0;
  for (const bucket of bucketsOf(config, t)) {
    const r = await listUploads(client, bucket, t.prefix || undefined).catch((err: unknown) => {
      log.warn({ bucket, err: String(err) }, 'S3 upkeep: cannot list multipart uploads');
      return undefined;
    });
    for (const up of r?.Uploads ?? []) {
      if (!up.Key || !up.UploadId || !up.Initiated || now - up.Initiated.getTime() < STALE_UPLOAD_MS)
        continue;
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: up.Key, UploadId: up.UploadId }),
      );
      n++;
    }
  }
  return n;
}

export function s3UpkeepHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.backupS3Upkeep, {
    async run(ctx) {
      const t = s3Target(deps.config, ctx.payload.target);
      if (!t) return;
      const queued = await backfill(ctx.db, deps.config, t);
      const released = await releasedWithoutCopyOn(ctx.db, t.name);
      if (released)
        ctx.log.info(
          { target: t.name, released },
          'back-fill skips files whose backup was released (their data is in archives)',
        );
      const aborted = await sweepStaleUploads(deps.config, t, ctx.log);
      if (queued || aborted) ctx.log.info({ target: t.name, queued, aborted }, 'S3 target upkeep');
    },
  });
}
