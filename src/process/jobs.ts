/**
 * Job rows and the plan that follows a verified backup: which settings apply, one job each.
 *
 * Job states: new → submitting → PENDING → RUNNING → COMPLETED | FAILED | TIMEOUT | OUT_OF_MEMORY
 * | CANCELLED | NODE_FAIL | LOST. A scheduler answer of UNKNOWN is never a final state: the job is
 * re-checked `processing.lost_after_checks` times, then marked LOST and handled by
 * `processing.lost_job_policy` — never counted as success.
 */
import type { Config } from '../core/config/index.ts';
import type { Queryable, Tx } from '../core/db/db.ts';
import type { OutputExistsMode } from '../core/variables.ts';
import { transition } from '../files/lifecycle.ts';
import type { FileRow } from '../files/repo.ts';
import { enqueueTask, Kind } from '../tasks/catalogue.ts';
import { jobKey, outputDirFor } from './paths.ts';
import { applicableSettings } from './settings.ts';

export interface JobRow {
  id: string;
  file_id: string;
  settings_name: string;
  settings_version: number;
  attempt: number;
  key: string;
  executor: string;
  job_id: string | null;
  state: string;
  output_dir: string;
  params: Record<string, unknown>;
  unknown_checks: number;
  exit_code: number | null;
  elapsed_s: number | null;
  log_tail: string | null;
  outcome: 'success' | 'known_error' | 'unknown_error' | null;
  reason: string | null;
  cancel_requested_by: string | null;
  /** Recorded from an existing output whose manifest is this job's; nothing was submitted. */
  associated: boolean;
  /** The content hash of its settings version (processing_settings), recorded when it was created. */
  settings_hash: string | null;
  /** The processing re-run that made it (`sluice jobs rerun`), if one did. */
  rerun_id: string | null;
  submitted_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
}

export const ACTIVE_STATES = ['new', 'submitting', 'PENDING', 'RUNNING'];

/**
 * The mark (`payload.waitingFor`) of a `process.submit` that waits for a free cluster slot: a job
 * that ends wakes only such a submit (engine/waiting.ts), never one waiting out a retry's backoff.
 */
export const WAITING_FOR_SLOT = 'cluster-slot';

/** How jobs are planned: `outputExists` overrides `output_exists_mode` for them (a retry's option). */
export interface PlanOptions {
  outputExists?: OutputExistsMode;
  /** The processing re-run creating the job (process/reruns.ts). */
  rerun?: string;
}

export async function createJob(
  tx: Queryable,
  config: Config,
  file: Pick<FileRow, 'id' | 'project_id'>,
  s: { name: string; version: number; params: Record<string, unknown> },
  attemptArg?: number,
  opts: PlanOptions = {},
): Promise<string> {
  const attempt =
    attemptArg ??
    Number(
      (
        await tx.one<{ n: number }>(
          'select coalesce(max(attempt), 0) + 1 as n from jobs where file_id = $1 and settings_name = $2 and settings_version = $3',
          [file.id, s.name, s.version],
        )
      ).n,
    );
  const row = await tx.one<{ id: string }>(
    `insert into jobs (file_id, settings_name, settings_version, attempt, key, executor, output_dir, params,
                       rerun_id, settings_hash)
     values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9,
             (select content_hash from processing_settings where name = $2 and version = $3)) returning id`,
    [
      file.id,
      s.name,
      s.version,
      attempt,
      jobKey(file.id, s.name, s.version, attempt),
      config.processing.executor,
      outputDirFor(config, file, s.name, s.version),
      JSON.stringify(s.params),
      opts.rerun ?? null,
    ],
  );
  await enqueueTask(
    tx,
    Kind.processSubmit,
    row.id,
    opts.outputExists ? { outputExists: opts.outputExists } : {},
  );
  return row.id;
}

/** The status reason of a file backed up that no processing settings apply to. */
export const NOT_PROCESSED_REASON = 'backed up and verified; no processing settings apply to this file';

/**
 * After a verified backup: one job per applicable settings and the file goes `processing`; with
 * none, `done_not_processed` with the reason. Returns the number of jobs created.
 */
export async function planProcessing(
  tx: Tx,
  config: Config,
  file: FileRow,
  actor: string,
  opts: PlanOptions = {},
): Promise<number> {
  const applied = applicableSettings(config, file);
  if (applied.length === 0) {
    await transition(tx, file.id, 'done_not_processed', {
      actor,
      from: ['backed_up'],
      reason: NOT_PROCESSED_REASON,
    });
    return 0;
  }
  if (
    !(await transition(tx, file.id, 'processing', {
      actor,
      from: ['backed_up'],
      reason: `processing with ${applied.map((a) => `${a.name} v${a.settings.version}`).join(', ')}`,
    }))
  ) {
    return 0;
  }
  for (const a of applied)
    await createJob(
      tx,
      config,
      file,
      { name: a.name, version: a.settings.version, params: a.params },
      undefined,
      opts,
    );
  return applied.length;
}

export async function jobsOf(q: Queryable, fileId: string): Promise<JobRow[]> {
  return q.query<JobRow>('select * from jobs where file_id = $1 order by id', [fileId]);
}

/** Jobs, newest first: only unfinished ones (`active`), only one file's (`file`). */
export async function listJobs(
  q: Queryable,
  f: { active: boolean; file: string | null; limit: number },
): Promise<JobRow[]> {
  return q.query<JobRow>(
    `select * from jobs where ($1::boolean is not true or state in ('new', 'submitting', 'PENDING', 'RUNNING'))
     and ($2::text is null or file_id = $2) order by id desc limit $3`,
    [f.active, f.file, f.limit],
  );
}

export async function getJob(q: Queryable, id: string): Promise<JobRow | undefined> {
  return q.maybeOne<JobRow>('select * from jobs where id = $1', [id]);
}

/** How many jobs are in each state (`n` as text). */
export async function countJobsByState(q: Queryable): Promise<{ state: string; n: string }[]> {
  return q.query<{ state: string; n: string }>('select state, count(*) as n from jobs group by state');
}
