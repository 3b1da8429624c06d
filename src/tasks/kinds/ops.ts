/**
 * Task kinds of one stage: Operations (alerts, database backups, engine upkeep) and streams. Their names and specs (payload, pool, attempts,
 * de-duplication); src/tasks/catalogue.ts joins every stage's into `Kind` and `TASKS`. A new kind of
 * this stage goes here (a name and a spec), then a handler in src/runtime/handlers.ts.
 */

import { z } from 'zod';
import { type KindSpec, scheduled } from './spec.ts';

export const OpsKind = {
  opsAlerts: 'ops.alerts',
  dbBackup: 'db.backup',
  enginePrune: 'engine.prune',
  copyCountsFold: 'files.copy_counts_fold',
  streamsCompute: 'streams.compute',
  streamsReaction: 'streams.reaction',
  streamsRerun: 'streams.rerun',
} as const;
const K = OpsKind;

export const OPS_TASKS = {
  /** One alerts pass (ops/alerts/run.ts). */
  [K.opsAlerts]: { payload: z.object(scheduled), pool: 'default' },
  /** One run of a database backup strategy (ops/db-backup/strategy.ts). */
  [K.dbBackup]: {
    payload: z.object({ strategy: z.string().optional(), ...scheduled }),
    pool: 'default',
  },
  /** Deletes finished tasks and long-stopped workers (runtime/handlers.ts). */
  [K.enginePrune]: { payload: z.object(scheduled), pool: 'default' },
  /**
   * Folds the copy counts' delta rows when nobody reads them (files/copy-counts.ts `foldCopyCounts`;
   * runtime/handlers.ts). Pool `default`, not `copy`: one short statement that must run while the
   * copy pools are busy, which is when the deltas pile up.
   */
  [K.copyCountsFold]: { payload: z.object(scheduled), pool: 'default' },
  /**
   * A compute unit on one stream item that failed when the item was stored, retried with backoff
   * (subject: `ITEM/UNIT`; streams/compute-task.ts).
   */
  [K.streamsCompute]: {
    payload: z.object({ item: z.string(), unit: z.string() }),
    pool: 'default',
    maxAttempts: 8,
    dedupe: (itemUnit) => `compute:${itemUnit}`,
  },
  /** One run of a scheduled reaction (streams/reaction-task.ts); one schedule per reaction. */
  [K.streamsReaction]: {
    payload: z.object({ reaction: z.string(), ...scheduled }),
    pool: 'default',
    maxAttempts: 5,
  },
  /** A compute unit's re-run over past items, a batch per step (subject: the re-run id; streams/reruns.ts). */
  [K.streamsRerun]: {
    payload: z.object({}),
    pool: 'default',
    maxAttempts: 8,
    dedupe: (rerun) => `rerun:${rerun}`,
  },
} as const satisfies Record<(typeof K)[keyof typeof K], KindSpec>;
