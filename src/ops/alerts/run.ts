/**
 * Task `ops.alerts` (schedule `ops.alerts`, every `alerts.interval_seconds`): read a snapshot with a
 * few queries, evaluate the rules (./rules.ts), drop suppressed alerts (`alerts.suppress`), drop
 * those sent for the same (rule, subject) within the cooldown (table `alerts_sent`), send the rest
 * to every notifier, and record what was sent.
 *
 * "Since the last run" rules (file entered `error`, backup task failed for good) walk cursors kept
 * in `alerts_state`; on the very first run they look back one hour. The cursors only move on when at
 * least one notifier accepted the alerts (or there was nothing to send), so an outage of every
 * notifier does not lose them. A failing notifier is logged and reported; the others still get the
 * alerts.
 */

import { statfs } from 'node:fs/promises';
import { corruptArchivesPending } from '../../archive/fixity-repo.ts';
import type { Config } from '../../core/config/index.ts';
import { type AlertsConfig, alertsSchema } from '../../core/config/schema/alerts.ts';
import type { Db, Queryable } from '../../core/db/db.ts';
import type { Logger } from '../../core/log.ts';
import type { Variables } from '../../core/variables.ts';
import { fileErrorEvents, latestEventId } from '../../engine/events.ts';
import { unstoppedProcesses } from '../../engine/processes.ts';
import type { ScheduleSpec } from '../../engine/schedules.ts';
import { failedTasksSince, retryingTasks, waitingTasks } from '../../engine/status.ts';
import type { TaskHandlerDef } from '../../engine/types.ts';
import {
  countFilesInStatuses,
  countStuckFiles,
  fileNames,
  instrumentsHealth,
  corruptCopies as listCorruptCopies,
  stuckFiles,
} from '../../files/stats.ts';
import { recentQcViolations } from '../../metrics/qc-watch.ts';
import { defineHandler, Kind, scheduleOf } from '../../tasks/catalogue.ts';
import { createNotifier, type Notifier } from './notifiers.ts';
import { type Alert, evaluate, NON_TERMINAL_STATUSES, type RuleParams, type Snapshot } from './rules.ts';

const FIRST_LOOKBACK_MS = 3_600_000;
const MAX_STUCK_ALERTS = 20;
/** Task kinds whose final failure is a backup/archive failure (`db.backup`: a database backup strategy). */
const BACKUP_KINDS = [Kind.backupCopy, Kind.dbBackup];
const BACKUP_KIND_PREFIXES = ['backup.%', 'archive.%'];

/** The config with its `alerts:` section (optional until the section is registered). */
export type AlertsHostConfig = Config & { alerts?: AlertsConfig };

export function alertsConfigOf(config: AlertsHostConfig): AlertsConfig {
  return config.alerts ?? alertsSchema.parse(undefined);
}

export interface AlertsReport {
  evaluated: Alert[];
  suppressed: Alert[];
  coolingDown: Alert[];
  sent: Alert[];
  failures: { notifier: string; error: string }[];
}

export interface RunAlertsOptions {
  /** Notifiers to use instead of those built from the config (tests). */
  notifiers?: Notifier[];
}

async function getState<T>(q: Queryable, key: string): Promise<T | undefined> {
  const r = await q.maybeOne<{ value: T }>('select value from alerts_state where key = $1', [key]);
  return r?.value;
}

async function setState(q: Queryable, key: string, value: unknown): Promise<void> {
  await q.exec(
    `insert into alerts_state (key, value, updated_at) values ($1, $2::jsonb, now())
     on conflict (key) do update set value = excluded.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}

async function diskFree(path: string): Promise<{ free_bytes: number | null; error?: string }> {
  try {
    const s = await statfs(path);
    return { free_bytes: Number(s.bavail) * Number(s.bsize) };
  } catch (err) {
    return { free_bytes: null, error: (err as Error).message };
  }
}

interface Cursors {
  errorEventId: string;
  failedTaskAt: string;
}

/** Files stuck in a non-terminal status since before `stuckFileMinutes` ago: the first ones, and how many. */
async function readStuck(
  db: Queryable,
  p: RuleParams,
  now: Date,
): Promise<Pick<Snapshot, 'stuck' | 'stuckTotal'>> {
  const stuckBefore = new Date(now.getTime() - p.stuckFileMinutes * 60_000);
  const stuck = await stuckFiles(db, NON_TERMINAL_STATUSES, stuckBefore, p.maxStuckAlerts);
  const stuckTotal =
    stuck.length < p.maxStuckAlerts
      ? stuck.length
      : await countStuckFiles(db, NON_TERMINAL_STATUSES, stuckBefore);
  return { stuck, stuckTotal };
}

/** Files that went to error or lost since the cursor (first run: since `lookback`), and the new cursor. */
async function readErrorEvents(
  db: Queryable,
  lookback: Date,
): Promise<{ errorEvents: Snapshot['errorEvents']; maxEvent: string }> {
  const errorCursor = await getState<string>(db, 'error_event_id');
  const events = await fileErrorEvents(db, errorCursor, lookback);
  const names = await fileNames(
    db,
    events.map((e) => e.subject_id),
  );
  const errorEvents: Snapshot['errorEvents'] = events.map((e) => ({
    id: e.id,
    subject_id: e.subject_id,
    name: names.get(e.subject_id) ?? null,
    reason: e.reason,
    at: e.at,
    to_state: e.to_state,
  }));
  const maxEvent = errorEvents.at(-1)?.id ?? errorCursor ?? String(await latestEventId(db));
  return { errorEvents, maxEvent: String(maxEvent) };
}

/** Backup tasks that failed for good since the cursor (first run: since `lookback`), and the new cursor. */
async function readFailedTasks(
  db: Queryable,
  lookback: Date,
): Promise<{ failedTasks: Snapshot['failedTasks']; failedTaskAt: string }> {
  const taskCursor = (await getState<string>(db, 'failed_task_at')) ?? lookback.toISOString();
  const failedTasks = await failedTasksSince(db, taskCursor, BACKUP_KINDS, BACKUP_KIND_PREFIXES);
  const lastTask = failedTasks.at(-1)?.finished_at;
  return { failedTasks, failedTaskAt: lastTask ? lastTask.toISOString() : taskCursor };
}

/** Free space of the backup and output paths, for the rules that have a minimum for them. */
async function readDisks(config: AlertsHostConfig): Promise<Snapshot['disks']> {
  const a = alertsConfigOf(config);
  const disks: Snapshot['disks'] = [];
  if (a.rules.free_space_gb.backup !== undefined) {
    disks.push({ target: 'backup', path: config.backup.path, ...(await diskFree(config.backup.path)) });
  }
  if (a.rules.free_space_gb.output !== undefined) {
    const out = config.processing.output_path;
    disks.push({ target: 'output', path: out, ...(await diskFree(out)) });
  }
  return disks;
}

/** What the alert rules judge (rules.ts `evaluate`), and the cursors to store once alerts went out. */
export async function readSnapshot(
  db: Queryable,
  config: AlertsHostConfig,
  p: RuleParams,
  now: Date,
): Promise<{ snapshot: Snapshot; cursors: Cursors }> {
  const lookback = new Date(now.getTime() - FIRST_LOOKBACK_MS);
  const workers = await unstoppedProcesses(db);
  const instruments = await instrumentsHealth(db);
  const statusCounts = await countFilesInStatuses(db, NON_TERMINAL_STATUSES);
  const { stuck, stuckTotal } = await readStuck(db, p, now);
  const { errorEvents, maxEvent } = await readErrorEvents(db, lookback);
  const corruptCopies = await listCorruptCopies(db);
  const corruptArchives = await corruptArchivesPending(db);
  const { failedTasks, failedTaskAt } = await readFailedTasks(db, lookback);
  const disks = await readDisks(config);
  const s3Retrying = await retryingTasks(db, [Kind.backupS3], p.s3FailingAttempts ?? 3);
  // after 3 waits in a row (about 7 s of an unavailable filesystem target)
  const targetsWaiting = await waitingTasks(db, [Kind.backupFsCopy], 3);
  const qcViolations = await recentQcViolations(db, lookback);
  return {
    snapshot: {
      now,
      workers,
      instruments,
      statusCounts,
      stuck,
      stuckTotal,
      errorEvents,
      corruptCopies,
      corruptArchives,
      failedTasks,
      disks,
      s3Retrying,
      targetsWaiting,
      qcViolations,
    },
    cursors: { errorEventId: maxEvent, failedTaskAt },
  };
}

export async function ruleParams(config: AlertsHostConfig, vars: Variables): Promise<RuleParams> {
  const a = alertsConfigOf(config);
  const fallbackGb = a.rules.free_space_gb.instrument ?? (await vars.get('min_free_space_gb'));
  const instrumentFreeGb: Record<string, number> = {};
  for (const [id, inst] of Object.entries(config.instruments)) {
    instrumentFreeGb[id] = a.rules.free_space_gb.instrument ?? inst.cleanup.min_free_space_gb ?? fallbackGb;
  }
  return {
    staleWorkerMinutes: a.rules.stale_worker_minutes,
    pileUpThreshold: a.rules.pile_up_threshold,
    stallHours: a.rules.stall_hours,
    workingHours: a.rules.working_hours,
    stuckFileMinutes: await vars.get('stuck_file_minutes'),
    instrumentFreeGb,
    backupFreeGb: a.rules.free_space_gb.backup,
    outputFreeGb: a.rules.free_space_gb.output,
    maxStuckAlerts: MAX_STUCK_ALERTS,
    s3FailingAttempts: a.rules.s3_failing_attempts,
  };
}

/** `*` any run of characters, `?` one character; otherwise exact. */
export function globMatch(pattern: string, s: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(s);
}

export function isSuppressed(alert: Alert, suppress: AlertsConfig['suppress'], now: Date): boolean {
  return suppress.some(
    (s) =>
      s.rule === alert.rule &&
      (s.subject === undefined || globMatch(s.subject, alert.subject)) &&
      (s.until === undefined || now.getTime() < Date.parse(s.until)),
  );
}

export async function runAlerts(
  db: Db,
  config: AlertsHostConfig,
  vars: Variables,
  log: Logger,
  now = new Date(),
  opts: RunAlertsOptions = {},
): Promise<AlertsReport> {
  const a = alertsConfigOf(config);
  const params = await ruleParams(config, vars);
  const { snapshot, cursors } = await readSnapshot(db, config, params, now);
  const evaluated = evaluate(snapshot, params);
  const report: AlertsReport = { evaluated, suppressed: [], coolingDown: [], sent: [], failures: [] };

  const candidates: Alert[] = [];
  for (const alert of evaluated) {
    if (isSuppressed(alert, a.suppress, now)) report.suppressed.push(alert);
    else candidates.push(alert);
  }

  const sentRows = await db.query<{ rule: string; subject: string; last_sent_at: Date }>(
    'select rule, subject, last_sent_at from alerts_sent where rule = any($1)',
    [[...new Set(candidates.map((c) => c.rule))]],
  );
  const lastSent = new Map(sentRows.map((r) => [`${r.rule}\u0000${r.subject}`, r.last_sent_at]));
  const due: Alert[] = [];
  for (const alert of candidates) {
    const cooldown =
      (alert.rule !== 'reaction' ? a.rules.cooldown_minutes[alert.rule] : undefined) ?? a.cooldown_minutes;
    const last = lastSent.get(`${alert.rule}\u0000${alert.subject}`);
    if (last && now.getTime() - last.getTime() < cooldown * 60_000) report.coolingDown.push(alert);
    else due.push(alert);
  }

  let delivered = due.length === 0;
  if (due.length) {
    const notifiers = opts.notifiers ?? a.notifiers.map(createNotifier);
    const results = await Promise.allSettled(notifiers.map((n) => n.send(due)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') delivered = true;
      else {
        const error = r.reason instanceof Error ? r.reason.message : String(r.reason);
        report.failures.push({ notifier: notifiers[i]!.name, error });
        log.error({ notifier: notifiers[i]!.name, err: error, alerts: due.length }, 'alert notifier failed');
      }
    });
    if (notifiers.length === 0) log.warn({ alerts: due.length }, 'alerts due but no notifier is configured');
  }

  if (delivered) {
    await db.tx(async (tx) => {
      for (const alert of due) {
        await tx.exec(
          `insert into alerts_sent (rule, subject, last_sent_at, count, last_title) values ($1, $2, $3, 1, $4)
           on conflict (rule, subject) do update set last_sent_at = excluded.last_sent_at,
             count = alerts_sent.count + 1, last_title = excluded.last_title`,
          [alert.rule, alert.subject, now, alert.title],
        );
      }
      await setState(tx, 'error_event_id', cursors.errorEventId);
      await setState(tx, 'failed_task_at', cursors.failedTaskAt);
    });
    report.sent = due;
  }
  for (const alert of report.sent) {
    log.warn({ rule: alert.rule, subject: alert.subject, severity: alert.severity }, alert.title);
  }
  return report;
}

export interface AlertsDeps {
  config: AlertsHostConfig;
  vars: Variables;
}

export function alertsHandler(deps: AlertsDeps): TaskHandlerDef {
  return defineHandler(Kind.opsAlerts, {
    async run(ctx) {
      const r = await runAlerts(ctx.db, deps.config, deps.vars, ctx.log);
      if (r.sent.length || r.failures.length) {
        ctx.log.info(
          {
            sent: r.sent.length,
            suppressed: r.suppressed.length,
            coolingDown: r.coolingDown.length,
            failures: r.failures,
          },
          'alerts pass',
        );
      }
    },
  });
}

export function alertsSchedules(config: AlertsHostConfig): ScheduleSpec[] {
  const a = alertsConfigOf(config);
  return [
    scheduleOf(Kind.opsAlerts, {
      name: Kind.opsAlerts,
      intervalMs: Math.round(a.interval_seconds * 1000),
      enabled: a.enabled,
    }),
  ];
}

/** Alias: the single schedule of `alertsSchedules`. */
export const alertsSchedule = (config: AlertsHostConfig): ScheduleSpec => alertsSchedules(config)[0]!;
