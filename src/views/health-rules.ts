/**
 * The health page's judgements, pure: from what ./health.ts read (workers, pools, queues,
 * instruments, targets, streams, database backups, alerts) to rows that each say their level (ok,
 * warning, critical), what is wrong in words, and where in the dashboard to act on it. Nothing here
 * reads the database or the clock; the caller passes `now`.
 */

import type { PoolUsage } from '../engine/pools.ts';
import type { ProcessRow } from '../engine/processes.ts';
import type { PoolQueue } from '../engine/queue-health.ts';
import type { InstrumentRow } from '../files/repo.ts';
import type { FiringAlert } from '../ops/alerts/firing.ts';

export type Level = 'ok' | 'warning' | 'critical';

/** What every row of the page carries: how bad, why in words, where to act (a dashboard path). */
export interface Judged {
  level: Level;
  problem: string | null;
  link: string | null;
}

export interface WorkerHealth extends Judged {
  id: string;
  host: string;
  pid: number;
  role: string;
  version: string;
  tags: string[];
  heartbeat_age_s: number;
  running: number;
  state: 'alive' | 'silent' | 'dead';
  death: string | null;
  /** Alive, with another Sluice version than the one most processes run. */
  version_differs: boolean;
}

export interface VersionCheck {
  mismatch: boolean;
  /** The version most live processes run (ties: this server's, else the highest). */
  expected: string | null;
  versions: { version: string; processes: number; hosts: string[] }[];
}

export interface PoolHealth extends Judged {
  name: string;
  size: number;
  configured: number;
  override: number | null;
  busy: number;
  waiting: number;
  paused: boolean;
}

export interface QueueHealth extends Judged, PoolQueue {
  /** Live workers that have a handler for the kind and every tag of the oldest waiting task. */
  takers: number;
}

export interface InstrumentHealthRow extends Judged {
  id: string;
  type: string;
  online: boolean | null;
  offline_reason: string | null;
  free_bytes: number | null;
  total_bytes: number | null;
  last_new_file_at: Date | null;
  backup_target_problem: string | null;
}

export interface AlertHealth extends Judged, Omit<FiringAlert, 'severity'> {
  severity: FiringAlert['severity'];
}

export const PAGE_PATHS = {
  pools: '/admin#pools-title',
  streams: '/streams',
  files: (q: Record<string, string>) => `/files?${new URLSearchParams(q).toString()}`,
  file: (id: string) => `/files/${encodeURIComponent(id)}`,
} as const;

/** 95 → "1 min 35 s", 7300 → "2 h 1 min": how long, for the problem texts. */
export function humanSeconds(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

const secondsSince = (now: Date, d: Date) => Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));

/** The version most live processes run; a tie goes to `own` when it is among them, else the highest. */
function expectedVersion(counts: Map<string, number>, own: string): string | null {
  let best: string | null = null;
  for (const [v, n] of counts) {
    const bn = best === null ? -1 : counts.get(best)!;
    if (n > bn || (n === bn && (v === own || (best !== own && v > best!)))) best = v;
  }
  return best;
}

/** Each process alive, silent (no heartbeat within `staleMs`) or dead, and whether versions differ. */
export function judgeWorkers(
  rows: readonly ProcessRow[],
  now: Date,
  staleMs: number,
  ownVersion: string,
): { rows: WorkerHealth[]; versions: VersionCheck } {
  const state = (p: ProcessRow): WorkerHealth['state'] =>
    p.died_at ? 'dead' : now.getTime() - p.last_heartbeat_at.getTime() < staleMs ? 'alive' : 'silent';
  const live = rows.filter((p) => state(p) === 'alive');
  const byVersion = new Map<string, { processes: number; hosts: Set<string> }>();
  for (const p of live) {
    const v = byVersion.get(p.version) ?? { processes: 0, hosts: new Set<string>() };
    v.processes++;
    v.hosts.add(p.host);
    byVersion.set(p.version, v);
  }
  const expected = expectedVersion(new Map([...byVersion].map(([v, x]) => [v, x.processes])), ownVersion);
  const mismatch = byVersion.size > 1;
  const out = rows.map((p): WorkerHealth => {
    const s = state(p);
    const age = secondsSince(now, p.last_heartbeat_at);
    const differs = mismatch && s === 'alive' && p.version !== expected;
    const problem =
      s === 'dead'
        ? `dead: ${p.death ?? 'found dead'}`
        : s === 'silent'
          ? `no heartbeat for ${humanSeconds(age)}`
          : differs
            ? `runs Sluice ${p.version}, most run ${expected}`
            : null;
    return {
      id: p.id,
      host: p.host,
      pid: p.pid,
      role: p.role,
      version: p.version,
      tags: p.tags,
      heartbeat_age_s: age,
      running: Number(p.running),
      state: s,
      death: p.death,
      version_differs: differs,
      level: s === 'alive' ? (differs ? 'warning' : 'ok') : 'critical',
      problem,
      link: null,
    };
  });
  const versions = [...byVersion]
    .map(([version, x]) => ({ version, processes: x.processes, hosts: [...x.hosts].sort() }))
    .sort((a, b) => b.processes - a.processes || a.version.localeCompare(b.version));
  return { rows: out, versions: { mismatch, expected, versions } };
}

/** Pools: a paused pool (size 0) with work waiting is a warning; so is one with work but no room used. */
export function judgePools(pools: readonly PoolUsage[]): PoolHealth[] {
  return pools.map((p) => {
    const paused = p.size === 0;
    const problem =
      paused && p.queued > 0 ? `paused (size 0) with ${p.queued} waiting` : paused ? 'paused (size 0)' : null;
    return {
      name: p.name,
      size: p.size,
      configured: p.configured,
      override: p.override,
      busy: p.running,
      waiting: p.queued,
      paused,
      level: paused && p.queued > 0 ? 'warning' : 'ok',
      problem,
      link: PAGE_PATHS.pools,
    };
  });
}

/** Who can take a task: live non-web workers with a handler for its kind and all its tags. */
function takersOf(q: PoolQueue, workers: readonly ProcessRow[], alive: (p: ProcessRow) => boolean): number {
  const tags = q.oldest?.tags ?? [];
  return workers.filter((w) => alive(w) && w.kinds.includes(q.kind) && tags.every((t) => w.tags.includes(t)))
    .length;
}

/**
 * Queues per kind and pool: the oldest waiting task is a warning after `waitWarnS`; critical when no
 * live worker can take it (no handler for the kind, or a tag nobody has) or its pool is paused.
 */
export function judgeQueues(
  queues: readonly PoolQueue[],
  workers: readonly ProcessRow[],
  pools: readonly PoolUsage[],
  now: Date,
  staleMs: number,
  waitWarnS: number,
): QueueHealth[] {
  const alive = (p: ProcessRow) => !p.died_at && now.getTime() - p.last_heartbeat_at.getTime() < staleMs;
  return queues.map((q) => {
    const takers = takersOf(q, workers, alive);
    const wait = q.oldest?.waiting_s ?? 0;
    const paused = pools.find((p) => p.name === q.pool)?.size === 0;
    const tags = q.oldest?.tags.length ? ` with tags ${q.oldest.tags.join(', ')}` : '';
    let level: Level = 'ok';
    let problem: string | null = null;
    if (q.oldest && paused) {
      level = 'critical';
      problem = `pool ${q.pool} is paused; the oldest task waits ${humanSeconds(wait)}`;
    } else if (q.oldest && takers === 0) {
      level = 'critical';
      problem = `no live worker takes ${q.kind}${tags}; the oldest waits ${humanSeconds(wait)}`;
    } else if (q.oldest && wait >= waitWarnS) {
      level = 'warning';
      problem = `the oldest task (${q.oldest.subject ?? `#${q.oldest.id}`}) waits ${humanSeconds(wait)}`;
    }
    return { ...q, takers, level, problem, link: PAGE_PATHS.pools };
  });
}

/** Instruments: offline or the backup target unusable is critical; free space under its threshold a warning. */
export function judgeInstruments(
  rows: readonly InstrumentRow[],
  freeGb: Readonly<Record<string, number>>,
): InstrumentHealthRow[] {
  return rows.map((i) => {
    const free = i.free_bytes === null ? null : Number(i.free_bytes);
    const min = freeGb[i.id];
    const low = free !== null && min !== undefined && free < min * 1e9;
    const problems = [
      i.online === false ? `offline${i.offline_reason ? `: ${i.offline_reason}` : ''}` : null,
      i.backup_target_problem ? `backups wait: ${i.backup_target_problem}` : null,
      low ? `free space ${(free! / 1e9).toFixed(1)} GB, below ${min} GB` : null,
    ].filter((p): p is string => p !== null);
    const critical = i.online === false || i.backup_target_problem !== null;
    return {
      id: i.id,
      type: i.type,
      online: i.online,
      offline_reason: i.offline_reason,
      free_bytes: free,
      total_bytes: i.total_bytes === null ? null : Number(i.total_bytes),
      last_new_file_at: i.last_new_file_at,
      backup_target_problem: i.backup_target_problem,
      level: critical ? 'critical' : low ? 'warning' : 'ok',
      problem: problems.length ? problems.join('; ') : null,
      link: PAGE_PATHS.files({ instrument: i.id }),
    };
  });
}

/** Where to act on an alert: the file, the instrument's files, the pools, the streams. */
function alertLink(a: FiringAlert, instruments: ReadonlySet<string>): string | null {
  if (a.rule === 'file_error' || a.rule === 'stuck_file')
    return a.subject === 'more' ? PAGE_PATHS.files({ status: 'error' }) : PAGE_PATHS.file(a.subject);
  if (a.rule === 'qc_rule_violation') return `/qc?instrument=${encodeURIComponent(a.subject.slice(3))}`;
  const inst = a.subject.startsWith('instrument:') ? a.subject.slice('instrument:'.length) : a.subject;
  if (instruments.has(inst)) return PAGE_PATHS.files({ instrument: inst });
  if (a.rule === 'status_pile_up') return PAGE_PATHS.files({ status: a.subject });
  return null;
}

export function judgeAlerts(alerts: readonly FiringAlert[], instruments: ReadonlySet<string>): AlertHealth[] {
  return alerts.map((a) => ({
    ...a,
    level: a.suppressed ? 'ok' : a.severity,
    problem: a.suppressed ? null : a.title,
    link: alertLink(a, instruments),
  }));
}
