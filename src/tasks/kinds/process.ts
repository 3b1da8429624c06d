/**
 * Task kinds of one stage: Processing: job submission, polling, cancelling and re-runs. Their names and specs (payload, pool, attempts,
 * de-duplication); src/tasks/catalogue.ts joins every stage's into `Kind` and `TASKS`. A new kind of
 * this stage goes here (a name and a spec), then a handler in src/runtime/handlers.ts.
 */

import { z } from 'zod';
import { OUTPUT_EXISTS_MODES } from '../../core/variables.ts';
import { type KindSpec, scheduled } from './spec.ts';

export const ProcessKind = {
  processSubmit: 'process.submit',
  processPoll: 'process.poll',
  processCancel: 'process.cancel',
  processRerun: 'process.rerun',
} as const;
const K = ProcessKind;

export const PROCESS_TASKS = {
  /** Submits one processing job (subject: the job row id; process/tasks.ts). */
  [K.processSubmit]: {
    payload: z.object({
      outputExists: z.enum(OUTPUT_EXISTS_MODES).optional(),
      /** Remembered: the output folder a launch was started in. */
      launching: z.string().optional(),
      /** Set while it waits for a free cluster slot (not a retry's backoff): a freed slot wakes it. */
      waitingFor: z.enum(['cluster-slot']).nullable().optional(),
    }),
    pool: 'cluster',
    maxAttempts: 8,
    dedupe: (job) => `submit:${job}`,
  },
  /**
   * One poll round over the running jobs (process/tasks.ts); one schedule, plus one asked for when
   * a local job's process exits (process/submit.ts `pollSoon`; at most one queued or running).
   */
  [K.processPoll]: { payload: z.object(scheduled), pool: 'default', dedupe: (why) => `poll:${why}` },
  /** Cancels one submitted job on its executor (subject: the job row id). */
  [K.processCancel]: {
    payload: z.object({}),
    pool: 'default',
    dedupe: (job) => `cancel:${job}`,
  },
  /**
   * Processing settings run again over past files, a batch of jobs per step (subject: the re-run id;
   * process/reruns.ts). The jobs themselves go through `process.submit` in the cluster pool.
   */
  [K.processRerun]: {
    payload: z.object({}),
    pool: 'default',
    maxAttempts: 8,
    dedupe: (rerun) => `process-rerun:${rerun}`,
  },
} as const satisfies Record<(typeof K)[keyof typeof K], KindSpec>;
