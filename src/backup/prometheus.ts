/**
 * Prometheus gauges of the extra backup targets (`backup.targets`, filesystem and S3), registered by
 * src/ops/prometheus.ts: per target, files with a verified copy there, files backed up that have none
 * there yet (what catch-up still has to copy), copies waiting for an unusable target (unmounted, marker
 * missing) and copies failing for `alerts.rules.s3_failing_attempts` attempts — the figures of `sluice
 * status` and the dashboard's Backup targets panel (s3/progress.ts), read once per scrape.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../core/config/index.ts';
import type { Queryable } from '../core/db/db.ts';
import { type TargetProgress, targetProgress } from './s3/progress.ts';

/** The gauges' samples from the progress rows (pure): name → [target, value] pairs. */
export function targetSamples(rows: readonly TargetProgress[]): Record<string, [string, number][]> {
  return {
    sluice_backup_target_copies_verified: rows.map((r) => [r.target, r.copied]),
    sluice_backup_target_copies_missing: rows.map((r) => [r.target, Math.max(0, r.files - r.copied)]),
    sluice_backup_target_copies_waiting: rows.map((r) => [r.target, r.waiting]),
    sluice_backup_target_copies_failing: rows.map((r) => [r.target, r.failing]),
  };
}

const HELP: Record<string, string> = {
  sluice_backup_target_copies_verified: 'Files with a verified copy on this backup target',
  sluice_backup_target_copies_missing: 'Files backed up that have no verified copy on this target yet',
  sluice_backup_target_copies_waiting:
    'Copies waiting for this target to be usable (unmounted, marker missing)',
  sluice_backup_target_copies_failing: 'Copies to this target retried after many failed attempts',
};

export function registerBackupTargetMetrics(registry: Registry, db: Queryable, config: Config): void {
  if (config.backup.targets.length === 0) return;
  let pending: Promise<Record<string, [string, number][]> | undefined> | undefined;
  // the four gauges of one scrape share one read; the database down leaves them empty
  const read = () => {
    pending ??= targetProgress(db, config)
      .then(targetSamples)
      .catch(() => undefined)
      .finally(() => setTimeout(() => (pending = undefined), 1000).unref());
    return pending;
  };
  for (const name of Object.keys(HELP)) {
    new Gauge({
      name,
      help: HELP[name]!,
      labelNames: ['target'],
      registers: [registry],
      async collect() {
        const s = await read();
        this.reset();
        for (const [target, v] of s?.[name] ?? []) this.set({ target }, v);
      },
    });
  }
}
