/**
 * The job lifecycle's decisions, pure (no database, no files, no executor): what an existing output
 * folder means for the job about to be submitted, what a polled state means for a job row, how a
 * final job is classified, and what the file becomes once all its jobs are final. The shells that
 * read and write are submit.ts, poll.ts and settle.ts.
 */
import type { Config } from '../core/config/index.ts';
import { FINAL_STATES, type JobState, type JobStatus } from './executors/types.ts';
import {
  describeManifest,
  type JobIdentity,
  type JobManifest,
  manifestMismatch,
  type ReadManifest,
} from './job-manifest.ts';
import { ACTIVE_STATES, type JobRow } from './jobs.ts';

type Settings = Config['processing']['settings'][string];

/**
 * What the job manifest found in the output folder means for this job: `associate` (this very job
 * already produced it, successfully), else why it is not this job's (`notThisJob`, undefined when
 * there is nothing against it) and whether the folder was only prepared for this job, which never
 * started (`preparedOnly`: a submitted manifest and no key file written by a started job).
 */
export type ExistingOutput =
  | { associate: JobManifest }
  | { notThisJob: string | undefined; preparedOnly: boolean };

export function judgeExistingOutput(
  read: ReadManifest,
  identity: JobIdentity,
  keyFileExists: boolean,
): ExistingOutput {
  if (read && 'invalid' in read) return { notThisJob: read.invalid, preparedOnly: false };
  if (!read) return { notThisJob: undefined, preparedOnly: false };
  const m = read.manifest;
  const mismatch = manifestMismatch(m, identity);
  if (mismatch) return { notThisJob: `its job manifest is not this job's: ${mismatch}`, preparedOnly: false };
  if (m.status === 'success') return { associate: m };
  if (m.status === 'failed') {
    return {
      notThisJob: `its job manifest records a failed run of this job (${describeManifest(m)}${m.reason ? `: ${m.reason}` : ''})`,
      preparedOnly: false,
    };
  }
  return { notThisJob: undefined, preparedOnly: !keyFileExists };
}

/**
 * What one poll answer means for an active job row: `recheck` (the scheduler does not know it; not
 * yet `lost_after_checks` times), `lost` (it vanished), `progress` (a new non-final state, or known
 * again after unknown answers), `unchanged`, or `final` (record its outcome).
 */
export type PollStep = 'recheck' | 'lost' | 'progress' | 'unchanged' | 'final';

export function pollStep(
  job: Pick<JobRow, 'state' | 'unknown_checks'>,
  state: JobState,
  lostAfterChecks: number,
): PollStep {
  if (state === 'UNKNOWN') return job.unknown_checks + 1 < lostAfterChecks ? 'recheck' : 'lost';
  if (FINAL_STATES.has(state)) return 'final';
  return state !== job.state || job.unknown_checks > 0 ? 'progress' : 'unchanged';
}

/** A lost job is submitted again once under `lost_job_policy: resubmit`; otherwise it stays lost. */
export function resubmitLost(policy: Config['processing']['lost_job_policy'], attempt: number): boolean {
  return policy === 'resubmit' && attempt < 2;
}

/** Classifies a final job: outcome + the reason the file's timeline shows. */
export function classifyJob(
  settings: Settings | undefined,
  job: Pick<JobRow, 'cancel_requested_by' | 'file_id'>,
  st: JobStatus,
  logTail: string,
): { outcome: JobRow['outcome']; reason: string } {
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

/**
 * What a file becomes from the latest attempt of each of its jobs: nothing yet (`undefined`: none,
 * or one still active), `done` when all succeeded, else `processing_failed` (known errors only) or
 * `error` (an unknown error among them), with the reasons.
 */
export type Settlement =
  | { to: 'done'; reason: string }
  | { to: 'processing_failed' | 'error'; reason: string }
  | undefined;

export function settlement(
  jobs: Pick<JobRow, 'state' | 'outcome' | 'settings_name' | 'reason'>[],
): Settlement {
  if (jobs.length === 0 || jobs.some((j) => ACTIVE_STATES.includes(j.state))) return undefined;
  const failed = jobs.filter((j) => j.outcome !== 'success');
  if (failed.length === 0)
    return { to: 'done', reason: `${jobs.map((j) => j.settings_name).join(', ')} completed` };
  const reason = failed.map((j) => `${j.settings_name}: ${j.reason}`).join('; ');
  const unknown = failed.some((j) => j.outcome === 'unknown_error');
  return { to: unknown ? 'error' : 'processing_failed', reason };
}

/**
 * When the scheduled poll looks again by itself: while jobs are active, one poll period after this
 * round started — not after it ended, nor at a worker's next look for due schedules — so the rounds
 * keep the configured pace. Undefined (the schedule brings the next one) when no job is active, or
 * for a poll that was not the scheduled one (a `pollSoon` hint runs once).
 */
export function repollDelayMs(r: {
  scheduled: boolean;
  active: number;
  periodMs: number;
  elapsedMs: number;
}): number | undefined {
  if (!r.scheduled || r.active === 0) return undefined;
  return Math.max(0, Math.round(r.periodMs - r.elapsedMs));
}
