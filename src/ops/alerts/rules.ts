/**
 * Alert rules: pure evaluators over a snapshot the engine reads (./run.ts `readSnapshot`). Each
 * returns the alerts that hold now; cooldown and suppression are applied afterwards by the runner.
 * A subject is what the alert is about (worker id, instrument id, file id, `backup`, a status...):
 * cooldown is kept per (rule, subject).
 */

import type { AlertRule } from '../../core/config/schema/alerts.ts';
import { FILE_STATUSES, TERMINAL } from '../../files/lifecycle.ts';
import type { QcViolation } from '../../metrics/qc-watch.ts';
import { type WorkingHours, withinWorkingHours } from './working-hours.ts';

export type Severity = 'warning' | 'critical';

export interface Alert {
  /** `reaction`: a message of a notify or QC digest reaction (src/streams/reactions.ts), not a rule's. */
  rule: AlertRule | 'reaction';
  subject: string;
  severity: Severity;
  title: string;
  text: string;
}

export interface Snapshot {
  now: Date;
  workers: { id: string; host: string; last_heartbeat_at: Date }[];
  instruments: {
    id: string;
    online: boolean | null;
    offline_reason: string | null;
    free_bytes: string | null;
    last_new_file_at: Date | null;
    /** Why its copies wait for the backup target (src/backup/target.ts); null when usable. */
    backup_target_problem?: string | null;
  }[];
  statusCounts: { status: string; n: number }[];
  stuck: { id: string; name: string; instrument_id: string; status: string; updated_at: Date }[];
  stuckTotal: number;
  /** Files that entered `error` or `lost` (`to_state`; absent means `error`). */
  errorEvents: {
    id: string;
    subject_id: string;
    name: string | null;
    reason: string | null;
    at: Date;
    to_state?: string;
  }[];
  corruptCopies: { file_id: string; name: string | null; target: string; location: string }[];
  /** Archives a fixity audit found corrupt whose sets are not archived anew yet (archive/fixity.ts). */
  corruptArchives?: {
    id: string;
    target: string;
    location: string;
    reason: string | null;
    files: number;
    /** Sets whose backup was released (backup retention): nothing left to archive them again from. */
    released?: number;
  }[];
  failedTasks: { id: string; kind: string; subject: string | null; last_error: string | null }[];
  disks: { target: 'backup' | 'output'; path: string; free_bytes: number | null; error?: string }[];
  /** `backup.s3` copies still retried after failed attempts, per pool `copy.<target>`. */
  s3Retrying?: {
    pool: string;
    /** The target the copies go to (their payload); null only for tasks enqueued without one. */
    target: string | null;
    tasks: number;
    attempts: number;
    since: Date;
    last_error: string | null;
  }[];
  /** Copies to a filesystem target of `backup.targets` waiting for it (unmounted, marker wrong). */
  targetsWaiting?: { target: string; tasks: number; since: Date }[];
  /** The newest QC runs that broke a Westgard rule against their guide set (src/metrics/qc-watch.ts). */
  qcViolations?: QcViolation[];
}

export interface RuleParams {
  staleWorkerMinutes: number;
  pileUpThreshold: number;
  stallHours: number;
  workingHours: WorkingHours;
  stuckFileMinutes: number;
  /** Per configured instrument: its free-space threshold in GB. Instruments not listed are ignored. */
  instrumentFreeGb: Record<string, number>;
  backupFreeGb?: number | undefined;
  outputFreeGb?: number | undefined;
  /** How many stuck files get their own alert; the rest are summed up in one. */
  maxStuckAlerts: number;
  /** Failed attempts in a row of an S3 copy before `s3_target_failing` fires. */
  s3FailingAttempts?: number;
}

const GB = 1024 ** 3;
const MIN = 60_000;

/** Statuses a file passes through; terminal ones (done, error, ...) are not counted. */
export const NON_TERMINAL_STATUSES = FILE_STATUSES.filter((st) => !TERMINAL.has(st));

function ago(now: Date, then: Date): string {
  const m = Math.round((now.getTime() - then.getTime()) / MIN);
  if (m < 120) return `${m} min`;
  const h = m / 60;
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} days`;
}

const gb = (bytes: number) => `${(bytes / GB).toFixed(1)} GB`;

export function staleWorkers(s: Snapshot, p: RuleParams): Alert[] {
  const limit = s.now.getTime() - p.staleWorkerMinutes * MIN;
  return s.workers
    .filter((w) => w.last_heartbeat_at.getTime() < limit)
    .map((w) => ({
      rule: 'stale_worker',
      subject: w.id,
      severity: 'critical',
      title: `Worker ${w.id} stopped sending heartbeats`,
      text: `Worker ${w.id} on ${w.host} sent its last heartbeat ${ago(s.now, w.last_heartbeat_at)} ago (limit ${p.staleWorkerMinutes} min) and has not stopped cleanly. Its tasks are taken over when their leases expire; check the process and its host.`,
    }));
}

export function instrumentsOffline(s: Snapshot, p: RuleParams): Alert[] {
  return s.instruments
    .filter((i) => i.online === false && Object.hasOwn(p.instrumentFreeGb, i.id))
    .map((i) => ({
      rule: 'instrument_offline',
      subject: i.id,
      severity: 'critical',
      title: `Instrument ${i.id} is offline`,
      text: `Instrument ${i.id} cannot be read${i.offline_reason ? `: ${i.offline_reason}` : ''}. New data is neither backed up nor processed until it is back.`,
    }));
}

export function lowFreeSpace(s: Snapshot, p: RuleParams): Alert[] {
  const out: Alert[] = [];
  for (const i of s.instruments) {
    const limitGb = p.instrumentFreeGb[i.id];
    if (limitGb === undefined || i.free_bytes === null) continue;
    const free = Number(i.free_bytes);
    if (free < limitGb * GB) {
      out.push({
        rule: 'low_free_space',
        subject: `instrument:${i.id}`,
        severity: free < (limitGb * GB) / 4 ? 'critical' : 'warning',
        title: `Low free space on instrument ${i.id}: ${gb(free)}`,
        text: `Instrument ${i.id} has ${gb(free)} free, below the threshold of ${limitGb} GB.`,
      });
    }
  }
  for (const d of s.disks) {
    const limitGb = d.target === 'backup' ? p.backupFreeGb : p.outputFreeGb;
    if (limitGb === undefined || d.free_bytes === null) continue;
    if (d.free_bytes < limitGb * GB) {
      out.push({
        rule: 'low_free_space',
        subject: d.target,
        severity: d.free_bytes < (limitGb * GB) / 4 ? 'critical' : 'warning',
        title: `Low free space on the ${d.target} storage: ${gb(d.free_bytes)}`,
        text: `${d.path} (${d.target}) has ${gb(d.free_bytes)} free, below the threshold of ${limitGb} GB.`,
      });
    }
  }
  return out;
}

export function statusPileUp(s: Snapshot, p: RuleParams): Alert[] {
  const nonTerminal: ReadonlySet<string> = new Set(NON_TERMINAL_STATUSES);
  return s.statusCounts
    .filter((c) => nonTerminal.has(c.status) && c.n > p.pileUpThreshold)
    .map((c) => ({
      rule: 'status_pile_up',
      subject: c.status,
      severity: 'warning',
      title: `${c.n} files waiting in status ${c.status}`,
      text: `${c.n} files are in status ${c.status} (threshold ${p.pileUpThreshold}). The stage after it may be stopped, drained (pool size 0) or too slow.`,
    }));
}

export function stuckFiles(s: Snapshot, p: RuleParams): Alert[] {
  const out: Alert[] = s.stuck.slice(0, p.maxStuckAlerts).map((f) => ({
    rule: 'stuck_file',
    subject: f.id,
    severity: 'warning',
    title: `File ${f.name} stuck in ${f.status}`,
    text: `File ${f.name} (${f.id}) on ${f.instrument_id} has been in status ${f.status} for ${ago(s.now, f.updated_at)} (limit ${p.stuckFileMinutes} min).`,
  }));
  const rest = s.stuckTotal - out.length;
  if (rest > 0) {
    out.push({
      rule: 'stuck_file',
      subject: 'more',
      severity: 'warning',
      title: `${rest} more stuck files`,
      text: `${rest} more files have been in a non-terminal status for more than ${p.stuckFileMinutes} min (see \`sluice files list\`).`,
    });
  }
  return out;
}

export function instrumentStall(s: Snapshot, p: RuleParams): Alert[] {
  if (!withinWorkingHours(s.now, p.workingHours)) return [];
  const limit = s.now.getTime() - p.stallHours * 3_600_000;
  return s.instruments
    .filter(
      (i) =>
        Object.hasOwn(p.instrumentFreeGb, i.id) &&
        i.online !== false &&
        i.last_new_file_at !== null &&
        i.last_new_file_at.getTime() < limit,
    )
    .map((i) => ({
      rule: 'instrument_stall',
      subject: i.id,
      severity: 'warning',
      title: `No new data from ${i.id} for ${ago(s.now, i.last_new_file_at!)}`,
      text: `Instrument ${i.id} has produced no new file for ${ago(s.now, i.last_new_file_at!)} (limit ${p.stallHours} h during working hours). Check that it is acquiring and writing to the watched folder.`,
    }));
}

/** A file entered `error`, or `lost` (its data changed on the instrument before any copy). */
export function fileErrors(s: Snapshot): Alert[] {
  return s.errorEvents.map((e) => {
    const name = e.name ?? e.subject_id;
    const lost = e.to_state === 'lost';
    return {
      rule: 'file_error',
      subject: e.subject_id,
      severity: 'critical',
      title: lost ? `File ${name} lost before its backup` : `File ${name} entered error`,
      text: lost
        ? `The data acquired as ${name} (${e.subject_id}) was replaced or changed on the instrument before any copy was made (status lost, ${e.at.toISOString()})${e.reason ? `: ${e.reason}` : ''}. Those bytes exist nowhere Sluice knows of; find out who or what rewrote them.`
        : `File ${name} (${e.subject_id}) entered status error at ${e.at.toISOString()}${e.reason ? `: ${e.reason}` : ''}.`,
    };
  });
}

export function backupFailures(s: Snapshot): Alert[] {
  const out: Alert[] = s.corruptCopies.map((c) => ({
    rule: 'backup_failure',
    subject: `copy:${c.file_id}:${c.target}`,
    severity: 'critical',
    title: `Corrupt ${c.target} copy of ${c.name ?? c.file_id}`,
    text: `The ${c.target} copy of ${c.name ?? c.file_id} (${c.file_id}) at ${c.location} no longer matches its recorded hashes.`,
  }));
  for (const a of s.corruptArchives ?? []) {
    out.push({
      rule: 'backup_failure',
      subject: `archive:${a.id}`,
      severity: 'critical',
      title: `Corrupt archive ${a.id} on ${a.target}`,
      text: `Archive ${a.id} at ${a.location} no longer matches its recorded member hashes${a.reason ? ` (${a.reason})` : ''}; ${a.files - (a.released ?? 0)} set(s) are being archived again from their backups.${a.released ? ` ${a.released} set(s) have no backup left (released by backup retention): their data is now only in other archives or on the instrument — retrieve them from another archive target.` : ''}`,
    });
  }
  for (const t of s.failedTasks) {
    // scheduled tasks are named after their schedule (`db.backup:nightly`): say `nightly` once
    const what = t.subject?.startsWith(`${t.kind}:`) ? t.subject.slice(t.kind.length + 1) : t.subject;
    out.push({
      rule: 'backup_failure',
      subject: `task:${t.kind}:${what ?? t.id}`,
      severity: 'critical',
      title: `${t.kind} failed for ${what ?? `task ${t.id}`}`,
      text: `Task ${t.id} (${t.kind}) for ${what ?? '-'} failed for good${t.last_error ? `: ${t.last_error}` : ''}.`,
    });
  }
  return out;
}

/**
 * The backup target is not the right disk (unmounted, marker missing or naming another instance), as
 * the last copy or remover pass of an instrument found: copies wait and nothing is deleted. One
 * alert per distinct problem, naming the instruments affected.
 */
export function backupTargetUnavailable(s: Snapshot): Alert[] {
  const byProblem = new Map<string, string[]>();
  for (const i of s.instruments) {
    if (!i.backup_target_problem) continue;
    byProblem.set(i.backup_target_problem, [...(byProblem.get(i.backup_target_problem) ?? []), i.id]);
  }
  return [...byProblem].map(([problem, ids]) => ({
    rule: 'backup_target_unavailable',
    subject: ids.join(','),
    severity: 'critical',
    title: `Backup target unavailable for ${ids.join(', ')}`,
    text: `${problem}. Copies of ${ids.join(', ')} wait (the instrument keeps its data, nothing is deleted) and resume by themselves once the target is right; \`sluice doctor\` checks it.`,
  }));
}

/**
 * A filesystem target of `backup.targets` is not the right disk (unmounted, marker missing or naming
 * another instance): its copies wait. Rule `backup_target_unavailable` as for the primary, one alert
 * per target (subject `target:<name>`).
 */
export function fsTargetsWaiting(s: Snapshot): Alert[] {
  return (s.targetsWaiting ?? []).map((w) => ({
    rule: 'backup_target_unavailable',
    subject: `target:${w.target}`,
    severity: 'critical',
    title: `Backup target ${w.target} unavailable`,
    text: `${w.tasks} cop${w.tasks === 1 ? 'y' : 'ies'} to backup target ${w.target} wait for it (waiting for ${ago(s.now, w.since)}): it is not mounted, or its marker is missing or names another instance; the files' timelines say which. The other targets go on; instruments keep their data while \`cleanup.require\` names it; copies resume by themselves.`,
  }));
}

/**
 * An S3 backup target keeps failing: copies to it failed at least `s3FailingAttempts` attempts in a
 * row and are still retried (the store down, credentials wrong, a bucket gone). One alert per target,
 * named by the target's name (not its pool: targets may share a pool, or have one of another name);
 * the instrument keeps its data when `cleanup.require` names it.
 */
export function s3TargetFailing(s: Snapshot, p: RuleParams): Alert[] {
  const min = p.s3FailingAttempts ?? 3;
  const byTarget = new Map<string, NonNullable<Snapshot['s3Retrying']>>();
  for (const r of s.s3Retrying ?? []) {
    if (r.attempts < min) continue;
    const target = r.target ?? r.pool; // every `backup.s3` task names its target
    byTarget.set(target, [...(byTarget.get(target) ?? []), r]);
  }
  return [...byTarget].map(([target, rows]) => {
    const r = {
      tasks: rows.reduce((n, x) => n + x.tasks, 0),
      attempts: Math.max(...rows.map((x) => x.attempts)),
      since: new Date(Math.min(...rows.map((x) => x.since.getTime()))),
      last_error: rows.find((x) => x.last_error)?.last_error ?? null,
    };
    return {
      rule: 's3_target_failing',
      subject: `s3:${target}`,
      severity: 'critical',
      title: `S3 backup target ${target} keeps failing`,
      text: `${r.tasks} cop${r.tasks === 1 ? 'y' : 'ies'} to S3 target ${target} failed up to ${r.attempts} attempts in a row and ${r.tasks === 1 ? 'is' : 'are'} retried with backoff (waiting for ${ago(s.now, r.since)})${r.last_error ? `; last error: ${r.last_error}` : ''}. Instruments keep their data while \`cleanup.require\` names the target; check the store, its credentials and the bucket.`,
    };
  });
}

/**
 * A QC run broke a Westgard rule against its instrument's guide set. One alert per instrument (the
 * cooldown is per instrument), naming the run's file, the metrics and rules, and where to look.
 */
export function qcRuleViolations(s: Snapshot): Alert[] {
  const byInstrument = new Map<string, QcViolation[]>();
  for (const v of s.qcViolations ?? [])
    byInstrument.set(v.instrument, [...(byInstrument.get(v.instrument) ?? []), v]);
  return [...byInstrument].map(([instrument, vs]) => {
    const what = vs.map(
      (v) =>
        `${v.metric} ${v.value} of ${v.file_id} broke ${v.rules.join(', ')} (guide mean ${v.mean.toPrecision(4)}, sd ${v.sd.toPrecision(3)})`,
    );
    const names = [...new Set(vs.map((v) => v.metric))].join(',');
    return {
      rule: 'qc_rule_violation',
      subject: `qc:${instrument}`,
      severity: vs.some((v) => v.rules.includes('1_3s') || v.rules.includes('R_4s')) ? 'critical' : 'warning',
      title: `QC rule broken on ${instrument}`,
      text: `${what.join('; ')}. File: /files/${encodeURIComponent(vs[0]!.file_id)}; charts: /qc?instrument=${encodeURIComponent(instrument)}&names=${encodeURIComponent(names)}&band=guide.`,
    };
  });
}

export function evaluate(s: Snapshot, p: RuleParams): Alert[] {
  return [
    ...staleWorkers(s, p),
    ...instrumentsOffline(s, p),
    ...lowFreeSpace(s, p),
    ...statusPileUp(s, p),
    ...stuckFiles(s, p),
    ...instrumentStall(s, p),
    ...fileErrors(s),
    ...backupFailures(s),
    ...backupTargetUnavailable(s),
    ...fsTargetsWaiting(s),
    ...s3TargetFailing(s, p),
    ...qcRuleViolations(s),
  ];
}
