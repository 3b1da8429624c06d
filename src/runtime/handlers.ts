/**
 * The composition root of the pipeline: the handlers of the task kinds (src/tasks/catalogue.ts) and
 * the periodic work the config asks for. Each stage contributes its handlers and schedules here, and
 * gets the flow's `report` (src/pipeline/flow.ts) in its deps: stages report outcomes, the flow
 * decides what follows. `sluice start` runs them on the worker role.
 */
import { archiveFixityHandler, archiveFixitySchedules } from '../archive/fixity.ts';
import { archivePackHandler } from '../archive/pack-task.ts';
import { archivePassHandler, archivePassSchedules } from '../archive/pass.ts';
import { retentionHandler, retentionSchedules } from '../archive/retention.ts';
import { retrievalSweepHandler, retrievalSweepSchedules } from '../archive/retrieve-sweep.ts';
import { retrieveHandler } from '../archive/retrieve-task.ts';
import { backupHandler } from '../backup/backup-task.ts';
import { batchHandler } from '../backup/batch-task.ts';
import { fixityHandler, fixitySchedules } from '../backup/fixity.ts';
import { fsCopyHandler } from '../backup/fs-target/copy-task.ts';
import { FS_UPKEEP_PREFIX, fsUpkeepHandler, fsUpkeepSchedules } from '../backup/fs-target/upkeep.ts';
import { s3CopyHandler } from '../backup/s3/copy-task.ts';
import { S3_UPKEEP_PREFIX, s3UpkeepHandler, s3UpkeepSchedules } from '../backup/s3/upkeep.ts';
import { catalogIndexHandler, catalogIndexSchedules } from '../catalog/search-index.ts';
import { moveHandler } from '../cleanup/move.ts';
import { removerHandler, removerSchedules } from '../cleanup/remove.ts';
import type { Config } from '../core/config/index.ts';
import type { Variables } from '../core/variables.ts';
import { pruneWorkers } from '../engine/processes.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import { pruneTasks } from '../engine/status.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { FOLD_EVERY_MS, foldCopyCounts } from '../files/copy-counts.ts';
import { scanHandler, scanSchedules } from '../intake/scan-task.ts';
import { sendReactionNotices } from '../ops/alerts/notifiers.ts';
import { alertsConfigOf, alertsHandler, alertsSchedules } from '../ops/alerts/run.ts';
import { DB_BACKUP_SCHEDULE_PREFIX, dbBackupHandler, dbBackupSchedules } from '../ops/db-backup/strategy.ts';
import { createFlow } from '../pipeline/flow.ts';
import type { Executor } from '../process/executors/types.ts';
import { processingRerunHandler } from '../process/reruns.ts';
import { cancelHandler, pollHandler, processSchedules, submitHandler } from '../process/tasks.ts';
import { computeHandler } from '../streams/compute-task.ts';
import { reactionHandler } from '../streams/reaction-task.ts';
import { REACTION_SCHEDULE_PREFIX, reactionSchedules } from '../streams/reactions.ts';
import { rerunHandler } from '../streams/reruns.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { VERSION } from './context.ts';

export interface Stage {
  handlers: TaskHandlerDef[];
  schedules: ScheduleSpec[];
}

const maintenance = (): Stage => ({
  handlers: [
    defineHandler(Kind.enginePrune, {
      async run(ctx) {
        const n = await pruneTasks(ctx.db, 14);
        ctx.log.info({ deleted: n }, 'pruned finished tasks older than 14 days');
        const w = await pruneWorkers(ctx.db, 7);
        ctx.log.info({ deleted: w }, 'pruned workers stopped or found dead more than 7 days ago');
      },
    }),
    defineHandler(Kind.copyCountsFold, {
      async run(ctx) {
        const n = await foldCopyCounts(ctx.db);
        if (n === undefined) ctx.log.info('copy counts: another fold is running; this round skipped');
        else if (n > 0) ctx.log.info({ folded: n }, 'copy counts: delta rows folded');
      },
    }),
  ],
  schedules: [
    scheduleOf(Kind.enginePrune, { name: Kind.enginePrune, cron: '17 3 * * *' }),
    scheduleOf(Kind.copyCountsFold, { name: Kind.copyCountsFold, intervalMs: FOLD_EVERY_MS }),
  ],
});

export interface StageOptions {
  /** Folder relative plugin paths start from (the config file's). */
  baseDir: string;
  executor(): Promise<Executor>;
  /** Aborted once the worker has stopped (timers the handlers keep are cleared). */
  stopped?: AbortSignal;
}

export function collect(config: Config, vars: Variables, opts: StageOptions): Stage {
  const { report, settledAtBackup } = createFlow(config);
  const deps = { config, vars, report, settledAtBackup };
  const processDeps = { config, vars, baseDir: opts.baseDir, executor: opts.executor, stopped: opts.stopped };
  const stages: Stage[] = [
    maintenance(),
    { handlers: [scanHandler(deps)], schedules: scanSchedules(config) },
    {
      handlers: [backupHandler(deps), batchHandler(deps), s3CopyHandler(deps), s3UpkeepHandler(deps)],
      schedules: s3UpkeepSchedules(config),
    },
    {
      handlers: [fsCopyHandler(deps), fsUpkeepHandler(deps)],
      schedules: fsUpkeepSchedules(config),
    },
    { handlers: [fixityHandler(deps)], schedules: fixitySchedules(config) },
    { handlers: [moveHandler(deps), removerHandler(deps)], schedules: removerSchedules(config) },
    {
      handlers: [
        submitHandler(processDeps),
        pollHandler(processDeps),
        cancelHandler(processDeps),
        processingRerunHandler({ config }),
      ],
      schedules: processSchedules(config),
    },
    { handlers: [alertsHandler(deps)], schedules: alertsSchedules(config) },
    { handlers: [dbBackupHandler({ config, version: VERSION })], schedules: dbBackupSchedules(config) },
    { handlers: [computeHandler({ streams: config.streams, baseDir: opts.baseDir })], schedules: [] },
    reactions(config, opts.baseDir),
    {
      handlers: [archivePackHandler(deps), archivePassHandler(deps)],
      schedules: archivePassSchedules(config),
    },
    { handlers: [retrieveHandler(deps), retrievalSweepHandler(deps)], schedules: retrievalSweepSchedules() },
    { handlers: [archiveFixityHandler(deps)], schedules: archiveFixitySchedules(config) },
    { handlers: [retentionHandler(deps)], schedules: retentionSchedules(config) },
    { handlers: [catalogIndexHandler()], schedules: catalogIndexSchedules() },
  ];
  return { handlers: stages.flatMap((s) => s.handlers), schedules: stages.flatMap((s) => s.schedules) };
}

/** Scheduled reactions and unit re-runs (src/streams/reaction-task.ts, reruns.ts). */
function reactions(config: Config, baseDir: string): Stage {
  const notifiers = alertsConfigOf(config).notifiers;
  const reacting = reactionHandler({
    reactions: config.reactions,
    baseDir,
    notify: (notices) => sendReactionNotices(notifiers, notices),
  });
  return {
    handlers: [reacting, rerunHandler({ streams: config.streams, baseDir })],
    schedules: reactionSchedules(config.reactions),
  };
}

/** Families of schedules the config defines: those no longer in the config are removed at start. */
export const SCHEDULE_PREFIXES = [
  'scan:',
  'remove:',
  DB_BACKUP_SCHEDULE_PREFIX,
  S3_UPKEEP_PREFIX,
  FS_UPKEEP_PREFIX,
  REACTION_SCHEDULE_PREFIX,
];
