/**
 * The job lifecycle on the engine.
 *
 * `process.submit` (pool `cluster`, one per job): looks the job up by its key first — a job
 * submitted just before a crash is found and recorded, never submitted twice — then reserves a
 * cluster slot (at most `pools.cluster` jobs submitted and not finished, across all machines; 0
 * drains), applies `output_exists_mode` to an output folder that is not this job's own (one an
 * earlier attempt of this submit task made is used again: output-folder.ts), renders the script and
 * submits. Crash points (SLUICE_CRASH_AT): process.submit.output_partial, .after_mkdir (the folder),
 * .after_spawn (the job started, not yet recorded: the next attempt finds and adopts it).
 *
 * `process.poll` (periodic, every `processing.poll_seconds`): ONE batched state query per executor
 * for every active job; final states are recorded with exit code, elapsed time and log tail, the
 * outcome classified (success / known error / unknown error), metrics extracted, and the file
 * moves on once all its jobs are final.
 *
 * `process.cancel`: asks the executor to cancel a job an operator cancelled.
 */
import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config/index.ts';
import { crashPoint } from '../core/crash.ts';
import type { Db, Queryable, Tx } from '../core/db/db.ts';
import { errorMessage, PermanentError, SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Variables } from '../core/variables.ts';
import { poolSize } from '../engine/pools.ts';
import type { ScheduleSpec } from '../engine/schedules.ts';
import type { TaskHandlerDef } from '../engine/types.ts';
import { note, transition } from '../files/lifecycle.ts';
import { type FileRow, getFile, verifiedCopy } from '../files/repo.ts';
import { noteTakeover } from '../files/takeover.ts';
import { loadExtractor } from '../metrics/registry.ts';
import { recordMetrics } from '../metrics/store.ts';
import { backupLocation } from '../storage/raw-data.ts';
import { defineHandler, Kind, scheduleOf } from '../tasks/catalogue.ts';
import { type Executor, FINAL_STATES, type JobStatus } from './executors/types.ts';
import { FILES } from './executors/wrapper.ts';
import {
  describeManifest,
  JOB_MANIFEST,
  type JobIdentity,
  type JobManifest,
  manifestMismatch,
  manifestText,
  newManifest,
  readJobManifest,
  writeJobManifest,
} from './job-manifest.ts';
import { ACTIVE_STATES, createJob, getJob, type JobRow } from './jobs.ts';
import {
  createOwnedFolder,
  describeOwner,
  newOwner,
  outputAction,
  readOwner,
  reuseOwnedFolder,
} from './output-folder.ts';
import { clusterPath } from './paths.ts';
import { templateText } from './settings.ts';
import { renderScript } from './template.ts';

const ACTOR = 'process';
const SETTINGS_FILE = 'sluice-settings.json';

export interface ProcessDeps {
  config: Config;
  vars: Variables;
  executor(): Promise<Executor>;
  /** Directory that relative metric plugin paths start from (the config file's folder). */
  baseDir: string;
}

export function processSchedules(config: Config): ScheduleSpec[] {
  return [
    scheduleOf(Kind.processPoll, {
      name: Kind.processPoll,
      intervalMs: Math.round(config.processing.poll_seconds * 1000),
    }),
  ];
}

/**
 * The raw data as the job sees it: the verified backup (a file, a folder, or a set's main file), at
 * the location recorded when it was verified.
 */
async function rawPathFor(q: Queryable, config: Config, file: FileRow): Promise<string> {
  const loc = (await verifiedCopy(q, file.id))?.location ?? backupLocation(config, file);
  return clusterPath(config, file.kind === 'files' ? path.join(loc, file.name) : loc);
}

async function nextFreeDir(dir: string): Promise<string> {
  for (let i = 2; ; i++) {
    const d = `${dir}_${i}`;
    if (!existsSync(d)) return d;
  }
}

export function submitHandler(deps: ProcessDeps): TaskHandlerDef {
  return defineHandler(Kind.processSubmit, {
    async onTakenOver(tx, task, cut) {
      const job = await getJob(tx, task.subject!);
      if (job) await noteTakeover(tx, job.file_id, task, cut);
    },
    async run(ctx) {
      const { config } = deps;
      const job = await getJob(ctx.db, ctx.task.subject!);
      if (!job || !['new', 'submitting'].includes(job.state)) return;
      const file = await getFile(ctx.db, job.file_id);
      if (!file) return;
      const settings = config.processing.settings[job.settings_name];
      if (!settings || settings.version !== job.settings_version) {
        throw new PermanentError(
          'process.settings_gone',
          `settings ${job.settings_name} v${job.settings_version} are no longer in the config`,
          'restore them, or ignore the file',
        );
      }
      const executor = await deps.executor();
      const log = ctx.log.child({ fileId: file.id, job: job.key });
      const identity = await jobIdentity(ctx.db, job);

      // 0. an output this very job already produced — written by another instance (a fallback
      //    while this one was down) or before a database restore — is associated, not run again.
      //    Only a manifest naming this job's key, file and settings hash with status success counts.
      const read = await readJobManifest(job.output_dir);
      let notThisJob: string | undefined; // why the existing output is not accepted as this job's
      let preparedOnly = false; // the folder was prepared for this job, which never started
      if (read && 'invalid' in read) notThisJob = read.invalid;
      else if (read) {
        const m = read.manifest;
        const mismatch = manifestMismatch(m, identity);
        if (mismatch) notThisJob = `its job manifest is not this job's: ${mismatch}`;
        else if (m.status === 'success') {
          await associateOutput(ctx, deps, executor, job, file, m, log);
          return;
        } else if (m.status === 'failed') {
          notThisJob = `its job manifest records a failed run of this job (${describeManifest(m)}${m.reason ? `: ${m.reason}` : ''})`;
        } else preparedOnly = !existsSync(path.join(job.output_dir, FILES.key));
      }

      // 1. a job submitted before a crash is found by its key, not submitted again. Only a job that
      //    got as far as its reservation ('submitting') or its folder can have been submitted.
      const mayExist = !notThisJob && (job.state === 'submitting' || existsSync(job.output_dir));
      const found = mayExist
        ? await executor.findByKey(job.key, clusterPath(config, job.output_dir))
        : undefined;
      if (found) {
        log.warn(
          { jobId: found.jobId },
          'found an existing job for this key; recording it instead of submitting again',
        );
        await ctx.complete((tx) =>
          recordSubmitted(
            tx,
            job,
            found.jobId,
            found.state === 'UNKNOWN' ? 'PENDING' : found.state,
            'found the job already submitted (before a restart); not submitted again',
          ),
        );
        return;
      }

      // 2. a cluster slot, across all processes and machines
      const reserved = await ctx.db.tx(async (tx) => {
        await tx.exec(`select pg_advisory_xact_lock(378830, hashtext('cluster-slots'))`);
        const size = await poolSize(tx, 'cluster');
        const limit = { size: size === undefined ? 30 : size };
        const active = await tx.one<{ n: string }>(
          `select count(*) as n from jobs where state in ('submitting', 'PENDING', 'RUNNING') and id <> $1`,
          [job.id],
        );
        if (Number(active.n) >= (limit.size ?? 30)) return false;
        await tx.exec(
          `update jobs set state = 'submitting', updated_at = now() where id = $1 and state in ('new', 'submitting')`,
          [job.id],
        );
        return true;
      });
      if (!reserved) {
        await ctx.again(Math.max(1000, config.processing.poll_seconds * 1000));
        return;
      }

      // 3. the output folder: this job's own (created by an earlier attempt: owner record) is used
      //    again without asking; any other follows output_exists_mode
      let outDir = job.output_dir;
      let outputNote: string | undefined;
      const owner = await readOwner(outDir);
      const action = outputAction({
        exists: existsSync(outDir),
        preparedOnly,
        owner,
        notThisJob: notThisJob !== undefined,
        jobKey: job.key,
        fileId: file.id,
        taskId: ctx.task.id,
      });
      if (action === 'exists') {
        // a retry's --output-exists, else the variable
        const given = ctx.payload.outputExists;
        const mode = given ?? (await deps.vars.get('output_exists_mode'));
        const how = given ? `--output-exists ${given} on retry` : `output_exists_mode ${mode}`;
        switch (mode) {
          case 'raise':
            throw new PermanentError(
              'process.output_exists',
              `the output folder ${outDir} already exists${notThisJob ? ` and was not associated: ${notThisJob}` : ''}`,
              'look at it; then retry the file with `sluice files retry ID --output-exists overwrite` (old folder kept renamed), `add` (new folder) or `associate` (attach the job found in it), or set the variable output_exists_mode to one of these for all files',
            );
          case 'overwrite': {
            const aside = `${outDir}.overwritten-${new Date().toISOString().replaceAll(':', '-')}`;
            await rename(outDir, aside);
            outputNote = `the existing output folder was moved aside to ${aside} (${how})`;
            break;
          }
          case 'associate': {
            const id = (await readFile(path.join(outDir, FILES.id), 'utf8').catch(() => '')).trim();
            if (!id) {
              throw new PermanentError(
                'process.associate_no_job',
                `output_exists_mode is associate, but ${path.join(outDir, FILES.id)} names no job`,
                'use overwrite or add instead',
              );
            }
            const st = (await executor.states([{ jobId: id, workDir: clusterPath(config, outDir) }])).get(id);
            await ctx.complete((tx) =>
              recordSubmitted(
                tx,
                job,
                id,
                st && st.state !== 'UNKNOWN' ? st.state : 'PENDING',
                `associated with job ${id} found in the existing output folder (${how})${notThisJob ? `, although ${notThisJob}` : ''}`,
              ),
            );
            return;
          }
          case 'add':
            outDir = await nextFreeDir(outDir);
            outputNote = `the output folder existed; writing to ${outDir} instead (${how})`;
            break;
        }
      }
      const params = { ...job.params };
      const folderFiles = [
        {
          name: SETTINGS_FILE,
          text: `${JSON.stringify({ name: job.settings_name, version: job.settings_version, software: settings.software, software_version: settings.software_version, params }, null, 2)}\n`,
        },
        {
          name: JOB_MANIFEST,
          text: manifestText(
            newManifest(identity, config.instance.mode, {
              status: 'submitted',
              submitted_at: new Date().toISOString(),
              metrics: metricsInfo(config, job.settings_name),
            }),
          ),
        },
      ];
      const me = newOwner({
        fileId: file.id,
        jobKey: job.key,
        taskId: ctx.task.id,
        token: ctx.task.token,
        attempt: ctx.task.attempts,
      });
      let reused: string | undefined;
      if (action === 'reuse' && existsSync(outDir)) {
        await reuseOwnedFolder(outDir, me, folderFiles);
        reused = `${job.settings_name} v${job.settings_version}: the output folder ${outDir} was ${owner ? describeOwner(owner) : 'prepared for this job'}; no job had started in it: used again`;
        log.info({ outputDir: outDir }, reused);
      } else await createOwnedFolder(outDir, me, folderFiles);
      // the last point before a job starts: a stale attempt (its lease taken over) stops here
      await ctx.db.tx(async (tx) => {
        await ctx.remember({ launching: outDir }, tx);
        if (reused) await note(tx, job.file_id, ACTOR, reused, { job: job.key });
      });

      // 4. render and submit
      const vars = {
        raw_path: await rawPathFor(ctx.db, config, file),
        raw_name: file.name,
        file_id: file.id,
        project: file.project_id,
        instrument: file.instrument_id,
        output_dir: clusterPath(config, outDir),
        settings_path: clusterPath(config, path.join(outDir, SETTINGS_FILE)),
        settings_name: job.settings_name,
        settings_version: job.settings_version,
        software: settings.software,
        software_version: settings.software_version,
        threads: settings.resources.cpus,
      };
      const script = renderScript(
        await templateText(settings),
        vars,
        config.processing.environment,
        `processing.settings.${job.settings_name}.template`,
      );
      const { jobId } = await executor.submit({
        key: job.key,
        script,
        workDir: clusterPath(config, outDir),
        cpus: settings.resources.cpus,
        memoryMb: settings.resources.memory_mb,
        timeLimitMinutes: settings.resources.time_minutes,
        partition: settings.resources.partition ?? config.processing.slurm.partition,
      });
      crashPoint('process.submit.after_spawn');
      log.info({ jobId }, 'submitted');
      await ctx.complete(async (tx) => {
        if (outDir !== job.output_dir)
          await tx.exec('update jobs set output_dir = $2 where id = $1', [job.id, outDir]);
        await recordSubmitted(
          tx,
          job,
          jobId,
          'PENDING',
          outputNote ? `submitted as ${jobId}; ${outputNote}` : `submitted as ${jobId} (${executor.kind})`,
        );
      });
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
    },
  });
}

async function recordSubmitted(
  tx: Tx,
  job: JobRow,
  jobId: string,
  state: string,
  reason: string,
): Promise<void> {
  await tx.exec(
    `update jobs set job_id = $2, state = $3, submitted_at = coalesce(submitted_at, now()), updated_at = now() where id = $1`,
    [job.id, jobId, state],
  );
  await note(tx, job.file_id, ACTOR, `${job.settings_name} v${job.settings_version}: ${reason}`, {
    job: job.key,
    jobId,
  });
  if (FINAL_STATES.has(state as never)) {
    // found already finished: the next poll reads its outcome
    await tx.exec(`update jobs set state = 'RUNNING' where id = $1`, [job.id]);
  }
}

/** The job's identity for manifests: key, file, settings name, version and recorded content hash. */
async function jobIdentity(q: Queryable, job: JobRow): Promise<JobIdentity> {
  const row = await q.maybeOne<{ content_hash: string }>(
    'select content_hash from processing_settings where name = $1 and version = $2',
    [job.settings_name, job.settings_version],
  );
  return {
    key: job.key,
    file_id: job.file_id,
    settings: { name: job.settings_name, version: job.settings_version, hash: row?.content_hash ?? '' },
  };
}

/** The extractor of a settings entry and the file it reads, for the manifest. */
function metricsInfo(config: Config, settingsName: string): JobManifest['metrics'] {
  const spec = config.processing.settings[settingsName]?.metrics;
  if (!spec) return null;
  const file = spec.options?.file;
  return {
    type: spec.type,
    file: typeof file === 'string' ? file : spec.type === 'alphadia' ? 'stat.tsv' : null,
  };
}

/**
 * Records a job from a finished output whose manifest is this job's (key, file, settings hash) and
 * says success: COMPLETED, `associated`, metrics read from the output; nothing is submitted.
 */
async function associateOutput(
  ctx: Parameters<TaskHandlerDef['run']>[0],
  deps: ProcessDeps,
  executor: Executor,
  job: JobRow,
  file: FileRow,
  m: JobManifest,
  log: Logger,
): Promise<void> {
  const tail = await executor
    .logTail(clusterPath(deps.config, job.output_dir), 40)
    .catch((err) => `(log not readable: ${errorMessage(err)})`);
  await ctx.complete(async (tx) => {
    let outcome: JobRow['outcome'] = 'success';
    let reason = `associated the existing output of ${describeManifest(m)}`;
    const problem = await extractMetrics(deps, tx, job, file, log);
    if (problem) {
      outcome = 'known_error';
      reason = problem;
    }
    await tx.exec(
      `update jobs set job_id = $2, state = 'COMPLETED', associated = true, exit_code = $3, elapsed_s = $4, log_tail = $5,
         outcome = $6, reason = $7, submitted_at = coalesce($8::timestamptz, now()), finished_at = coalesce($9::timestamptz, now()), updated_at = now()
       where id = $1`,
      [job.id, m.job_id, m.exit_code, m.elapsed_s, tail, outcome, reason, m.submitted_at, m.finished_at],
    );
    await note(
      tx,
      job.file_id,
      ACTOR,
      `${job.settings_name} v${job.settings_version}: associated the existing output in ${job.output_dir} (${describeManifest(m)}); its manifest matches job ${job.key} and the settings hash, so it was not submitted again${problem ? `; but ${problem}` : ''}`,
      { job: job.key, jobId: m.job_id, associated: true },
    );
    await settleFile(tx, job.file_id, deps.config);
  });
  log.info({ jobId: m.job_id, outputDir: job.output_dir }, 'associated an existing output; not submitted');
}

/** The final manifest of a job just recorded; a failure to write it is reported, not fatal. */
async function writeFinalManifest(
  q: Queryable,
  config: Config,
  job: JobRow,
  st: JobStatus,
  outcome: JobRow['outcome'],
  reason: string,
  log: Logger,
): Promise<string | undefined> {
  try {
    await writeJobManifest(
      job.output_dir,
      newManifest(await jobIdentity(q, job), config.instance.mode, {
        status: outcome === 'success' ? 'success' : 'failed',
        job_id: job.job_id,
        state: st.state,
        exit_code: st.exitCode ?? null,
        elapsed_s: st.elapsedSeconds ?? null,
        reason,
        metrics: metricsInfo(config, job.settings_name),
        submitted_at: job.submitted_at?.toISOString() ?? null,
        finished_at: new Date().toISOString(),
      }),
    );
    return undefined;
  } catch (err) {
    log.warn({ job: job.key, err: errorMessage(err) }, 'cannot write the job manifest');
    return ` (the job manifest in ${job.output_dir} could not be written: ${errorMessage(err)}; another instance will not recognise this output)`;
  }
}

/** Classifies a final job and returns outcome + reason. */
async function classify(
  deps: ProcessDeps,
  job: JobRow,
  st: JobStatus,
  logTail: string,
): Promise<{ outcome: JobRow['outcome']; reason: string }> {
  const settings = deps.config.processing.settings[job.settings_name];
  const minutes = settings?.resources.time_minutes;
  switch (st.state) {
    case 'COMPLETED':
      return { outcome: 'success', reason: `completed in ${st.elapsedSeconds ?? '?'} s` };
    case 'TIMEOUT':
      return {
        outcome: 'known_error',
        reason: `the job exceeded its time limit${minutes ? ` of ${minutes} min` : ''}; raise resources.time_minutes`,
      };
    case 'OUT_OF_MEMORY':
      return {
        outcome: 'known_error',
        reason: `the job ran out of memory${settings ? ` (${settings.resources.memory_mb} MB)` : ''}; raise resources.memory_mb`,
      };
    case 'CANCELLED':
      return {
        outcome: 'known_error',
        reason: job.cancel_requested_by
          ? `cancelled by ${job.cancel_requested_by}`
          : 'cancelled on the cluster',
      };
    case 'NODE_FAIL':
      return {
        outcome: 'unknown_error',
        reason: 'the cluster node failed while running the job; retry the file',
      };
    default: {
      for (const k of settings?.known_errors ?? []) {
        if (new RegExp(k.pattern, 'm').test(logTail)) return { outcome: 'known_error', reason: k.reason };
      }
      return {
        outcome: 'unknown_error',
        reason: `the job failed with exit code ${st.exitCode ?? '?'}${st.reason ? ` (${st.reason})` : ''} and no known error pattern matched its log; see \`sluice files show ${job.file_id}\``,
      };
    }
  }
}

async function extractMetrics(
  deps: ProcessDeps,
  tx: Tx,
  job: JobRow,
  file: FileRow,
  log: Logger,
): Promise<string | undefined> {
  const spec = deps.config.processing.settings[job.settings_name]?.metrics;
  if (!spec) return undefined;
  try {
    const extractor = await loadExtractor({ type: spec.type, module: spec.module }, deps.baseDir);
    const values = await extractor.extract(
      { outputDir: job.output_dir, rawFileName: file.name, log },
      spec.options,
    );
    await recordMetrics(
      tx,
      {
        fileId: file.id,
        settingsName: job.settings_name,
        settingsVersion: job.settings_version,
        jobRowId: job.id,
      },
      values,
    );
    return undefined;
  } catch (err) {
    return `the job completed but its metrics could not be read: ${errorMessage(err)}`;
  }
}

/** Once every job of a file is final: processed → done, or processing_failed / error. */
export async function settleFile(tx: Tx, fileId: string, _config: Config): Promise<void> {
  const jobs = await tx.query<JobRow>(
    `select distinct on (settings_name, settings_version) * from jobs where file_id = $1 order by settings_name, settings_version, attempt desc`,
    [fileId],
  );
  if (jobs.length === 0 || jobs.some((j) => ACTIVE_STATES.includes(j.state))) return;
  const failed = jobs.filter((j) => j.outcome !== 'success');
  if (failed.length === 0) {
    await transition(tx, fileId, 'processed', {
      actor: ACTOR,
      from: ['processing'],
      reason: `${jobs.map((j) => j.settings_name).join(', ')} completed`,
    });
    await transition(tx, fileId, 'done', {
      actor: ACTOR,
      from: ['processed'],
      reason: 'processed; metrics recorded',
    });
    return;
  }
  const reasons = failed.map((j) => `${j.settings_name}: ${j.reason}`).join('; ');
  const unknown = failed.some((j) => j.outcome === 'unknown_error');
  await transition(tx, fileId, unknown ? 'error' : 'processing_failed', {
    actor: ACTOR,
    from: ['processing'],
    reason: reasons,
  });
}

export function pollHandler(deps: ProcessDeps): TaskHandlerDef {
  return defineHandler(Kind.processPoll, {
    async run(ctx) {
      await pollJobs(ctx.db, deps, ctx.log);
    },
  });
}

/** One poll round; returns how many jobs changed. */
export async function pollJobs(db: Db, deps: ProcessDeps, log: Logger): Promise<number> {
  const { config } = deps;
  const active = await db.query<JobRow>(
    `select * from jobs where state in ('PENDING', 'RUNNING') and job_id is not null order by id`,
  );
  if (active.length === 0) return 0;
  const executor = await deps.executor();
  const states = await executor.states(
    active.map((j) => ({ jobId: j.job_id!, workDir: clusterPath(config, j.output_dir) })),
  );
  let changed = 0;
  for (const job of active) {
    const st = states.get(job.job_id!) ?? { jobId: job.job_id!, state: 'UNKNOWN' as const };
    if (st.state === 'UNKNOWN') {
      const checks = job.unknown_checks + 1;
      if (checks < config.processing.lost_after_checks) {
        await db.exec('update jobs set unknown_checks = $2, updated_at = now() where id = $1', [
          job.id,
          checks,
        ]);
        continue;
      }
      changed++;
      await db.tx(async (tx) => {
        const policy = config.processing.lost_job_policy;
        const reason = `job ${job.job_id} vanished: the scheduler no longer knows it and it left no exit record (checked ${checks} times)`;
        await tx.exec(
          `update jobs set state = 'LOST', outcome = 'unknown_error', reason = $2, finished_at = now(), updated_at = now() where id = $1`,
          [job.id, reason],
        );
        if (policy === 'resubmit' && job.attempt < 2) {
          const file = await getFile(tx, job.file_id);
          await note(
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
          await note(tx, job.file_id, ACTOR, reason);
          await settleFile(tx, job.file_id, config);
        }
      });
      continue;
    }
    if (!FINAL_STATES.has(st.state)) {
      if (st.state !== job.state || job.unknown_checks > 0) {
        changed++;
        await db.exec(
          'update jobs set state = $2, unknown_checks = 0, elapsed_s = $3, updated_at = now() where id = $1',
          [job.id, st.state, st.elapsedSeconds ?? null],
        );
      }
      continue;
    }
    changed++;
    const tail = await executor
      .logTail(clusterPath(config, job.output_dir), 40)
      .catch((err) => `(log not readable: ${errorMessage(err)})`);
    const file = await getFile(db, job.file_id);
    await db.tx(async (tx) => {
      let { outcome, reason } = await classify(deps, job, st, tail);
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
      await note(
        tx,
        job.file_id,
        ACTOR,
        `${job.settings_name} v${job.settings_version} job ${job.job_id}: ${st.state} — ${reason}${manifestProblem ?? ''}`,
        { exitCode: st.exitCode ?? null },
      );
      await settleFile(tx, job.file_id, config);
    });
  }
  return changed;
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
