/**
 * Task `archive.retrieval_sweep` (scheduled every 10 minutes): retrieved copies past their expiry are
 * marked `expired` (in one transaction, so a request arriving meanwhile starts a new fetch instead of
 * joining one about to vanish), then their folders are removed and the path cleared. A folder whose
 * removal was cut short is found again by the next sweep (`foldersToRemove`), as are the folders of
 * failed fetches. `.partial-` folders belong to running fetches and are left to them.
 */
import { rm } from 'node:fs/promises';
import type { Config } from '../core/config/index.ts';
import type { Db } from '../core/db/db.ts';
import type { Logger } from '../core/log.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { clearPath, expireDue, foldersToRemove } from './retrieve-repo.ts';

const BATCH = 100;

export function retrievalSweepSchedules(): ScheduleSpec[] {
  return [
    scheduleOf(Kind.archiveRetrievalSweep, { name: Kind.archiveRetrievalSweep, intervalMs: 10 * 60_000 }),
  ];
}

/** One sweep; returns how many retrieved copies expired and how many folders were removed. */
export async function sweepRetrievals(
  db: Db,
  log: Logger,
  now = new Date(),
): Promise<{ expired: number; removed: number }> {
  let expired = 0;
  for (;;) {
    const rows = await db.tx((tx) => expireDue(tx, now, BATCH));
    expired += rows.length;
    if (rows.length < BATCH) break;
  }
  let removed = 0;
  for (;;) {
    const rows = await foldersToRemove(db, BATCH);
    for (const f of rows) {
      if (f.path) await rm(f.path, { recursive: true, force: true });
      await clearPath(db, f.id);
      removed++;
    }
    if (rows.length < BATCH) break;
  }
  if (expired || removed) log.info({ expired, removed }, 'retrieval sweep: expired retrieved copies removed');
  return { expired, removed };
}

export function retrievalSweepHandler(_deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.archiveRetrievalSweep, {
    async run(ctx) {
      await sweepRetrievals(ctx.db, ctx.log);
    },
  });
}
