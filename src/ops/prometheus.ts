/**
 * Prometheus metrics, read from the database when scraped (`GET /metrics`). Every series is
 * cluster-wide (all processes share the database), so any one web process can serve them.
 *
 *   sluice_database_up                            1 when the scrape's queries succeeded
 *   sluice_files{status,instrument}               files by status
 *   sluice_tasks_queued{kind} / _running{kind}    queue depth and running tasks per task kind
 *   sluice_task_oldest_wait_seconds{kind}         how long the oldest runnable queued task waits
 *   sluice_pool_size{pool} / sluice_pool_running{pool}
 *   sluice_backup_bytes_total                     bytes copied into verified backups (counter)
 *   sluice_jobs{state}                            processing jobs by state
 *   sluice_instrument_online{instrument}          1 online, 0 offline (last scan)
 *   sluice_instrument_free_bytes{instrument}
 *   sluice_workers_alive                          processes with a heartbeat in the last 2 min
 *   sluice_db_backup_last_success_timestamp_seconds{strategy}  last successful database backup
 *   sluice_db_backup_failures_total{strategy}     failed database backup runs (counter)
 *   sluice_fixity_checks_total{actor,result}      re-reads of backup copies from storage against their
 *                                                 hashes (actor fixity|remover, result ok|mismatch; counter)
 *   sluice_fixity_oldest_unchecked_seconds        age of the oldest verified copy's last check (its
 *                                                 last audit, else its verification)
 *   sluice_backup_target_copies_{verified,missing,waiting,failing}{target}  per extra backup target
 *                                                 (src/backup/prometheus.ts)
 *   sluice_stream_* / sluice_outbox_*             per stream source and unit, and the outbox of file
 *                                                 events (src/streams/prometheus.ts)
 *   + prom-client's default metrics of this process (process_*, nodejs_*)
 *
 * Alerts sent are not exported yet: there is no alerts table.
 *
 * All queries are aggregates; one scrape runs them once (a snapshot shared by every gauge,
 * reused for 1 s so that concurrent scrapes do not multiply the load).
 */

import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { registerArchiveMetrics } from '../archive/prometheus.ts';
import { registerRetrievalMetrics } from '../archive/retrieve-metrics.ts';
import { fixityCheckCounts } from '../backup/fixity.ts';
import { registerBackupTargetMetrics } from '../backup/prometheus.ts';
import type { Config } from '../core/config/index.ts';
import type { StreamsConfig } from '../core/config/schema/streams.ts';
import type { Queryable } from '../core/db/db.ts';
import { dbBackupRuns } from '../engine/events.ts';
import { poolsRunning } from '../engine/pools.ts';
import { countLiveProcesses } from '../engine/processes.ts';
import { taskCountsByKind } from '../engine/status.ts';
import {
  backupBytesCopied,
  countFilesByStatusAndInstrument,
  instrumentsOnline,
  oldestFixitySeconds,
} from '../files/stats.ts';
import { countJobsByState } from '../process/jobs.ts';
import { registerStreamMetrics } from '../streams/prometheus.ts';

export interface MetricsSnapshot {
  files: { status: string; instrument: string; n: number }[];
  tasks: { kind: string; queued: number; running: number; oldest: number }[];
  pools: { pool: string; size: number; running: number }[];
  backupBytes: number;
  jobs: { state: string; n: number }[];
  instruments: { id: string; online: boolean | null; free: number | null }[];
  workersAlive: number;
  dbBackups: { strategy: string; lastSuccess: number | null; failures: number }[];
  fixityChecks: { actor: string; ok: boolean; n: number }[];
  /** Seconds since the least recently checked verified copy was last read; null: no copies. */
  fixityOldest: number | null;
}

export async function readSnapshot(db: Queryable): Promise<MetricsSnapshot> {
  const [files, tasks, pools, bytes, jobs, instruments, workers, dbBackups, fixity, oldest] =
    await Promise.all([
      countFilesByStatusAndInstrument(db),
      taskCountsByKind(db),
      poolsRunning(db),
      backupBytesCopied(db),
      countJobsByState(db),
      instrumentsOnline(db),
      countLiveProcesses(db),
      // database backup runs are events of subject type db_backup (src/ops/db-backup/strategy.ts)
      dbBackupRuns(db),
      // fixity audits and the remover's re-reads (src/backup/fixity.ts)
      fixityCheckCounts(db),
      oldestFixitySeconds(db),
    ]);
  return {
    files: files.map((r) => ({ status: r.status, instrument: r.instrument_id, n: Number(r.n) })),
    tasks: tasks.map((r) => ({
      kind: r.kind,
      queued: Number(r.queued),
      running: Number(r.running),
      oldest: Math.max(0, Number(r.oldest ?? 0)),
    })),
    pools: pools.map((r) => ({ pool: r.name, size: Number(r.size), running: Number(r.running) })),
    backupBytes: Number(bytes),
    jobs: jobs.map((r) => ({ state: r.state, n: Number(r.n) })),
    instruments: instruments.map((r) => ({
      id: r.id,
      online: r.online,
      free: r.free_bytes === null ? null : Number(r.free_bytes),
    })),
    workersAlive: workers,
    dbBackups: dbBackups.map((r) => ({
      strategy: r.strategy,
      lastSuccess: r.last_success,
      failures: Number(r.failures),
    })),
    fixityChecks: fixity.map((r) => ({ actor: r.actor, ok: r.ok, n: Number(r.n) })),
    fixityOldest: oldest === null ? null : Math.max(0, oldest),
  };
}

export interface MetricsRegistry {
  registry: Registry;
  /** The exposition text (run the queries, render every metric). */
  collect(): Promise<string>;
}

/** The snapshot of the current scrape; undefined when the database did not answer. */
type Snapshot = () => Promise<MetricsSnapshot | undefined>;

/** One snapshot per scrape: shared while its queries run, reused for `cacheMs` after. */
function snapshotCache(db: Queryable, cacheMs: number): Snapshot {
  let cached: { doneAt: number | undefined; value: Promise<MetricsSnapshot | undefined> } | undefined;
  return () => {
    if (cached && (cached.doneAt === undefined || Date.now() - cached.doneAt < cacheMs)) return cached.value;
    const entry: NonNullable<typeof cached> = {
      doneAt: undefined,
      value: readSnapshot(db)
        .catch(() => undefined)
        .finally(() => {
          entry.doneAt = Date.now();
        }),
    };
    cached = entry;
    return entry.value;
  };
}

/** A gauge refilled from the snapshot on every scrape (label sets that vanished disappear). */
function gauge<L extends string>(
  registry: Registry,
  snapshot: Snapshot,
  name: string,
  help: string,
  labelNames: L[],
  fill: (g: Gauge<L>, s: MetricsSnapshot) => void,
): void {
  new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      if (s) fill(this, s);
    },
  });
}

/** Database up, files, tasks and pools. */
function registerQueueMetrics(registry: Registry, snapshot: Snapshot): void {
  new Gauge({
    name: 'sluice_database_up',
    help: '1 when the metrics queries against the database succeeded in this scrape',
    registers: [registry],
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });
  gauge(
    registry,
    snapshot,
    'sluice_files',
    'Files by status and instrument',
    ['status', 'instrument'],
    (g, s) => {
      for (const r of s.files) g.set({ status: r.status, instrument: r.instrument }, r.n);
    },
  );
  gauge(
    registry,
    snapshot,
    'sluice_tasks_queued',
    'Queued tasks per kind (including ones waiting for a retry)',
    ['kind'],
    (g, s) => {
      for (const r of s.tasks) g.set({ kind: r.kind }, r.queued);
    },
  );
  gauge(registry, snapshot, 'sluice_tasks_running', 'Running tasks per kind', ['kind'], (g, s) => {
    for (const r of s.tasks) g.set({ kind: r.kind }, r.running);
  });
  gauge(
    registry,
    snapshot,
    'sluice_task_oldest_wait_seconds',
    'Seconds the oldest runnable queued task of each kind has waited (0: none waiting)',
    ['kind'],
    (g, s) => {
      for (const r of s.tasks) g.set({ kind: r.kind }, r.oldest);
    },
  );
  gauge(
    registry,
    snapshot,
    'sluice_pool_size',
    'Pool size in effect (runtime override, else config); 0 drains',
    ['pool'],
    (g, s) => {
      for (const r of s.pools) g.set({ pool: r.pool }, r.size);
    },
  );
  gauge(
    registry,
    snapshot,
    'sluice_pool_running',
    'Tasks holding a live lease in each pool',
    ['pool'],
    (g, s) => {
      for (const r of s.pools) g.set({ pool: r.pool }, r.running);
    },
  );
}

/** Bytes backed up, jobs, instruments and live processes. */
function registerActivityMetrics(registry: Registry, snapshot: Snapshot): void {
  new Counter({
    name: 'sluice_backup_bytes_total',
    help: 'Bytes copied into backups (copies that were written, not associated with an existing copy)',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      if (s) this.inc(s.backupBytes);
    },
  });
  gauge(registry, snapshot, 'sluice_jobs', 'Processing jobs by state', ['state'], (g, s) => {
    for (const r of s.jobs) g.set({ state: r.state }, r.n);
  });
  gauge(
    registry,
    snapshot,
    'sluice_instrument_online',
    '1 when the last scan found the instrument folder online',
    ['instrument'],
    (g, s) => {
      for (const r of s.instruments) if (r.online !== null) g.set({ instrument: r.id }, r.online ? 1 : 0);
    },
  );
  gauge(
    registry,
    snapshot,
    'sluice_instrument_free_bytes',
    'Free bytes on the instrument disk at the last scan',
    ['instrument'],
    (g, s) => {
      for (const r of s.instruments) if (r.free !== null) g.set({ instrument: r.id }, r.free);
    },
  );
  new Gauge({
    name: 'sluice_workers_alive',
    help: 'Sluice processes that sent a heartbeat within the last 2 minutes',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      if (s) this.set(s.workersAlive);
    },
  });
}

/** Database backups and fixity audits. */
function registerSafetyMetrics(registry: Registry, snapshot: Snapshot): void {
  gauge(
    registry,
    snapshot,
    'sluice_db_backup_last_success_timestamp_seconds',
    'Unix time of the last successful database backup of each strategy',
    ['strategy'],
    (g, s) => {
      for (const r of s.dbBackups) if (r.lastSuccess !== null) g.set({ strategy: r.strategy }, r.lastSuccess);
    },
  );
  new Counter({
    name: 'sluice_db_backup_failures_total',
    help: 'Failed database backup runs of each strategy (each attempt counts)',
    labelNames: ['strategy'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const r of s?.dbBackups ?? []) this.inc({ strategy: r.strategy }, r.failures);
    },
  });

  new Counter({
    name: 'sluice_fixity_checks_total',
    help: 'Re-reads of backup copies from storage against their recorded hashes (fixity audits and the remover)',
    labelNames: ['actor', 'result'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const r of s?.fixityChecks ?? [])
        this.inc({ actor: r.actor, result: r.ok ? 'ok' : 'mismatch' }, r.n);
    },
  });
  new Gauge({
    name: 'sluice_fixity_oldest_unchecked_seconds',
    help: 'Seconds since the least recently checked verified backup copy was last read against its hashes',
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      if (s?.fixityOldest != null) this.set(s.fixityOldest);
    },
  });
}

/** The registry behind `/metrics`: every metric filled from one snapshot per scrape. */
export function createMetricsRegistry(
  db: Queryable,
  opts: {
    defaultMetrics?: boolean;
    cacheMs?: number;
    streams?: StreamsConfig;
    /** The site's config: per extra backup target gauges when `backup.targets` names any. */
    config?: Config;
  } = {},
): MetricsRegistry {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const snapshot = snapshotCache(db, opts.cacheMs ?? 1000);
  registerQueueMetrics(registry, snapshot);
  registerActivityMetrics(registry, snapshot);
  registerSafetyMetrics(registry, snapshot);
  if (opts.streams) registerStreamMetrics(registry, db, opts.streams, opts.cacheMs ?? 1000);
  registerRetrievalMetrics(registry, db);
  registerArchiveMetrics(registry, db);
  if (opts.config) registerBackupTargetMetrics(registry, db, opts.config);
  return { registry, collect: () => registry.metrics() };
}
