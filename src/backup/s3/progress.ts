/**
 * Each extra backup target's catch-up progress, the same figures for `sluice status`, `GET
 * /api/status` and the dashboard: files with a verified copy there of those backed up, the target
 * pool's queued and running copies, copies waiting for the target to become usable again (a filesystem
 * target unmounted or without its marker: not attempts, see fs-target/copy-task.ts), and copies still
 * retried after `alerts.rules.s3_failing_attempts` failed attempts (what the `s3_target_failing` alert
 * counts).
 */
import type { Config } from '../../core/config/index.ts';
import { targetPool } from '../../core/config/schema/backup-targets.ts';
import type { Queryable } from '../../core/db/db.ts';
import { listPools } from '../../engine/pools.ts';
import { retryingTasks, waitingTasks } from '../../engine/status.ts';
import { copiesPerTarget } from '../../files/copies.ts';
import { Kind } from '../../tasks/catalogue.ts';

export interface TargetProgress {
  target: string;
  pool: string;
  /** Files with a verified copy on the filesystem backup (what each target catches up to). */
  files: number;
  /** Of those, files with a verified copy on this target. */
  copied: number;
  queued: number;
  running: number;
  /** Copies put back to wait because the target was unusable at their last try (unmounted, no marker). */
  waiting: number;
  /** When the oldest of those was enqueued; null when none waits. */
  waiting_since: Date | null;
  /** Copies queued or running with at least `alerts.rules.s3_failing_attempts` failed attempts. */
  failing: number;
  last_error: string | null;
}

export async function targetProgress(q: Queryable, config: Config): Promise<TargetProgress[]> {
  const targets = config.backup.targets;
  if (targets.length === 0) return [];
  const [copies, pools, retrying, waiting] = await Promise.all([
    copiesPerTarget(
      q,
      targets.map((t) => t.name),
    ),
    listPools(q),
    retryingTasks(q, [Kind.backupS3, Kind.backupFsCopy], config.alerts.rules.s3_failing_attempts),
    waitingTasks(q, [Kind.backupFsCopy], 1),
  ]);
  return copies.map((c) => {
    const pool = targetPool(targets.find((t) => t.name === c.target)!);
    const use = pools.find((p) => p.name === pool);
    const failing = retrying.filter((r) => r.target === c.target);
    const waits = waiting.find((w) => w.target === c.target);
    return {
      target: c.target,
      pool,
      files: c.files,
      copied: c.copied,
      queued: use?.queued ?? 0,
      running: use?.running ?? 0,
      waiting: waits?.tasks ?? 0,
      waiting_since: waits?.since ?? null,
      failing: failing.reduce((n, r) => n + r.tasks, 0),
      last_error: failing[0]?.last_error ?? null,
    };
  });
}
