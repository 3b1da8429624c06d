/**
 * `process.poll` (periodic, every `processing.poll_seconds`): ONE batched state query per executor
 * for every active job; final states are recorded with exit code, elapsed time and log tail, the
 * outcome classified (success / known error / unknown error), metrics extracted, and the file
 * moves on once all its jobs are final. A job the scheduler no longer knows is re-checked
 * `processing.lost_after_checks` times, then marked LOST (and submitted again once under
 * `lost_job_policy: resubmit`). Each job that ends frees its cluster slot and, in the same
 * transaction, wakes the oldest `process.submit` waiting for one (engine/waiting.ts), so a slot is
 * used at once rather than at the waiting submit's next look. The decisions are in outcome.ts.
 */
import type { Db } from '../core/db/db.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { wakeWaiting } from '../engine/waiting.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import { getFile } from '../files/repo.ts';
import { enqueueTask, Kind } from '../tasks/catalogue.ts';
import type { Executor, JobStatus, LogTail } from './executors/types.ts';
import { extractMetrics, writeFinalManifest } from './job-output.ts';
import { createJob, type JobRow, WAITING_FOR_SLOT } from './jobs.ts';
import { classifyJob, type PollStep, pollStep, resubmitLost } from './outcome.ts';
import { clusterPath } from './paths.ts';
import { settleFile } from './settle.ts';
import type { ProcessDeps } from './tasks.ts';

const ACTOR = 'process';

/** What a poll round did: how many jobs changed, and how many are still active after it. */
export interface PollRound {
  changed: number;
  active: number;
}

/**
 * One poll round: one state query for every active job, then the changes recorded — the ends
 * first (what the round is waited for), then the jobs lost, then new states and unknown answers,
 * each of those two kinds in one statement.
 */
export async function pollJobs(db: Db, deps: ProcessDeps, log: Logger): Promise<PollRound> {
  const { config } = deps;
  const active = await db.query<JobRow>(
    `select * from jobs where state in ('PENDING', 'RUNNING') and job_id is not null order by id`,
  );
  if (active.length === 0) return { changed: 0, active: 0 };
  const executor = await deps.executor();
  const states = await executor.states(
    active.map((j) => ({ jobId: j.job_id!, workDir: clusterPath(config, j.output_dir) })),
  );
  const steps = active.map((job) => {
    const st = states.get(job.job_id!) ?? { jobId: job.job_id!, state: 'UNKNOWN' as const };
    return { job, st, step: pollStep(job, st.state, config.processing.lost_after_checks) };
  });
  const of = (step: PollStep) => steps.filter((s) => s.step === step);
  await recordFinals(db, deps, executor, of('final'), log);
  for (const { job } of of('lost')) await recordLost(db, deps, job);
  const progress = of('progress');
  if (progress.length > 0) {
    // only rows still active: another poller may have recorded an end meanwhile
    await db.exec(
      `update jobs set state = x.state, unknown_checks = 0, elapsed_s = x.elapsed, updated_at = now()
       from unnest($1::bigint[], $2::text[], $3::float8[]) as x(id, state, elapsed)
       where jobs.id = x.id and jobs.state in ('PENDING', 'RUNNING')`,
      [
        progress.map((p) => p.job.id),
        progress.map((p) => p.st.state),
        progress.map((p) => p.st.elapsedSeconds ?? null),
      ],
    );
  }
  const recheck = of('recheck');
  if (recheck.length > 0) {
    await db.exec(
      `update jobs set unknown_checks = x.checks, updated_at = now()
       from unnest($1::bigint[], $2::int[]) as x(id, checks) where jobs.id = x.id`,
      [recheck.map((r) => r.job.id), recheck.map((r) => r.job.unknown_checks + 1)],
    );
  }
  return {
    changed: steps.filter((s) => s.step !== 'recheck' && s.step !== 'unchanged').length,
    active: steps.filter((s) => s.step !== 'lost' && s.step !== 'final').length,
  };
}

/** A job the scheduler no longer knows and that left no exit record: LOST, resubmitted or settled. */
async function recordLost(db: Db, deps: ProcessDeps, job: JobRow): Promise<void> {
  const { config } = deps;
  const checks = job.unknown_checks + 1;
  await db.tx(async (tx) => {
    const reason = `job ${job.job_id} vanished: the scheduler no longer knows it and it left no exit record (checked ${checks} times)`;
    await tx.exec(
      `update jobs set state = 'LOST', outcome = 'unknown_error', reason = $2, finished_at = now(), updated_at = now() where id = $1`,
      [job.id, reason],
    );
    if (resubmitLost(config.processing.lost_job_policy, job.attempt)) {
      const file = await getFile(tx, job.file_id);
      await addToTimeline(
        tx,
        job.file_id,
        ACTOR,
        `${reason}; submitting again (lost_job_policy resubmit); the lost job's output folder is moved aside, not reused`,
      );
      // the folder is Sluice's own, of the lost attempt: kept renamed, never "already exists"
      await createJob(
        tx,
        config,
        file!,
        { name: job.settings_name, version: job.settings_version, params: job.params },
        job.attempt + 1,
        { outputExists: 'overwrite' },
      );
    } else {
      await addToTimeline(tx, job.file_id, ACTOR, reason);
      await settleFile(tx, job.file_id, config);
    }
    await wakeWaiting(tx, Kind.processSubmit, 1, WAITING_FOR_SLOT); // its cluster slot is free
  });
}

/** How many finished jobs a poll round records at the same time (each in its own transaction). */
const FINAL_LANES = 4;

/**
 * The jobs a round found final: their log tails read with one command for all (executor.logTails),
 * then each recorded in its own transaction, `FINAL_LANES` at a time; one file's jobs one after the
 * other, so the transaction of its last job sees the others final and settles the file.
 */
async function recordFinals(
  db: Db,
  deps: ProcessDeps,
  executor: Executor,
  finals: { job: JobRow; st: JobStatus }[],
  log: Logger,
): Promise<void> {
  if (finals.length === 0) return;
  const dirs = finals.map((f) => clusterPath(deps.config, f.job.output_dir));
  const tails: LogTail[] = await executor
    .logTails(dirs, 40)
    .catch((err) => dirs.map(() => ({ problem: errorMessage(err) })));
  const byFile = new Map<string, { job: JobRow; st: JobStatus; tail: string }[]>();
  for (const [i, { job, st }] of finals.entries()) {
    const t = tails[i] ?? { problem: 'not read' };
    const tail = 'text' in t ? t.text : `(log not readable: ${t.problem})`;
    byFile.set(job.file_id, [...(byFile.get(job.file_id) ?? []), { job, st, tail }]);
  }
  await inLanes([...byFile.values()], FINAL_LANES, (f) => recordFinal(db, deps, f.job, f.st, f.tail, log));
}

/**
 * Runs `work` for every item, the groups `limit` at a time, each group's items one after the
 * other. Waits for all; then throws the first error, if any.
 */
async function inLanes<T>(groups: T[][], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let g = next++; g < groups.length; g = next++) for (const item of groups[g]!) await work(item);
  };
  const done = await Promise.allSettled(Array.from({ length: Math.min(limit, groups.length) }, lane));
  const failed = done.find((d) => d.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A job in a final state: classified, metrics read on success, the manifest and timeline written. */
async function recordFinal(
  db: Db,
  deps: ProcessDeps,
  job: JobRow,
  st: JobStatus,
  tail: string,
  log: Logger,
): Promise<void> {
  const { config } = deps;
  const file = await getFile(db, job.file_id);
  await db.tx(async (tx) => {
    let { outcome, reason } = classifyJob(config.processing.settings[job.settings_name], job, st, tail);
    if (outcome === 'success' && file) {
      const problem = await extractMetrics(deps, tx, job, file, log);
      if (problem) {
        outcome = 'known_error';
        reason = problem;
      }
    }
    const n = await tx.exec(
      `update jobs set state = $2, exit_code = $3, elapsed_s = $4, log_tail = $5, outcome = $6, reason = $7, finished_at = now(), updated_at = now()
       where id = $1 and state in ('PENDING', 'RUNNING')`,
      [job.id, st.state, st.exitCode ?? null, st.elapsedSeconds ?? null, tail, outcome, reason],
    );
    if (n === 0) return; // another poller recorded it
    const manifestProblem = await writeFinalManifest(tx, config, job, st, outcome, reason, log);
    await addToTimeline(
      tx,
      job.file_id,
      ACTOR,
      `${job.settings_name} v${job.settings_version} job ${job.job_id}: ${st.state} — ${reason}${manifestProblem ?? ''}`,
      { exitCode: st.exitCode ?? null },
    );
    await settleFile(tx, job.file_id, config);
    await wakeWaiting(tx, Kind.processSubmit, 1, WAITING_FOR_SLOT); // its slot is free: a waiting submit takes it now
  });
}

/**
 * A job's process exited (local executor): a poll now records its end and frees its slot, rather
 * than at the next period. Only a hint: when it cannot be asked for (the database is away, this
 * process is stopping), the periodic poll still sees the job. At most one such poll per subject is
 * queued or running (the kind's de-duplication), so many jobs ending together ask for one. When the
 * `job-exited` poll cannot be added, it is queued (and will see this job) or already running — and
 * may have asked for the states before this job ended: then a `job-exited-again` poll is queued.
 */
export async function pollSoon(db: Db, log: Logger): Promise<void> {
  try {
    if ((await enqueueTask(db, Kind.processPoll, 'job-exited', {})) === undefined)
      await enqueueTask(db, Kind.processPoll, 'job-exited-again', {});
  } catch (err) {
    log.debug(
      { err: errorMessage(err) },
      'could not ask for a poll after the job exited; the periodic poll sees it',
    );
  }
}
