/**
 * The narrow interface the job lifecycle uses to run processing jobs, on SLURM (local CLI or SSH)
 * or as local child processes.
 *
 * Every job records its own end in its work directory (see `wrapper.ts`):
 *   job.log             stdout + stderr of the job
 *   .sluice-job.key     the JobSpec key (written when the job starts)
 *   .sluice-job.id      the job id (written when the job starts)
 *   .sluice-job.exit    {"jobId","exitCode","signal","startTime","endTime"} (written atomically at the end)
 * so that the outcome is known even when the scheduler has forgotten the job (no accounting).
 */
export type JobState =
  | 'PENDING'
  | 'RUNNING'
  | 'COMPLETED'
  | 'FAILED'
  | 'TIMEOUT'
  | 'OUT_OF_MEMORY'
  | 'CANCELLED'
  | 'NODE_FAIL'
  | 'UNKNOWN';

/** States after which a job will not change any more. UNKNOWN is not among them. */
export const FINAL_STATES: ReadonlySet<JobState> = new Set([
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'CANCELLED',
  'NODE_FAIL',
]);

export interface JobSpec {
  /** Unique per file+settings+attempt, [A-Za-z0-9._-]{1,120}; the SLURM job name AND comment. */
  key: string;
  /** The full batch script body; it may start with a shebang and `#SBATCH` lines. */
  script: string;
  /** Output directory as the cluster sees it (absolute); created if missing. */
  workDir: string;
  cpus?: number;
  memoryMb?: number;
  timeLimitMinutes?: number;
  partition?: string;
  /**
   * Called when the job's process exits, where this process can see it (the local executor, for
   * the jobs it started; SLURM never calls it). A hint to look soon, never the job's outcome.
   */
  onExit?: () => void;
}

export interface JobStatus {
  jobId: string;
  state: JobState;
  exitCode?: number;
  reason?: string;
  elapsedSeconds?: number;
}

/** A job's log tail: its text ('' when there is no log), or why it could not be read. */
export type LogTail = { text: string } | { problem: string };

export interface Executor {
  readonly kind: 'slurm' | 'local';
  submit(spec: JobSpec): Promise<{ jobId: string }>;
  /** Existing job with this key (queued, running, or finished and still known), or undefined. */
  findByKey(key: string, workDir: string): Promise<JobStatus | undefined>;
  /** States of many jobs with ONE query to the scheduler (plus reading exit files for jobs it no longer knows). */
  states(jobs: { jobId: string; workDir: string }[]): Promise<Map<string, JobStatus>>;
  cancel(jobId: string): Promise<void>;
  /** Last `lines` lines of the job's log (from workDir). */
  logTail(workDir: string, lines?: number): Promise<string>;
  /** The same for many jobs at once (a poll round's finished jobs), in order; one command at most. */
  logTails(workDirs: string[], lines?: number): Promise<LogTail[]>;
  /** Count of scheduler queries made (for the benchmark: states() must make exactly 1 per call). */
  readonly queryCount: number;
  close(): Promise<void>;
}
