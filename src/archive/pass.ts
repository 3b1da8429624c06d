/**
 * The archive policy pass (task `archive.pass`, scheduled every `archive.pass_minutes`) and the
 * flow's hook after a backup (`archiveAfterBackup`, called by src/pipeline/flow.ts):
 *   - after a verified backup, the items of `after_backup` policies (due now) and of
 *     `days_after_acquisition` ones (due N days after acquisition) are added, and the targets' pack
 *     tasks enqueued, in the backup's transaction;
 *   - the pass adds the items of `after_processing` policies for files whose processing ended
 *     (processed, done, done_not_processed) and of day-based ones for files backed up before the
 *     policy existed, and enqueues a pack task for every target with items due or an archive left
 *     unfinished. Items are added once per file and target (a re-run adds nothing).
 */
import type { Config } from '../core/config/index.ts';
import type { Tx } from '../core/db/db.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { backedUpFilesAfter } from '../files/archive-candidates.ts';
import type { FileRow } from '../files/repo.ts';
import { defineHandler, enqueueTask, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { itemsFor } from './policy.ts';
import { addItems, targetsWithDueItems, unfinishedArchives } from './repo.ts';

const PROCESSED = ['processed', 'done', 'done_not_processed'];
const PAGE = 1000;

/** Enqueues the pack task of each target (one per target at a time; a second enqueue is a no-op). */
export async function startPacking(tx: Tx, config: Config, targets: Iterable<string>): Promise<void> {
  for (const t of new Set(targets)) {
    if (config.archive.targets.some((x) => x.name === t)) await enqueueTask(tx, Kind.archivePack, t, {});
  }
}

/** After a verified backup of `file`: its archive items, and pack tasks for those due now. */
export async function archiveAfterBackup(tx: Tx, config: Config, file: FileRow): Promise<void> {
  if (config.archive.policies.length === 0) return;
  const now = new Date();
  const items = itemsFor(config.archive, file, 'backed_up', now);
  await addItems(tx, items);
  await startPacking(
    tx,
    config,
    items.filter((i) => i.dueAt <= now).map((i) => i.target),
  );
}

/** One pass (see the module comment); returns how many items it added. */
export async function archivePass(tx: Tx, config: Config): Promise<number> {
  let added = 0;
  const now = new Date();
  // targets of items added due now: `targetsWithDueItems` compares with the transaction's start
  // (now()), which is before `now`, so it would miss them until the next pass
  const dueNow = new Set<string>();
  const scans = config.archive.policies.some((p) => p.when !== 'after_backup');
  for (let after = ''; scans; ) {
    const page = await backedUpFilesAfter(tx, after, PAGE);
    for (const f of page) {
      const items = [
        ...itemsFor(config.archive, f, 'pass', now),
        ...(PROCESSED.includes(f.status) ? itemsFor(config.archive, f, 'processed', now) : []),
      ];
      added += await addItems(tx, items);
      for (const i of items) if (i.dueAt <= now) dueNow.add(i.target);
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.id;
  }
  const targets = [
    ...dueNow,
    ...(await targetsWithDueItems(tx)),
    ...(await unfinishedArchives(tx)).map((a) => a.target),
  ];
  await startPacking(tx, config, targets);
  return added;
}

export function archivePassSchedules(config: Config): ScheduleSpec[] {
  if (config.archive.targets.length === 0) return [];
  return [
    scheduleOf(Kind.archivePass, {
      name: Kind.archivePass,
      intervalMs: config.archive.pass_minutes * 60_000,
    }),
  ];
}

export function archivePassHandler(deps: { config: Config }): TaskHandlerDef {
  return defineHandler(Kind.archivePass, {
    async run(ctx) {
      await ctx.complete(async (tx) => {
        const added = await archivePass(tx, deps.config);
        if (added) ctx.log.info({ added }, 'archive items added by the policy pass');
      });
    },
  });
}
