/**
 * The health page's judgements of where data goes, pure: backup targets (the filesystem backup and
 * each extra target), archive targets, streams and the outbox, and the database's own backups.
 * Inputs are what ./health.ts read; each row says its level, what is wrong, and where to act.
 */
import type { TargetProgress } from '../backup/s3/progress.ts';
import type { CopyTargetHealth } from '../files/target-health.ts';
import type { StreamsOverview } from '../streams/overview.ts';
import { humanSeconds, type Judged, type Level, PAGE_PATHS } from './health-rules.ts';

export interface TargetHealth extends Judged {
  name: string;
  /** `backup`: where raw data is copied and verified; `archive`: long-term archives. */
  role: 'backup' | 'archive';
  type: string;
  state: 'ok' | 'unavailable' | 'failing' | 'catching up' | 'behind';
  /** Files (backup) or archive items (archive) still to be copied there. */
  pending: number;
  last_verified_at: Date | null;
  /** Backup copies: the copy read longest ago was last read (or verified) then. */
  oldest_read_at: Date | null;
  detail: string | null;
}

export interface BackupInputs {
  /** Files acquired or being backed up: what the filesystem backup still has to take. */
  pending: number;
  /** Instruments whose copies wait because the filesystem backup target is unusable. */
  unavailable: { instrument: string; problem: string }[];
  copies: readonly CopyTargetHealth[];
  extra: readonly TargetProgress[];
  extraTypes: Readonly<Record<string, string>>;
}

export interface ArchiveInputs {
  targets: readonly { name: string; type: string }[];
  items: readonly { target: string; state: string; items: number; oldest_due: Date | null }[];
  totals: readonly { target: string; archives: number; newest: Date | null }[];
  failed: readonly { target: string; reason: string | null }[];
}

const DAY_MS = 86_400_000;

function level(state: TargetHealth['state']): Level {
  return state === 'unavailable' || state === 'failing' ? 'critical' : state === 'behind' ? 'warning' : 'ok';
}

/** The filesystem backup first, then each extra target (`backup.targets`). */
export function judgeBackupTargets(b: BackupInputs): TargetHealth[] {
  const of = (t: string) => b.copies.find((c) => c.target === t);
  const main = of('backup');
  const down = b.unavailable[0];
  const mainState: TargetHealth['state'] = down
    ? 'unavailable'
    : (main?.corrupt ?? 0) > 0
      ? 'failing'
      : b.pending > 0
        ? 'catching up'
        : 'ok';
  const rows: TargetHealth[] = [
    {
      name: 'backup',
      role: 'backup',
      type: 'filesystem',
      state: mainState,
      pending: b.pending,
      last_verified_at: main?.last_verified_at ?? null,
      oldest_read_at: main?.oldest_read_at ?? null,
      detail: main?.corrupt ? `${main.corrupt} corrupt copies` : null,
      level: level(mainState),
      problem: down
        ? `unavailable (${b.unavailable.map((u) => u.instrument).join(', ')}): ${down.problem}`
        : main?.corrupt
          ? `${main.corrupt} copies found corrupt`
          : null,
      link: PAGE_PATHS.files({ status: 'acquired,backing_up' }),
    },
  ];
  for (const t of b.extra) {
    const c = of(t.target);
    const pending = Math.max(0, t.files - t.copied);
    const state: TargetHealth['state'] =
      t.waiting > 0 ? 'unavailable' : t.failing > 0 ? 'failing' : pending > 0 ? 'catching up' : 'ok';
    rows.push({
      name: t.target,
      role: 'backup',
      type: b.extraTypes[t.target] ?? 's3',
      state,
      pending,
      last_verified_at: c?.last_verified_at ?? null,
      oldest_read_at: c?.oldest_read_at ?? null,
      detail: `${t.queued} queued, ${t.running} running in pool ${t.pool}`,
      level: level(state),
      problem:
        t.waiting > 0
          ? `${t.waiting} copies wait for the target to be usable (not mounted, or its marker missing): see sluice doctor`
          : t.failing > 0
            ? `${t.failing} copies still failing: ${t.last_error ?? 'no error recorded'}`
            : null,
      link: PAGE_PATHS.pools,
    });
  }
  return rows;
}

/** Archive targets: items due for more than a day is `behind`; archives that did not verify, `failing`. */
export function judgeArchiveTargets(a: ArchiveInputs, now: Date): TargetHealth[] {
  return a.targets.map((t) => {
    const items = a.items.filter((i) => i.target === t.name && i.state !== 'archived');
    const pending = items.reduce((n, i) => n + i.items, 0);
    const oldest = items
      .map((i) => i.oldest_due)
      .filter((d): d is Date => d !== null)
      .sort((x, y) => x.getTime() - y.getTime())[0];
    const failed = a.failed.filter((f) => f.target === t.name);
    const behind = oldest !== undefined && now.getTime() - oldest.getTime() > DAY_MS;
    const state: TargetHealth['state'] =
      failed.length > 0 ? 'failing' : behind ? 'behind' : pending > 0 ? 'catching up' : 'ok';
    const totals = a.totals.find((x) => x.target === t.name);
    return {
      name: t.name,
      role: 'archive',
      type: t.type,
      state,
      pending,
      last_verified_at: totals?.newest ?? null,
      oldest_read_at: null,
      detail: `${totals?.archives ?? 0} verified archives`,
      level: level(state),
      problem:
        failed.length > 0
          ? `${failed.length} archives did not verify: ${failed[0]!.reason ?? 'no reason recorded'}`
          : behind
            ? `items due since ${oldest!.toISOString()}`
            : null,
      link: null,
    };
  });
}

export interface StreamHealth extends Judged {
  source: string;
  stream: string;
  lag: number | null;
  dead_letters: number;
  nats_error: string | null;
}

export interface OutboxHealth extends Judged {
  configured: boolean;
  enabled: boolean;
  pending: number;
  oldest_pending_s: number | null;
}

/** Lag over `lagWarn` messages or an unreachable NATS: a warning; the outbox waiting over 10 minutes too. */
export function judgeStreams(
  s: StreamsOverview,
  lagWarn: number,
): { sources: StreamHealth[]; outbox: OutboxHealth } {
  const sources = s.sources.map((x): StreamHealth => {
    const problem = x.nats_error
      ? `NATS not reachable: ${x.nats_error}`
      : (x.lag ?? 0) > lagWarn
        ? `${x.lag} messages behind`
        : null;
    return {
      source: x.source,
      stream: x.stream,
      lag: x.lag ?? null,
      dead_letters: x.dead_letters,
      nats_error: x.nats_error ?? null,
      level: problem ? 'warning' : 'ok',
      problem,
      link: PAGE_PATHS.streams,
    };
  });
  const o = s.outbox;
  const late = o.enabled && (o.oldest_pending_seconds ?? 0) > 600;
  return {
    sources,
    outbox: {
      configured: o.configured,
      enabled: o.enabled,
      pending: o.pending,
      oldest_pending_s: o.oldest_pending_seconds === null ? null : Math.round(o.oldest_pending_seconds),
      level: late ? 'warning' : 'ok',
      problem: late
        ? `${o.pending} events wait, the oldest ${humanSeconds(Math.round(o.oldest_pending_seconds!))}`
        : null,
      link: PAGE_PATHS.streams,
    },
  };
}

export interface DbBackupHealth extends Judged {
  strategy: string;
  enabled: boolean;
  last_success_at: Date | null;
  age_s: number | null;
  last_state: string | null;
  last_reason: string | null;
}

export interface DbBackupInputs {
  strategies: readonly { name: string; enabled: boolean; period_ms: number | null }[];
  last: readonly { strategy: string; state: string; reason: string | null }[];
  successes: readonly { strategy: string; last_success: number | null }[];
}

/** A strategy whose last run failed, or whose last success is older than two periods, is critical. */
export function judgeDbBackups(d: DbBackupInputs, now: Date): DbBackupHealth[] {
  return d.strategies.map((s) => {
    const last = d.last.find((l) => l.strategy === s.name);
    const ok = d.successes.find((x) => x.strategy === s.name)?.last_success ?? null;
    const at = ok === null ? null : new Date(ok * 1000);
    const age = at === null ? null : Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
    const stale = s.period_ms !== null && (age === null ? last !== undefined : age * 1000 > 2 * s.period_ms);
    let problem: string | null = null;
    if (!s.enabled) problem = null;
    else if (last?.state === 'failed')
      problem = `the last run failed: ${last.reason ?? 'no reason recorded'}`;
    else if (stale)
      problem = age === null ? 'never succeeded' : `the last success is ${humanSeconds(age)} old`;
    return {
      strategy: s.name,
      enabled: s.enabled,
      last_success_at: at,
      age_s: age,
      last_state: last?.state ?? null,
      last_reason: last?.reason ?? null,
      level: problem ? 'critical' : 'ok',
      problem,
      link: null,
    };
  });
}
