/**
 * Backup strategies (`database.backups` in the config) on Sluice's engine: each enabled strategy is a
 * cron schedule `db.backup:<name>` that enqueues task `db.backup` (pool `default`, the strategy's
 * tags); any worker runs it, once per period, and a run still going is never doubled. A run writes
 * one backup, then applies the strategy's retention (./retention.ts).
 *
 * Every run leaves a trace in the event log (subject `db_backup`/<strategy>: `succeeded` with the
 * file, size and rows, or `failed` with the reason), which `sluice db backups` and the Prometheus
 * metrics read. A failed run is logged with the strategy's name and retried by the engine (3
 * attempts); one that failed for good raises the `backup_failure` alert.
 */
import type { Config } from '../../core/config/index.ts';
import type { DbBackupStrategy } from '../../core/config/schema/db-backups.ts';
import type { Db, Queryable } from '../../core/db/db.ts';
import { errorMessage, UsageError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { recordEvent } from '../../engine/events.ts';
import type { ScheduleSpec } from '../../engine/schedules.ts';
import type { TaskHandlerDef } from '../../engine/types.ts';
import { defineHandler, Kind, scheduleOf } from '../../tasks/catalogue.ts';
import { type DumpSummary, writeDump } from './dump.ts';
import { backupFileName, type Progress } from './format.ts';
import { type BackupEntry, type BackupLocation, openLocation } from './locations.ts';
import { expiredBackups } from './retention.ts';

export const DB_BACKUP_SCHEDULE_PREFIX = 'db.backup:';
export const DB_BACKUP_SUBJECT = 'db_backup';

export interface BackupRun {
  strategy: string | undefined;
  ref: string;
  summary: DumpSummary;
  deleted: BackupEntry[];
  /** Retention could not delete everything it wanted to (the backup itself succeeded). */
  retentionError?: string;
}

export interface RunOptions {
  version: string;
  log: Logger;
  actor: string;
  now?: Date;
  onProgress?: ((p: Progress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export function findStrategy(config: Config, name: string): DbBackupStrategy {
  const s = config.database.backups.find((b) => b.name === name);
  if (!s) {
    const known = config.database.backups.map((b) => b.name);
    throw new UsageError(
      `--strategy ${name}: no such backup strategy (${known.length ? `configured: ${known.join(', ')}` : 'none is configured under database.backups'})`,
      'strategies are declared under database.backups in the config; see docs/backups.md',
    );
  }
  return s;
}

/** Deletes what retention says; errors are reported, not thrown (the backup itself is done). */
async function applyRetention(
  location: BackupLocation,
  strategy: DbBackupStrategy,
  keep: string,
  now: Date,
): Promise<{ deleted: BackupEntry[]; error?: string }> {
  const deleted: BackupEntry[] = [];
  try {
    const expired = expiredBackups(await location.list(strategy.name), strategy.retention, keep, now);
    for (const e of expired) {
      await location.remove(e);
      deleted.push(e);
    }
    return { deleted };
  } catch (err) {
    return { deleted, error: errorMessage(err) };
  }
}

async function recordRun(
  q: Queryable,
  strategy: string,
  actor: string,
  run: BackupRun | Error,
): Promise<void> {
  await recordEvent(q, {
    subjectType: DB_BACKUP_SUBJECT,
    subjectId: strategy,
    actor,
    to: run instanceof Error ? 'failed' : 'succeeded',
    reason: run instanceof Error ? run.message : null,
    data:
      run instanceof Error
        ? null
        : {
            ref: run.ref,
            bytes: run.summary.fileBytes,
            rows: run.summary.rows,
            deleted: run.deleted.map((d) => d.name),
            ...(run.retentionError ? { retention_error: run.retentionError } : {}),
          },
  });
}

/** Runs one backup of `strategy` and its retention; records the outcome in the event log. */
export async function runStrategy(db: Db, strategy: DbBackupStrategy, opts: RunOptions): Promise<BackupRun> {
  const now = opts.now ?? new Date();
  const location = openLocation(strategy);
  const log = opts.log.child({ strategy: strategy.name });
  const name = backupFileName(strategy.name, now);
  try {
    const { result: summary, ref } = await location.write(name, (out) =>
      writeDump(db, out, {
        version: opts.version,
        strategy: strategy.name,
        onProgress: opts.onProgress,
        signal: opts.signal,
      }),
    );
    const retention = await applyRetention(location, strategy, name, now);
    const run: BackupRun = {
      strategy: strategy.name,
      ref,
      summary,
      deleted: retention.deleted,
      ...(retention.error ? { retentionError: retention.error } : {}),
    };
    if (retention.error) {
      log.warn(
        { err: retention.error, location: location.describe },
        'database backup written, but retention failed',
      );
    }
    log.info(
      { ref, bytes: summary.fileBytes, rows: summary.rows, deleted: run.deleted.map((d) => d.name) },
      'database backup written',
    );
    await recordRun(db, strategy.name, opts.actor, run);
    return run;
  } catch (err) {
    log.error({ err: errorMessage(err), location: location.describe }, 'database backup failed');
    await recordRun(db, strategy.name, opts.actor, err instanceof Error ? err : new Error(String(err))).catch(
      () => undefined,
    );
    throw err;
  }
}

export interface DbBackupDeps {
  config: Config;
  version: string;
}

export function dbBackupHandler(deps: DbBackupDeps): TaskHandlerDef {
  return defineHandler(Kind.dbBackup, {
    async run(ctx) {
      const name = ctx.payload.strategy ?? '';
      const strategy = deps.config.database.backups.find((b) => b.name === name);
      if (!strategy) {
        // removed from the config since it was enqueued
        ctx.log.warn({ strategy: name }, 'backup strategy no longer configured; skipped');
        await ctx.complete();
        return;
      }
      await runStrategy(ctx.db, strategy, {
        version: deps.version,
        log: ctx.log,
        actor: 'engine',
        signal: ctx.signal,
      });
      await ctx.complete();
    },
  });
}

export function dbBackupSchedules(config: Config): ScheduleSpec[] {
  return config.database.backups.map((b) =>
    scheduleOf(Kind.dbBackup, {
      name: `${DB_BACKUP_SCHEDULE_PREFIX}${b.name}`,
      payload: { strategy: b.name },
      tags: b.tags,
      cron: b.cron,
      enabled: b.enabled,
    }),
  );
}

/** The last outcome of each strategy, from the event log. */
export async function lastRuns(
  q: Queryable,
): Promise<{ strategy: string; state: string; at: Date; reason: string | null }[]> {
  return q.query(
    `select distinct on (subject_id) subject_id as strategy, to_state as state, at, reason
     from events where subject_type = $1 order by subject_id, id desc`,
    [DB_BACKUP_SUBJECT],
  );
}
