/**
 * Task `backup.fs_upkeep` (one schedule per filesystem target of `backup.targets`, every 10
 * minutes): catch-up. Files with a verified primary copy but none on the target (the target was
 * added to a running site, a copy failed for good, fixity marked its copy corrupt) get a
 * `backup.fs_copy` task, `BACKFILL_BATCH` per run, in the target's `backfill` order, through the
 * target's pool (files whose task is queued or running already are skipped by the kind's
 * de-duplication). `sluice status` and the dashboard's targets card show the progress
 * (s3/progress.ts, for every target).
 */
import type { Config } from '../../core/config/index.ts';
import { type FsTargetConfig, fsTargets, targetPool } from '../../core/config/schema/backup-targets.ts';
import type { Db } from '../../core/db/db.ts';
import { ownEntry } from '../../core/own.ts';
import type { ScheduleSpec } from '../../engine/schedules.ts';
import type { TaskHandlerDef } from '../../engine/types.ts';
import { filesWithoutCopyOn } from '../../files/copies.ts';
import { releasedWithoutCopyOn } from '../../files/releases.ts';
import { defineHandler, enqueueTasks, Kind, scheduleOf } from '../../tasks/catalogue.ts';
import { BACKFILL_BATCH } from '../s3/upkeep.ts';
import { fsTarget } from './copy-task.ts';

export const FS_UPKEEP_PREFIX = 'fs-upkeep:';

export function fsUpkeepSchedules(config: Config): ScheduleSpec[] {
  return fsTargets(config.backup.targets).map((t) =>
    scheduleOf(Kind.backupFsUpkeep, {
      name: `${FS_UPKEEP_PREFIX}${t.name}`,
      payload: { target: t.name },
      intervalMs: 10 * 60_000,
    }),
  );
}

/** Enqueues copies of files the target lacks; returns how many tasks were added. */
export async function backfillFs(db: Db, config: Config, t: FsTargetConfig): Promise<number> {
  const missing = await filesWithoutCopyOn(db, t.name, t.backfill, BACKFILL_BATCH);
  if (missing.length === 0) return 0;
  return enqueueTasks(
    db,
    Kind.backupFsCopy,
    missing.map((f) => ({
      subject: f.id,
      payload: { target: t.name },
      opts: { tags: ownEntry(config.instruments, f.instrument_id)?.tags, pool: targetPool(t) },
    })),
  );
}

export function fsUpkeepHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.backupFsUpkeep, {
    async run(ctx) {
      const t = fsTarget(deps.config, ctx.payload.target);
      if (!t) return;
      const queued = await backfillFs(ctx.db, deps.config, t);
      const released = await releasedWithoutCopyOn(ctx.db, t.name);
      if (released)
        ctx.log.info(
          { target: t.name, released },
          'back-fill skips files whose backup was released (their data is in archives)',
        );
      if (queued) ctx.log.info({ target: t.name, queued }, 'filesystem target upkeep');
    },
  });
}
