/**
 * The job lifecycle's task handlers on the engine, and what they share (`ProcessDeps`):
 *
 * `process.submit` (pool `cluster`, one per job): submit.ts — finds a job already submitted by its
 * key, reserves a cluster slot, prepares the output folder, renders the script and submits; a
 * permanent failure marks the job SKIPPED and settles the file.
 *
 * `process.poll` (periodic, every `processing.poll_seconds`): poll.ts — one batched state query per
 * executor, final states recorded and classified, the file settled once all its jobs are final.
 * While jobs are active the scheduled poll re-arms itself one period after each round started.
 *
 * `process.cancel`: asks the executor to cancel a job an operator cancelled.
 *
 * The decisions are pure in outcome.ts; settling a file is settle.ts.
 */
import type { Config } from '../core/config/index.ts';
import { errorMessage, SluiceError } from '../core/errors.ts';
import type { Variables } from '../core/variables.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { wakeTask, wakeWaiting } from '../engine/waiting.ts';
import { noteTakeover } from '../files/takeover.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import type { Executor } from './executors/types.ts';
import { getJob, WAITING_FOR_SLOT } from './jobs.ts';
import { repollDelayMs } from './outcome.ts';
import { pollJobs } from './poll.ts';
import { settleFile } from './settle.ts';
import { submitJob } from './submit.ts';
import { wakeTimers } from './wake-timers.ts';

export interface ProcessDeps {
  config: Config;
  vars: Variables;
  executor(): Promise<Executor>;
  /** Directory that relative metric plugin paths start from (the config file's folder). */
  baseDir: string;
  /** Aborted once the worker has stopped: the poll's wake timers are cleared (wake-timers.ts). */
  stopped?: AbortSignal;
}

export function processSchedules(config: Config): ScheduleSpec[] {
  return [
    scheduleOf(Kind.processPoll, {
      name: Kind.processPoll,
      intervalMs: Math.round(config.processing.poll_seconds * 1000),
    }),
  ];
}

export function submitHandler(deps: ProcessDeps): TaskHandlerDef {
  return defineHandler(Kind.processSubmit, {
    async onTakenOver(tx, task, cut) {
      const job = await getJob(tx, task.subject!);
      if (job) await noteTakeover(tx, job.file_id, task, cut);
    },
    async run(ctx) {
      await submitJob(ctx, deps);
    },
    async onFailed(tx, task, err) {
      const job = await getJob(tx, task.subject!);
      if (!job) return;
      const reason = `${errorMessage(err)}${err instanceof SluiceError && err.hint ? ` — ${err.hint}` : ''}`;
      await tx.exec(
        `update jobs set state = 'SKIPPED', outcome = 'unknown_error', reason = $2, finished_at = now(), updated_at = now() where id = $1`,
        [job.id, reason],
      );
      await settleFile(tx, job.file_id, deps.config);
      await wakeWaiting(tx, Kind.processSubmit, 1, WAITING_FOR_SLOT); // a slot it had reserved is free
    },
  });
}

/**
 * The poll: one round; then, while jobs are active, the scheduled poll task puts itself back to run
 * one period after this round started (`repollDelayMs`), and a timer here wakes it then, so an idle
 * worker — any, of any process — claims it on time. The task row says when it is due: if this
 * process dies, another worker runs it at its next look; its schedule's de-duplication keeps the
 * schedule from adding a second poll meanwhile. With no active job the schedule takes over again.
 */
export function pollHandler(deps: ProcessDeps): TaskHandlerDef {
  const timers = wakeTimers(deps.stopped);
  return defineHandler(Kind.processPoll, {
    async run(ctx) {
      const started = Date.now();
      const round = await pollJobs(ctx.db, deps, ctx.log);
      const delay = repollDelayMs({
        scheduled: ctx.payload.scheduledFor !== undefined,
        active: round.active,
        periodMs: deps.config.processing.poll_seconds * 1000,
        elapsedMs: Date.now() - started,
      });
      ctx.log.debug(
        { changed: round.changed, active: round.active, tookMs: Date.now() - started, nextInMs: delay },
        'poll round',
      );
      if (delay === undefined) return;
      await ctx.again(delay);
      const { db, log, task } = ctx;
      timers.later(delay, () => {
        wakeTask(db, task.id).catch((err) =>
          log.debug({ err: errorMessage(err) }, 'could not wake the next poll; a worker finds it due'),
        );
      });
    },
  });
}

export function cancelHandler(deps: ProcessDeps): TaskHandlerDef {
  return defineHandler(Kind.processCancel, {
    async run(ctx) {
      const job = await getJob(ctx.db, ctx.task.subject!);
      if (!job?.job_id || !['PENDING', 'RUNNING'].includes(job.state)) return;
      await (await deps.executor()).cancel(job.job_id);
    },
  });
}
