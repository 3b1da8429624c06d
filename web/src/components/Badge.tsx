/**
 * Coloured badges for file statuses and job states.
 */
import { jobTone, statusInfo, type Tone } from '../lib/status.ts';

export function Badge({ tone, children }: { tone: Tone; children: string }) {
  return <span className={`badge tone-${tone}`}>{children}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  const s = statusInfo(status);
  return <Badge tone={s.tone}>{s.label}</Badge>;
}

export function JobBadge({ state }: { state: string }) {
  return <Badge tone={jobTone(state)}>{state}</Badge>;
}
