/**
 * File statuses as the dashboard shows them: the lifecycle of `src/files/lifecycle.ts`, in its
 * order, each with a colour tone. The record is keyed by the server's `FileStatus`, so a status
 * added there fails the type check until it has a colour here.
 *
 *   waiting   discovered, acquiring              (still on the instrument)
 *   working   acquired … processed               (blue)
 *   good      done, done_not_processed           (green)
 *   muted     ignored                            (grey)
 *   warn      processing_failed                  (amber: the raw data is safe, processing is not)
 *   bad       acquisition_failed, error, lost    (red)
 */
import type { FileStatus, Role } from '../api/types.ts';

export type Tone = 'waiting' | 'working' | 'good' | 'muted' | 'warn' | 'bad';

export const STATUS: Record<FileStatus, { tone: Tone; terminal: boolean; label: string }> = {
  discovered: { tone: 'waiting', terminal: false, label: 'discovered' },
  acquiring: { tone: 'waiting', terminal: false, label: 'acquiring' },
  acquired: { tone: 'working', terminal: false, label: 'acquired' },
  backing_up: { tone: 'working', terminal: false, label: 'backing up' },
  backed_up: { tone: 'working', terminal: false, label: 'backed up' },
  processing: { tone: 'working', terminal: false, label: 'processing' },
  processed: { tone: 'working', terminal: false, label: 'processed' },
  done: { tone: 'good', terminal: true, label: 'done' },
  done_not_processed: { tone: 'good', terminal: true, label: 'done (not processed)' },
  ignored: { tone: 'muted', terminal: true, label: 'ignored' },
  acquisition_failed: { tone: 'bad', terminal: true, label: 'acquisition failed' },
  processing_failed: { tone: 'warn', terminal: true, label: 'processing failed' },
  error: { tone: 'bad', terminal: true, label: 'error' },
  lost: { tone: 'bad', terminal: true, label: 'lost before backup' },
};

export const STATUSES = Object.keys(STATUS) as FileStatus[];

export function statusInfo(s: string): { tone: Tone; terminal: boolean; label: string } {
  return STATUS[s as FileStatus] ?? { tone: 'muted', terminal: false, label: s };
}

/** Job states (src/process/jobs.ts) by tone. */
export function jobTone(state: string): Tone {
  if (state === 'COMPLETED') return 'good';
  if (state === 'CANCELLED' || state === 'SKIPPED') return 'muted';
  if (['new', 'submitting', 'PENDING', 'RUNNING'].includes(state)) return 'working';
  return 'bad';
}

const ROLE_ORDER: Role[] = ['viewer', 'operator', 'admin'];

/** Does `role` include `required` (as src/auth/roles.ts)? */
export function can(role: Role | undefined, required: Role): boolean {
  return role !== undefined && ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(required);
}
