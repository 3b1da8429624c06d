/**
 * What Sluice reads from and writes into a job's output folder once it is there: the job's identity
 * for its manifest, the metrics file named in the manifest, the final manifest, and the metrics
 * extracted from a successful output; and `associateOutput`, which records a job from the finished
 * output its manifest says is this job's. Shared by the submit step and the poll (a job finished).
 */
import type { Config } from '../core/config/index.ts';
import type { Queryable, Tx } from '../core/db/db.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { addToTimeline } from '../files/lifecycle.ts';
import type { FileRow } from '../files/repo.ts';
import { loadExtractor } from '../metrics/registry.ts';
import { recordMetrics } from '../metrics/store.ts';
import type { Executor, JobStatus } from './executors/types.ts';
import {
  describeManifest,
  type JobIdentity,
  type JobManifest,
  newManifest,
  writeJobManifest,
} from './job-manifest.ts';
import type { JobRow } from './jobs.ts';
import { clusterPath } from './paths.ts';
import { settleFile } from './settle.ts';
import type { SubmitContext } from './submit.ts';
import type { ProcessDeps } from './tasks.ts';

const ACTOR = 'process';

/** The job's identity for manifests: key, file, settings name, version and recorded content hash. */
export async function jobIdentity(q: Queryable, job: JobRow): Promise<JobIdentity> {
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
export function metricsInfo(config: Config, settingsName: string): JobManifest['metrics'] {
  const spec = config.processing.settings[settingsName]?.metrics;
  if (!spec) return null;
  const file = spec.options?.file;
  return {
    type: spec.type,
    file: typeof file === 'string' ? file : spec.type === 'alphadia' ? 'stat.tsv' : null,
  };
}

/** The final manifest of a job just recorded; a failure to write it is reported, not fatal. */
export async function writeFinalManifest(
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

/** Reads the metrics of a successful output into `metrics`; returns the problem when it cannot. */
export async function extractMetrics(
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

/**
 * Records a job from a finished output whose manifest is this job's (key, file, settings hash) and
 * says success: COMPLETED, `associated`, metrics read from the output; nothing is submitted.
 */
export async function associateOutput(
  ctx: SubmitContext,
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
    await addToTimeline(
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
