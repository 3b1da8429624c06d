/**
 * Retrieval decisions (issue #20), pure: what a fetch of an archive does next, whether a new request
 * joins a fetch already under way (one restore and one download per archive however many ask), what
 * S3's `x-amz-restore` header says, and which tar member names may be written into the retrieval area.
 * The shells are retrieve-task.ts (the fetch), retrieve.ts (requests) and retrieve-sweep.ts (expiry).
 */
import path from 'node:path';

/** A fetch's states: `requested → restoring → downloading → verified | failed`, then `expired`. */
export const FETCH_STATES = [
  'requested',
  'restoring',
  'downloading',
  'verified',
  'failed',
  'expired',
] as const;
export type FetchState = (typeof FETCH_STATES)[number];

/** States in which a fetch still serves new requests for its archive. */
export const LIVE_FETCH_STATES: readonly FetchState[] = ['requested', 'restoring', 'downloading', 'verified'];

export interface LiveFetch {
  id: string;
  state: FetchState;
  expires_at: Date | null;
}

/**
 * A new request for a set in an archive: join the live fetch of that archive (its restore and its
 * download serve every request), extend a verified one's expiry (the requester gets its full time),
 * or start a new fetch when there is none live.
 */
export function joinOrStart(live: LiveFetch | undefined): 'join' | 'extend' | 'start' {
  if (!live || !LIVE_FETCH_STATES.includes(live.state)) return 'start';
  return live.state === 'verified' ? 'extend' : 'join';
}

export type RestoreStatus = { state: 'none' } | { state: 'ongoing' } | { state: 'ready'; expiry?: Date };

/** S3's `x-amz-restore` header (`ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`). */
export function parseRestoreHeader(h: string | undefined): RestoreStatus {
  if (!h) return { state: 'none' };
  const ongoing = /ongoing-request\s*=\s*"(true|false)"/i.exec(h)?.[1];
  if (ongoing === 'true') return { state: 'ongoing' };
  if (ongoing !== 'false') return { state: 'none' };
  const when = /expiry-date\s*=\s*"([^"]+)"/i.exec(h)?.[1];
  const expiry = when ? new Date(when) : undefined;
  return { state: 'ready', ...(expiry && !Number.isNaN(expiry.getTime()) ? { expiry } : {}) };
}

/** Storage classes whose objects must be restored before they can be read. */
export const COLD_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export type FetchStep = { do: 'ask-restore' } | { do: 'wait-restore' } | { do: 'download' } | { do: 'done' };

/**
 * What a fetch attempt does next, from its recorded state and (for a cold object) what the store
 * says now. An object that was restored and has expired again is asked for again; a fetch found
 * mid-download (a killed attempt) downloads again from the start.
 */
export function nextFetchStep(
  state: FetchState,
  cold: boolean,
  restore: RestoreStatus | undefined,
): FetchStep {
  if (state === 'verified' || state === 'failed' || state === 'expired') return { do: 'done' };
  if (!cold) return { do: 'download' };
  const r = restore ?? { state: 'none' };
  if (r.state === 'ready') return { do: 'download' };
  if (r.state === 'ongoing') return { do: 'wait-restore' };
  return { do: 'ask-restore' };
}

/**
 * Where a tar member goes under `root`, or why it may not: only relative names that stay inside the
 * retrieval area (a member named `../x` or `/etc/x` is refused, never written).
 */
export function memberTarget(root: string, name: string): { path: string } | { refused: string } {
  if (name.includes('\0')) return { refused: 'a NUL character in the name' };
  if (path.posix.isAbsolute(name)) return { refused: 'an absolute name' };
  const norm = path.posix.normalize(name);
  if (norm === '..' || norm.startsWith('../')) return { refused: 'a name leading out of the retrieval area' };
  if (norm === '.' || norm === '') return { refused: 'an empty name' };
  return { path: path.join(root, ...norm.split('/')) };
}

/** When a verified fetch expires. */
export function expiryOf(verifiedAt: Date, expireAfterHours: number): Date {
  return new Date(verifiedAt.getTime() + expireAfterHours * 3_600_000);
}

/** How long to wait before asking the store again whether a restore finished (grows to `maxMs`). */
export function restorePollMs(polls: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(polls, 10));
}

/**
 * Whether a download of `needBytes` fits in the retrieval area leaving `reserveBytes` free: undefined
 * when it does, otherwise why not (the path, bytes needed and free) for the fetch's `why`.
 */
export function roomProblem(
  area: string,
  needBytes: number,
  freeBytes: number,
  reserveBytes: number,
): string | undefined {
  if (needBytes + reserveBytes <= freeBytes) return undefined;
  return `retrieval area ${area}: needs ${needBytes} bytes (and ${reserveBytes} kept free), ${freeBytes} free`;
}
