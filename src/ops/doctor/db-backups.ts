/**
 * Doctor checks `db backup location` and `db backup age`, per `database.backups` strategy: its
 * directory is writable or its bucket can be listed, and its newest backup is as recent as its
 * schedule wants (warn when older than two periods or missing; fail when its last run failed).
 * `judgeBackupAge` decides on the age; `checkDbBackups` looks at the locations and runs.
 */
import { Cron } from 'croner';
import type { Config } from '../../core/config/index.ts';
import type { Db } from '../../core/db/db.ts';
import { formatDuration } from '../../core/duration.ts';
import { openLocation } from '../db-backup/locations.ts';
import { lastRuns } from '../db-backup/strategy.ts';
import { type CheckResult, fail, failFrom, guard, ok, warn } from './result.ts';
import { checkWritable } from './writable.ts';

type Strategy = Config['database']['backups'][number];

/** The last recorded run of a strategy (its newest event). */
export interface LastRun {
  strategy: string;
  state: string;
  at: Date;
  reason: string | null;
}

/**
 * The age row for strategy `s` (shown as `target`): its last run, its newest backup, the time now,
 * and `period` (ms between its scheduled runs).
 */
export function judgeBackupAge(
  s: Pick<Strategy, 'name' | 'cron' | 'enabled' | 'tags'>,
  target: string,
  facts: { run: LastRun | undefined; newest: Date | undefined; now: number; period: number },
): CheckResult {
  const { run, newest, now, period } = facts;
  if (run?.state === 'failed') {
    return fail(
      'db backup age',
      target,
      `the last run failed ${formatDuration(now - run.at.getTime())} ago: ${run.reason ?? 'no reason recorded'}`,
      `run \`sluice db backup --strategy ${s.name}\` to see the error; the alert backup_failure reports it too`,
    );
  }
  if (!s.enabled) return ok('db backup age', target, 'no schedule (enabled: false); run by hand');
  const hint = `scheduled backups need a running worker${s.tags.length ? ` tagged ${s.tags.join(', ')}` : ''}; \`sluice db backup --strategy ${s.name}\` makes one now`;
  if (!newest) return warn('db backup age', target, `no backup yet (schedule "${s.cron}")`, hint);
  if (now - newest.getTime() > 2 * period) {
    return warn(
      'db backup age',
      target,
      `the newest backup is ${formatDuration(now - newest.getTime())} old; the schedule "${s.cron}" makes one every ${formatDuration(period)}`,
      hint,
    );
  }
  return ok('db backup age', target, `newest backup ${formatDuration(now - newest.getTime())} old`);
}

/** Milliseconds between two runs of `cron` (a day when it has no two next runs). */
function cronPeriod(cron: string): number {
  const [a, b] = new Cron(cron, { paused: true }).nextRuns(2);
  return a && b ? b.getTime() - a.getTime() : 86_400_000;
}

/**
 * The location row for a strategy writing to a directory: written to like the backup path. A
 * strategy pinned to worker tags may write to a directory that only those workers mount, so a
 * directory that fails here is only a warning for it.
 */
async function checkDirLocation(
  s: Strategy,
  i: number,
  dir: string,
  target: string,
  pid: number | undefined,
): Promise<{ row: CheckResult; failed: boolean }> {
  const field = `database.backups[${i}].location.dir`;
  const r = await guard('db backup location', target, () =>
    checkWritable('db backup location', field, dir, pid),
  );
  const row: CheckResult =
    r.status === 'fail' && s.tags.length > 0
      ? {
          ...r,
          target,
          status: 'warn',
          detail: `${r.detail} (checked on this machine)`,
          hint: `it runs on workers tagged ${s.tags.join(', ')}: check there (sluice doctor on such a worker)`,
        }
      : { ...r, target };
  return { row, failed: r.status === 'fail' };
}

/**
 * Each database backup strategy: can this machine reach its location (a directory: written to
 * like the backup path; S3: listed), and is its newest backup as recent as its cron wants?
 */
export async function checkDbBackups(
  config: Config,
  db: Db | undefined,
  opts: { pid?: number; now?: number } = {},
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const now = opts.now ?? Date.now();
  const last = db ? await lastRuns(db).catch(() => []) : [];
  for (const [i, s] of config.database.backups.entries()) {
    const location = openLocation(s);
    const target = `${s.name}: ${location.describe}`;
    if (s.location.dir) {
      const dir = await checkDirLocation(s, i, s.location.dir, target, opts.pid);
      out.push(dir.row);
      if (dir.failed) continue; // no age to tell
    }
    let newest: Date | undefined;
    try {
      const entries = await location.list(s.name);
      newest = entries[0]?.createdAt;
      if (s.location.s3) {
        out.push(ok('db backup location', target, `reachable: ${entries.length} backup(s) of this strategy`));
      }
    } catch (err) {
      if (s.location.s3) out.push(failFrom('db backup location', target, err));
      continue;
    }
    const run = last.find((r) => r.strategy === s.name);
    // the period only matters (and the cron is only parsed) for an enabled strategy that did not fail
    const period = run?.state === 'failed' || !s.enabled ? 0 : cronPeriod(s.cron);
    out.push(judgeBackupAge(s, target, { run, newest, now, period }));
  }
  return out;
}
