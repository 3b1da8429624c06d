/**
 * `process.submit` (pool `cluster`, one per job), step by step: looks the job up by its key first —
 * a job submitted just before a crash is found and recorded, never submitted twice — then reserves
 * a cluster slot (at most `pools.cluster` jobs submitted and not finished, across all machines; 0
 * drains), applies `output_exists_mode` to an output folder that is not this job's own (one an
 * earlier attempt of this submit task made is used again: output-folder.ts), renders the script and
 * submits. An output this very job already produced (its manifest says so) is associated instead.
 * Crash points (SLUICE_CRASH_AT): process.submit.output_partial, .after_mkdir (the folder),
 * .after_spawn (the job started, not yet recorded: the next attempt finds and adopts it).
 * The decisions are pure (outcome.ts `judgeExistingOutput`, output-folder.ts `outputAction`).
 */
import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config/index.ts';
import { crashPoint } from '../core/crash.ts';
import type { Queryable, Tx } from '../core/db/db.ts';
import { PermanentError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { backupLocation } from '../storage/raw-data.ts';
import type { Kind, KindContext } from '../tasks/catalogue.ts';

/** The context of a `process.submit` attempt (its payload typed). */
export type SubmitContext = KindContext<typeof Kind.processSubmit>;

import { addToTimeline } from '../files/lifecycle.ts';
import { refuseReleasedBackup } from '../files/releases.ts';
import { type FileRow, getFile, verifiedCopy } from '../files/repo.ts';
import { type Executor, FINAL_STATES } from './executors/types.ts';
import { FILES } from './executors/wrapper.ts';
import {
  JOB_MANIFEST,
  type JobIdentity,
  manifestText,
  newManifest,
  readJobManifest,
} from './job-manifest.ts';
import { associateOutput, jobIdentity, metricsInfo } from './job-output.ts';
import { getJob, type JobRow, WAITING_FOR_SLOT } from './jobs.ts';
import { judgeExistingOutput } from './outcome.ts';
import {
  createOwnedFolder,
  describeOwner,
  newOwner,
  outputAction,
  readOwner,
  reuseOwnedFolder,
} from './output-folder.ts';
import { clusterPath } from './paths.ts';
import { pollSoon } from './poll.ts';
import { templateText } from './settings.ts';
import { reserveSlot, slotWaitMs } from './slots.ts';
import type { ProcessDeps } from './tasks.ts';
import { renderScript } from './template.ts';

const ACTOR = 'process';
const SETTINGS_FILE = 'sluice-settings.json';

type Settings = Config['processing']['settings'][string];

/** Why an existing output folder is not accepted as this job's, and whether it was only prepared. */
interface NotAssociated {
  notThisJob: string | undefined;
  preparedOnly: boolean;
}

/** The `process.submit` task's run: the steps 0–4 below, each its own function. */
export async function submitJob(ctx: SubmitContext, deps: ProcessDeps): Promise<void> {
  const { config } = deps;
  const t0 = performance.now();
  const ms: Record<string, number> = {}; // when each step ended, for the 'submitted' log line
  const mark = (step: string) => {
    ms[step] = Math.round(performance.now() - t0);
    return ms;
  };
  const job = await getJob(ctx.db, ctx.task.subject!);
  if (!job || !['new', 'submitting'].includes(job.state)) return;
  const [file, identity] = await Promise.all([getFile(ctx.db, job.file_id), jobIdentity(ctx.db, job)]);
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

  // 0. an output this very job already produced — written by another instance (a fallback
  //    while this one was down) or before a database restore — is associated, not run again.
  //    Only a manifest naming this job's key, file and settings hash with status success counts.
  const existing = judgeExistingOutput(
    await readJobManifest(job.output_dir),
    identity,
    existsSync(path.join(job.output_dir, FILES.key)),
  );
  if ('associate' in existing) {
    await associateOutput(ctx, deps, executor, job, file, existing.associate, log);
    return;
  }

  mark('read');
  // 1. a job submitted before a crash is found by its key, not submitted again.
  if (await adoptSubmitted(ctx, config, executor, job, existing, log)) return;

  // 2. a cluster slot, across all processes and machines; without one, wait to be woken (marked
  //    as waiting for a slot, so a freed slot wakes this task and not one in a retry's backoff)
  if (!(await reserveSlot(ctx, job))) {
    await ctx.again(slotWaitMs(config.processing.poll_seconds), undefined, {
      ...ctx.payload,
      waitingFor: WAITING_FOR_SLOT,
    });
    return;
  }

  mark('slot');
  // 3. the output folder
  const out = await prepareOutput(ctx, deps, executor, job, file, identity, settings, existing, log);
  if (!out) return; // associated with the job found in it

  mark('folder');
  // 4. render and submit
  await submit(ctx, deps, executor, job, file, settings, out, log, mark);
}

/**
 * Step 1: only a job that got as far as its reservation ('submitting') or its folder can have been
 * submitted; one found by its key is recorded (true), not submitted again.
 */
async function adoptSubmitted(
  ctx: SubmitContext,
  config: Config,
  executor: Executor,
  job: JobRow,
  existing: NotAssociated,
  log: Logger,
): Promise<boolean> {
  const mayExist = !existing.notThisJob && (job.state === 'submitting' || existsSync(job.output_dir));
  const found = mayExist ? await executor.findByKey(job.key, clusterPath(config, job.output_dir)) : undefined;
  if (!found) return false;
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
  return true;
}

/** The output folder the job writes to, and what the timeline says about how it was chosen. */
interface Output {
  outDir: string;
  outputNote: string | undefined;
}

/**
 * Step 3: the output folder. This job's own (created by an earlier attempt: owner record) is used
 * again without asking; any other follows output_exists_mode. Undefined: the job found in an
 * existing folder was associated (`associate`), nothing is submitted.
 */
async function prepareOutput(
  ctx: SubmitContext,
  deps: ProcessDeps,
  executor: Executor,
  job: JobRow,
  file: FileRow,
  identity: JobIdentity,
  settings: Settings,
  existing: NotAssociated,
  log: Logger,
): Promise<Output | undefined> {
  const { config } = deps;
  const { notThisJob, preparedOnly } = existing;
  let out: Output = { outDir: job.output_dir, outputNote: undefined };
  const owner = await readOwner(out.outDir);
  const action = outputAction({
    exists: existsSync(out.outDir),
    preparedOnly,
    owner,
    notThisJob: notThisJob !== undefined,
    jobKey: job.key,
    fileId: file.id,
    taskId: ctx.task.id,
  });
  if (action === 'exists') {
    const chosen = await applyOutputExists(ctx, deps, executor, job, notThisJob);
    if (!chosen) return undefined;
    out = chosen;
  }
  const { outDir } = out;
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
    if (reused) await addToTimeline(tx, job.file_id, ACTOR, reused, { job: job.key });
  });
  return out;
}

/**
 * An output folder that exists and is not this job's: a retry's --output-exists, else the variable
 * `output_exists_mode`, decides. Undefined when the job found in it was associated.
 */
async function applyOutputExists(
  ctx: SubmitContext,
  deps: ProcessDeps,
  executor: Executor,
  job: JobRow,
  notThisJob: string | undefined,
): Promise<Output | undefined> {
  const outDir = job.output_dir;
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
      return { outDir, outputNote: `the existing output folder was moved aside to ${aside} (${how})` };
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
      const st = (await executor.states([{ jobId: id, workDir: clusterPath(deps.config, outDir) }])).get(id);
      await ctx.complete((tx) =>
        recordSubmitted(
          tx,
          job,
          id,
          st && st.state !== 'UNKNOWN' ? st.state : 'PENDING',
          `associated with job ${id} found in the existing output folder (${how})${notThisJob ? `, although ${notThisJob}` : ''}`,
        ),
      );
      return undefined;
    }
    case 'add': {
      const next = await nextFreeDir(outDir);
      return { outDir: next, outputNote: `the output folder existed; writing to ${next} instead (${how})` };
    }
  }
}

/** Step 4: render the settings' template and submit; the job row records the job id. */
async function submit(
  ctx: SubmitContext,
  deps: ProcessDeps,
  executor: Executor,
  job: JobRow,
  file: FileRow,
  settings: Settings,
  { outDir, outputNote }: Output,
  log: Logger,
  /** Notes when a step ended; returns every step's time so far (ms since the attempt began). */
  mark: (step: string) => Record<string, number>,
): Promise<void> {
  const { config } = deps;
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
  mark('rendered');
  const { jobId } = await executor.submit({
    key: job.key,
    script,
    workDir: clusterPath(config, outDir),
    cpus: settings.resources.cpus,
    memoryMb: settings.resources.memory_mb,
    timeLimitMinutes: settings.resources.time_minutes,
    partition: settings.resources.partition ?? config.processing.slurm.partition,
    onExit: () => void pollSoon(ctx.db, log),
  });
  crashPoint('process.submit.after_spawn');
  mark('sbatch');
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
  log.info({ jobId, ms: mark('recorded') }, 'submitted');
}

/**
 * The raw data as the job sees it: the verified backup (a file, a folder, or a set's main file), at
 * the location recorded when it was verified.
 */
export async function rawPathFor(q: Queryable, config: Config, file: FileRow): Promise<string> {
  const copy = await verifiedCopy(q, file.id);
  if (!copy) await refuseReleasedBackup(q, file.id, 'processing');
  const loc = copy?.location ?? backupLocation(config, file);
  return clusterPath(config, file.kind === 'files' ? path.join(loc, file.name) : loc);
}

async function nextFreeDir(dir: string): Promise<string> {
  for (let i = 2; ; i++) {
    const d = `${dir}_${i}`;
    if (!existsSync(d)) return d;
  }
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
  await addToTimeline(tx, job.file_id, ACTOR, `${job.settings_name} v${job.settings_version}: ${reason}`, {
    job: job.key,
    jobId,
  });
  if (FINAL_STATES.has(state as never)) {
    // found already finished: the next poll reads its outcome
    await tx.exec(`update jobs set state = 'RUNNING' where id = $1`, [job.id]);
  }
}
