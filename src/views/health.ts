/**
 * The health page (`GET /api/health/overview`, the dashboard's Health page): everything an operator
 * checks to know Sluice is well, on one page — workers and their Sluice versions, pools, queues with
 * the oldest waiting task, instruments, backup and archive targets, streams and the outbox, the
 * database's own backups, and the alerts that hold now. This module only reads, through each
 * table's owner; the judgements (level, problem, link) are pure, in ./health-rules.ts and
 * ./health-stores.ts.
 */
import { Cron } from 'croner';
import { archiveTotals, itemCounts, listArchives } from '../archive/repo.ts';
import { targetProgress } from '../backup/s3/progress.ts';
import type { Config } from '../core/config/index.ts';
import { FILESYSTEM_TARGET } from '../core/config/schema/backup-targets.ts';
import type { Queryable } from '../core/db/db.ts';
import type { Variables } from '../core/variables.ts';
import { dbBackupRuns } from '../engine/events.ts';
import { listPools } from '../engine/pools.ts';
import { listProcesses } from '../engine/processes.ts';
import { queuesByPool } from '../engine/queue-health.ts';
import { listInstruments } from '../files/repo.ts';
import { countFilesInStatuses } from '../files/stats.ts';
import { copyTargetsHealth } from '../files/target-health.ts';
import { firingAlerts } from '../ops/alerts/firing.ts';
import { ruleParams } from '../ops/alerts/run.ts';
import { lastRuns } from '../ops/db-backup/strategy.ts';
import { streamsOverview } from '../streams/overview.ts';
import {
  type AlertHealth,
  type InstrumentHealthRow,
  type Judged,
  judgeAlerts,
  judgeInstruments,
  judgePools,
  judgeQueues,
  judgeWorkers,
  type Level,
  type PoolHealth,
  type QueueHealth,
  type VersionCheck,
  type WorkerHealth,
} from './health-rules.ts';
import {
  type DbBackupHealth,
  judgeArchiveTargets,
  judgeBackupTargets,
  judgeDbBackups,
  judgeStreams,
  type OutboxHealth,
  type StreamHealth,
  type TargetHealth,
} from './health-stores.ts';

/** A runnable task waiting this long is shown as a warning. */
export const QUEUE_WAIT_WARN_S = 900;
/** A stream consumer this many messages behind is shown as a warning. */
export const STREAM_LAG_WARN = 1000;
/** Archives that did not verify within this long count against their target. */
const FAILED_ARCHIVE_WINDOW_MS = 86_400_000;

export interface HealthPage {
  generated_at: Date;
  /** This server's Sluice version. */
  version: string;
  summary: { level: Level; critical: number; warning: number };
  workers: WorkerHealth[];
  versions: VersionCheck;
  pools: PoolHealth[];
  queues: QueueHealth[];
  instruments: InstrumentHealthRow[];
  targets: TargetHealth[];
  streams: StreamHealth[];
  outbox: OutboxHealth;
  db_backups: DbBackupHealth[];
  alerts: AlertHealth[];
}

export interface HealthDeps {
  config: Config;
  vars: Variables;
  version: string;
}

/** The time between two runs of a cron expression (null when it has no next runs). */
function cronPeriodMs(expr: string, now: Date): number | null {
  const c = new Cron(expr, { paused: true });
  const [a, b] = c.nextRuns(2, now);
  return a && b ? b.getTime() - a.getTime() : null;
}

async function readTargets(db: Queryable, config: Config, now: Date): Promise<TargetHealth[]> {
  const [pending, instruments, copies, extra, items, totals, failed] = await Promise.all([
    countFilesInStatuses(db, ['acquired', 'backing_up']),
    listInstruments(db),
    copyTargetsHealth(db, [FILESYSTEM_TARGET, ...config.backup.targets.map((t) => t.name)]),
    targetProgress(db, config),
    itemCounts(db),
    archiveTotals(db),
    listArchives(db, { state: 'failed', limit: 100 }),
  ]);
  const since = now.getTime() - FAILED_ARCHIVE_WINDOW_MS;
  const backup = judgeBackupTargets({
    pending: pending.reduce((n, r) => n + r.n, 0),
    unavailable: instruments
      .filter((i) => i.backup_target_problem !== null)
      .map((i) => ({ instrument: i.id, problem: i.backup_target_problem! })),
    copies,
    extra,
    extraTypes: Object.fromEntries(config.backup.targets.map((t) => [t.name, t.type])),
  });
  const archive = judgeArchiveTargets(
    {
      targets: config.archive.targets.map((t) => ({ name: t.name, type: t.type })),
      items,
      totals,
      failed: failed.filter((f) => f.created_at.getTime() >= since),
    },
    now,
  );
  return [...backup, ...archive];
}

async function readDbBackups(db: Queryable, config: Config, now: Date): Promise<DbBackupHealth[]> {
  const [last, successes] = await Promise.all([lastRuns(db), dbBackupRuns(db)]);
  const strategies = config.database.backups.map((b) => ({
    name: b.name,
    enabled: b.enabled,
    period_ms: cronPeriodMs(b.cron, now),
  }));
  return judgeDbBackups({ strategies, last, successes }, now);
}

/** The worst level among rows, and how many are critical or a warning. */
export function summarize(rows: readonly Judged[]): HealthPage['summary'] {
  const critical = rows.filter((r) => r.level === 'critical').length;
  const warning = rows.filter((r) => r.level === 'warning').length;
  return { level: critical ? 'critical' : warning ? 'warning' : 'ok', critical, warning };
}

export async function healthPage(db: Queryable, deps: HealthDeps, now = new Date()): Promise<HealthPage> {
  const { config } = deps;
  const staleMs = config.worker.lease_seconds * 1000 * 2;
  const [processes, pools, queues, instruments, params, targets, streams, dbBackups, alerts] =
    await Promise.all([
      listProcesses(db),
      listPools(db),
      queuesByPool(db),
      listInstruments(db),
      ruleParams(config, deps.vars),
      readTargets(db, config, now),
      streamsOverview(db, config.streams),
      readDbBackups(db, config, now),
      firingAlerts(db, config, deps.vars, now),
    ]);
  const workers = judgeWorkers(processes, now, staleMs, deps.version);
  const instrumentRows = judgeInstruments(instruments, params.instrumentFreeGb);
  const { sources, outbox } = judgeStreams(streams, STREAM_LAG_WARN);
  const page = {
    workers: workers.rows,
    pools: judgePools(pools),
    queues: judgeQueues(queues, processes, pools, now, staleMs, QUEUE_WAIT_WARN_S),
    instruments: instrumentRows,
    targets,
    streams: sources,
    outbox,
    db_backups: dbBackups,
    alerts: judgeAlerts(alerts, new Set(instruments.map((i) => i.id))),
  };
  const all: Judged[] = [
    ...page.workers,
    ...page.pools,
    ...page.queues,
    ...page.instruments,
    ...page.targets,
    ...page.streams,
    page.outbox,
    ...page.db_backups,
    ...page.alerts,
  ];
  return {
    generated_at: now,
    version: deps.version,
    summary: summarize(all),
    versions: workers.versions,
    ...page,
  };
}
