/** Parsing of squeue / scontrol output and mapping of SLURM job states. Pure functions. */
import type { JobState, JobStatus } from './types.ts';
import type { ExitRecord } from './wrapper.ts';

/**
 * squeue --Format: fields separated by '|', width 0 = never truncated. The name comes last
 * (job keys cannot contain '|'; a reason could, in theory, so it is re-joined).
 */
export const SQUEUE_FORMAT = 'JobID:0|,State:0|,Reason:0|,TimeUsed:0|,exit_code:0|,Name:0';

export interface SqueueRow extends JobStatus {
  name: string;
  rawState: string;
}

/** "1-02:03:04", "02:03:04", "03:04" → seconds; undefined for anything else ("INVALID", "N/A"). */
export function parseSlurmDuration(text: string): number | undefined {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const [, d, h, min, s] = m;
  return Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(min) * 60 + Number(s);
}

/** squeue's exit_code is a raw wait status: exit code in the high byte, signal in the low bits. */
export function decodeWaitStatus(raw: number): { exitCode: number; signal?: number } {
  const signal = raw & 0x7f;
  if (signal !== 0) return { exitCode: 128 + signal, signal };
  return { exitCode: (raw >> 8) & 0xff };
}

const STATE_MAP: Record<string, { state: JobState; reason?: string }> = {
  PENDING: { state: 'PENDING' },
  CONFIGURING: { state: 'PENDING' },
  REQUEUED: { state: 'PENDING', reason: 'requeued' },
  REQUEUE_HOLD: { state: 'PENDING', reason: 'requeued and held' },
  REQUEUE_FED: { state: 'PENDING', reason: 'requeued' },
  RESV_DEL_HOLD: { state: 'PENDING', reason: 'held (reservation deleted)' },
  RUNNING: { state: 'RUNNING' },
  COMPLETING: { state: 'RUNNING' },
  STAGE_OUT: { state: 'RUNNING' },
  SIGNALING: { state: 'RUNNING' },
  RESIZING: { state: 'RUNNING' },
  SUSPENDED: { state: 'RUNNING', reason: 'suspended' },
  STOPPED: { state: 'RUNNING', reason: 'stopped' },
  COMPLETED: { state: 'COMPLETED' },
  FAILED: { state: 'FAILED' },
  TIMEOUT: { state: 'TIMEOUT', reason: 'time limit reached' },
  OUT_OF_MEMORY: { state: 'OUT_OF_MEMORY', reason: 'out of memory' },
  CANCELLED: { state: 'CANCELLED' },
  NODE_FAIL: { state: 'NODE_FAIL', reason: 'node failure' },
  PREEMPTED: { state: 'FAILED', reason: 'preempted' },
  BOOT_FAIL: { state: 'FAILED', reason: 'node boot failure' },
  DEADLINE: { state: 'FAILED', reason: 'deadline reached' },
  SPECIAL_EXIT: { state: 'FAILED', reason: 'special exit' },
  REVOKED: { state: 'FAILED', reason: 'revoked' },
};

/** Map a SLURM state ("RUNNING", "CANCELLED by 0", "CANCELLED+", "CD") to ours. */
export function mapSlurmState(raw: string): { state: JobState; reason?: string } {
  const word = (raw.trim().split(/\s+/)[0] ?? '').replace(/\+$/, '').toUpperCase();
  const hit = STATE_MAP[word] ?? STATE_MAP[SHORT_STATES[word] ?? ''];
  if (hit) {
    if (word === 'CANCELLED' && /\bby\b/.test(raw))
      return { state: 'CANCELLED', reason: raw.trim().toLowerCase() };
    return hit;
  }
  return { state: 'UNKNOWN', reason: `unrecognised SLURM state ${JSON.stringify(raw.trim())}` };
}

const SHORT_STATES: Record<string, string> = {
  PD: 'PENDING',
  CF: 'CONFIGURING',
  R: 'RUNNING',
  CG: 'COMPLETING',
  CD: 'COMPLETED',
  F: 'FAILED',
  TO: 'TIMEOUT',
  OOM: 'OUT_OF_MEMORY',
  CA: 'CANCELLED',
  NF: 'NODE_FAIL',
  PR: 'PREEMPTED',
  BF: 'BOOT_FAIL',
  DL: 'DEADLINE',
  SE: 'SPECIAL_EXIT',
  RQ: 'REQUEUED',
  RH: 'REQUEUE_HOLD',
  RS: 'RESIZING',
  RV: 'REVOKED',
  S: 'SUSPENDED',
  ST: 'STOPPED',
  SI: 'SIGNALING',
  SO: 'STAGE_OUT',
};

/** Reasons worth passing on (SLURM's "None" is not). */
function usefulReason(r: string | undefined): string | undefined {
  const t = r?.trim();
  if (!t || t === 'None' || t === '(null)') return undefined;
  return t;
}

function combineReason(...parts: (string | undefined)[]): string | undefined {
  const p = parts.filter((x): x is string => !!x);
  return p.length ? p.join(': ') : undefined;
}

/** Parse `squeue --noheader -O SQUEUE_FORMAT` output. Malformed lines are skipped. */
export function parseSqueue(stdout: string): Map<string, SqueueRow> {
  const out = new Map<string, SqueueRow>();
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const parts = line.split('|');
    if (parts.length < 6) continue;
    const n = parts.length;
    const jobId = parts[0]!.trim();
    const rawState = parts[1]!.trim();
    const reason = parts.slice(2, n - 3).join('|');
    const time = parts[n - 3]!;
    const exitRaw = parts[n - 2]!.trim();
    const name = parts[n - 1]!.trim();
    if (!/^\d+(_\d+)?$/.test(jobId)) continue;
    const mapped = mapSlurmState(rawState);
    const row: SqueueRow = { jobId, state: mapped.state, name, rawState };
    const elapsed = parseSlurmDuration(time);
    if (elapsed !== undefined) row.elapsedSeconds = elapsed;
    const final = mapped.state !== 'PENDING' && mapped.state !== 'RUNNING';
    let signalNote: string | undefined;
    if (final && /^\d+$/.test(exitRaw)) {
      const ws = decodeWaitStatus(Number(exitRaw));
      row.exitCode = ws.exitCode;
      if (ws.signal !== undefined) signalNote = `killed by signal ${ws.signal}`;
    }
    const r = combineReason(
      mapped.reason,
      usefulReason(reason),
      mapped.state === 'FAILED' ? signalNote : undefined,
    );
    if (r) row.reason = r;
    out.set(jobId, row);
  }
  return out;
}

/** Parse one `scontrol -o show job` line (Key=Value pairs) into our status. */
export function parseScontrolJob(line: string): (JobStatus & { name?: string }) | undefined {
  const fields = new Map<string, string>();
  for (const m of line.matchAll(/(?:^|\s)([A-Za-z/:]+)=(\S*)/g)) fields.set(m[1]!, m[2]!);
  const jobId = fields.get('JobId');
  const rawState = fields.get('JobState');
  if (!jobId || !rawState) return undefined;
  const mapped = mapSlurmState(rawState);
  const st: JobStatus & { name?: string } = { jobId, state: mapped.state };
  const name = fields.get('JobName');
  if (name) st.name = name;
  const ec = /^(\d+):(\d+)$/.exec(fields.get('ExitCode') ?? '');
  const final = mapped.state !== 'PENDING' && mapped.state !== 'RUNNING';
  if (ec && final) st.exitCode = Number(ec[2]) !== 0 ? 128 + Number(ec[2]) : Number(ec[1]);
  const elapsed = parseSlurmDuration(fields.get('RunTime') ?? '');
  if (elapsed !== undefined) st.elapsedSeconds = elapsed;
  const r = combineReason(mapped.reason, usefulReason(fields.get('Reason')));
  if (r) st.reason = r;
  return st;
}

/** A job's status from its own exit record (the scheduler no longer knows it). */
export function statusFromExitRecord(jobId: string, rec: ExitRecord): JobStatus {
  const st: JobStatus = { jobId, state: rec.exitCode === 0 ? 'COMPLETED' : 'FAILED', exitCode: rec.exitCode };
  if (rec.startTime !== undefined && rec.endTime !== undefined) {
    st.elapsedSeconds = Math.max(0, rec.endTime - rec.startTime);
  }
  if (rec.exitCode !== 0) {
    const sig = rec.exitCode - 128;
    st.reason = rec.signal
      ? `terminated by SIG${rec.signal} (cancelled, time limit or shutdown), exit code ${rec.exitCode}`
      : sig === 9
        ? `exit code ${rec.exitCode}: killed by SIGKILL (out of memory?)`
        : sig > 0 && sig < 32
          ? `exit code ${rec.exitCode}: killed by signal ${sig}`
          : `exit code ${rec.exitCode}`;
  }
  return st;
}
