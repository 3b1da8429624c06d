/**
 * Periodic work. A schedule is a row with an interval or a cron expression and a next run time.
 * Every worker calls `runDueSchedules` now and then; the row lock (`for update skip locked`) and
 * the move of `next_run_at` in the same transaction as the enqueue make each period run exactly
 * once however many workers tick. A run still queued or running from the last period is not
 * doubled (dedupe key `schedule:<name>`), nor asked to run once more: the next period comes anyway.
 *
 * Missed periods (everything was down) are not replayed one by one: the next run is the first
 * period boundary after now.
 */
import { Cron } from 'croner';
import type { Db, Queryable } from '../core/db/db.ts';
import { ConfigError } from '../core/errors.ts';
import { enqueue } from './enqueue.ts';

export interface ScheduleSpec {
  name: string;
  kind: string;
  payload?: Record<string, unknown>;
  pool?: string;
  tags?: string[];
  intervalMs?: number;
  cron?: string;
  enabled?: boolean;
  /** An interval schedule's first run is one interval after it is created (default: at once). */
  delayFirst?: boolean;
}

export function validateCron(expr: string, where: string): void {
  try {
    new Cron(expr, { paused: true });
  } catch (err) {
    throw new ConfigError(
      `${where}: invalid cron expression '${expr}': ${(err as Error).message}`,
      'use five fields: minute hour day month weekday, e.g. "0 3 * * *"',
    );
  }
}

function nextRun(s: { interval_ms: string | null; cron: string | null; next_run_at: Date }, now: Date): Date {
  if (s.cron) {
    const n = new Cron(s.cron, { paused: true }).nextRun(now);
    return n ?? new Date(now.getTime() + 86_400_000);
  }
  const iv = Number(s.interval_ms);
  const behind = now.getTime() - s.next_run_at.getTime();
  const periods = Math.floor(behind / iv) + 1;
  return new Date(s.next_run_at.getTime() + periods * iv);
}

/** Creates or updates schedules from code/config; keeps `next_run_at` unless the timing changed. */
export async function ensureSchedules(q: Queryable, specs: ScheduleSpec[]): Promise<void> {
  for (const s of specs) {
    if ((s.intervalMs === undefined) === (s.cron === undefined)) {
      throw new Error(`schedule ${s.name}: give exactly one of intervalMs and cron`);
    }
    if (s.cron) validateCron(s.cron, `schedule ${s.name}`);
    const first = s.cron
      ? (new Cron(s.cron, { paused: true }).nextRun() ?? new Date())
      : new Date(Date.now() + (s.delayFirst ? s.intervalMs! : 0));
    await q.exec(
      `insert into schedules (name, kind, payload, pool, tags, interval_ms, cron, next_run_at, enabled)
       values ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)
       on conflict (name) do update set kind = excluded.kind, payload = excluded.payload, pool = excluded.pool,
         tags = excluded.tags, enabled = excluded.enabled,
         next_run_at = case when schedules.interval_ms is distinct from excluded.interval_ms
                              or schedules.cron is distinct from excluded.cron
                            then excluded.next_run_at else schedules.next_run_at end,
         interval_ms = excluded.interval_ms, cron = excluded.cron`,
      [
        s.name,
        s.kind,
        JSON.stringify(s.payload ?? {}),
        s.pool ?? 'default',
        s.tags ?? [],
        s.intervalMs ?? null,
        s.cron ?? null,
        first,
        s.enabled ?? true,
      ],
    );
  }
}

export async function removeSchedulesExcept(q: Queryable, prefix: string, keep: string[]): Promise<void> {
  await q.exec(`delete from schedules where name like $1 || '%' and not (name = any($2))`, [prefix, keep]);
}

/** Enqueues the due schedules; returns how many were enqueued. */
export async function runDueSchedules(db: Db, now = new Date()): Promise<number> {
  return db.tx(async (tx) => {
    const due = await tx.query<{
      name: string;
      kind: string;
      payload: Record<string, unknown>;
      pool: string;
      tags: string[];
      interval_ms: string | null;
      cron: string | null;
      next_run_at: Date;
    }>(
      `select * from schedules where enabled and next_run_at <= $1 order by next_run_at for update skip locked`,
      [now],
    );
    let n = 0;
    for (const s of due) {
      await tx.exec('update schedules set next_run_at = $2, last_run_at = $3 where name = $1', [
        s.name,
        nextRun(s, now),
        now,
      ]);
      const id = await enqueue(tx, {
        kind: s.kind,
        subject: s.name,
        payload: { ...s.payload, scheduledFor: s.next_run_at.toISOString() },
        pool: s.pool,
        tags: s.tags,
        maxAttempts: 3,
        dedupeKey: `schedule:${s.name}`,
        whileRunning: 'skip',
      });
      if (id) n++;
    }
    return n;
  });
}
