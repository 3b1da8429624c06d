/**
 * Is an acquisition finished? A pure decision over what the caller has observed of a candidate.
 *
 * The caller keeps, per candidate, when it was first seen and when its size or mtime last changed
 * (on first sight `lastChangeMs = firstSeenMs`), and passes every candidate currently in the folder.
 *
 * Rules, in order of precedence (the first that applies decides):
 *  1. Too old: mtime older than `maxFileAgeHours` → `ignored`. Checked first so that pointing Sluice at
 *     a folder with years of history neither imports nor alarms on it.
 *  2. Corrupted: Thermo renamed it `_CORRUPTED.raw` → `acquisition_failed` (the instrument says so).
 *  3. Main file missing (Bruker `analysis.tdf_bin`): longer than `mainFileTimeoutSeconds` since first
 *     seen → `acquisition_failed`; within the timeout → `acquiring`. Nothing below can finish a
 *     folder without its main file.
 *  4. Empty: zero bytes is never finished. Still empty and unchanged for `emptyFileTimeoutSeconds`
 *     (counted like rule 7) → `acquisition_failed`; before that → `acquiring`. Bytes that arrive
 *     after it failed make a new record (the scan sees the name come back with other content).
 *  4b. Signalled: the instrument reported on a stream that the acquisition finished (an instrument's
 *     `acquisition_done`, src/streams/signals.ts) and the size and mtime did not change since the
 *     previous scan → `acquired`; changed in this very scan (or first seen now) → `acquiring`, so the
 *     bytes recorded are bytes seen twice. Below the empty and main-file rules: a signal cannot
 *     finish what has no data yet.
 *  5. Newer file (`newerFileMeansDone`): another non-empty candidate has a later mtime → `acquired`.
 *     Instruments acquire one file at a time, so a newer one means this one is closed.
 *  6. Old file (`considerOldFilesAcquired`): mtime more than `oldFileThresholdHours` before the newest
 *     non-empty candidate's mtime → `acquired` (matters when rule 5 is switched off).
 *  7. Stable: size and mtime unchanged for `stableWindowSeconds` of observation → `acquired`.
 *     Stability counts from max(lastChangeMs, firstSeenMs): time before Sluice saw it is unknown.
 *  8. Otherwise → `acquiring`.
 *
 * Every decision carries a reason an operator can read in the file's timeline.
 */
import { formatDuration, roundForReading } from '../core/duration.ts';
import { ConfigError } from '../core/errors.ts';
import { BRUKER_MAIN_FILE } from './instrument-types.ts';

export interface Tracked {
  name: string;
  firstSeenMs: number;
  /** Last time size or mtime was seen to change (= firstSeenMs on first sight). */
  lastChangeMs: number;
  size: number;
  mtimeMs: number;
  mainFilePresent: boolean;
  corrupted: boolean;
  /** Rule 4b: the instrument said on a stream that this acquisition finished (the reason to show). */
  signalled?: string;
}

export interface AcquisitionSettings {
  stableWindowSeconds: number;
  newerFileMeansDone: boolean;
  considerOldFilesAcquired: boolean;
  oldFileThresholdHours: number;
  mainFileTimeoutSeconds: number;
  /** An empty candidate unchanged this long has failed (rule 4). */
  emptyFileTimeoutSeconds: number;
  /** Variable `max_file_age_hours`; null switches the rule off. */
  maxFileAgeHours: number | null;
}

export const DEFAULT_ACQUISITION_SETTINGS: Readonly<AcquisitionSettings> = Object.freeze({
  stableWindowSeconds: 600,
  newerFileMeansDone: true,
  considerOldFilesAcquired: true,
  oldFileThresholdHours: 5,
  mainFileTimeoutSeconds: 3600,
  emptyFileTimeoutSeconds: 3600,
  maxFileAgeHours: null,
});

export type AcquisitionState = 'acquiring' | 'acquired' | 'acquisition_failed' | 'ignored';

export interface AcquisitionDecision {
  decision: AcquisitionState;
  reason: string;
}

const HOUR = 3_600_000;

/** Defaults merged with overrides; ConfigError naming the setting when a value is unusable. */
export function acquisitionSettings(overrides: Partial<AcquisitionSettings> = {}): AcquisitionSettings {
  const s = { ...DEFAULT_ACQUISITION_SETTINGS, ...overrides };
  const nonNegative = [
    'stableWindowSeconds',
    'oldFileThresholdHours',
    'mainFileTimeoutSeconds',
    'emptyFileTimeoutSeconds',
  ] as const;
  for (const key of nonNegative) {
    if (!Number.isFinite(s[key]) || s[key] < 0) {
      throw new ConfigError(`acquisition setting ${key} must be a number ≥ 0, got ${String(s[key])}`);
    }
  }
  if (s.maxFileAgeHours !== null && (!Number.isFinite(s.maxFileAgeHours) || s.maxFileAgeHours <= 0)) {
    throw new ConfigError(
      `acquisition setting maxFileAgeHours must be a number > 0 or null, got ${String(s.maxFileAgeHours)}`,
      'use null to switch the age limit off',
    );
  }
  return s;
}

/**
 * Decide the acquisition state of `file`, given all candidates currently in the folder (`all` may
 * include `file` itself; it is recognised by name), the current time and the settings.
 */
export function decideAcquisition(
  file: Tracked,
  all: readonly Tracked[],
  now: number,
  settings: AcquisitionSettings = DEFAULT_ACQUISITION_SETTINGS,
): AcquisitionDecision {
  const s = settings;
  const age = now - file.mtimeMs;

  // 1. too old
  if (s.maxFileAgeHours !== null && age > s.maxFileAgeHours * HOUR) {
    return {
      decision: 'ignored',
      reason: `last modified ${roundForReading(age / HOUR)} h ago, older than max_file_age_hours (${s.maxFileAgeHours} h)`,
    };
  }
  // 2. corrupted
  if (file.corrupted) {
    return {
      decision: 'acquisition_failed',
      reason: 'the instrument renamed it _CORRUPTED: the acquisition failed',
    };
  }
  // 3. main file, 4. empty
  const waiting = mainFileRule(file, now, s) ?? emptyFileRule(file, now, s);
  if (waiting) return waiting;
  // 4b. signalled
  if (file.signalled) return signalRule(file, now, file.signalled);
  // 5. newer file, 6. old file
  const relative = otherFilesRule(file, all, s);
  if (relative) return relative;
  // 7. stable
  const stableFor = now - Math.max(file.lastChangeMs, file.firstSeenMs);
  const window = s.stableWindowSeconds * 1000;
  if (stableFor >= window) {
    return { decision: 'acquired', reason: `size and mtime unchanged for ${formatDuration(stableFor)}` };
  }
  // 8. still going
  return {
    decision: 'acquiring',
    reason: `size or mtime changed ${formatDuration(stableFor)} ago; waiting for ${formatDuration(window)} without change`,
  };
}

/** Rule 4b: reported finished; acquired once a scan sees it unchanged since the one before. */
function signalRule(file: Tracked, now: number, reason: string): AcquisitionDecision {
  if (now > Math.max(file.lastChangeMs, file.firstSeenMs)) return { decision: 'acquired', reason };
  return {
    decision: 'acquiring',
    reason: `${reason}; waiting for one scan without change to its size and mtime`,
  };
}

/** Rule 3: a Bruker folder waits for its main file, and fails when it never comes. */
function mainFileRule(file: Tracked, now: number, s: AcquisitionSettings): AcquisitionDecision | undefined {
  if (file.mainFilePresent) return undefined;
  const waited = now - file.firstSeenMs;
  const limit = s.mainFileTimeoutSeconds * 1000;
  if (waited > limit) {
    return {
      decision: 'acquisition_failed',
      reason: `main file ${BRUKER_MAIN_FILE} still missing ${formatDuration(waited)} after the folder appeared (timeout ${formatDuration(limit)})`,
    };
  }
  return {
    decision: 'acquiring',
    reason: `waiting for main file ${BRUKER_MAIN_FILE} (folder seen ${formatDuration(waited)} ago, timeout ${formatDuration(limit)})`,
  };
}

/** Rule 4: an empty file waits for data, and fails when it stays empty and unchanged. */
function emptyFileRule(file: Tracked, now: number, s: AcquisitionSettings): AcquisitionDecision | undefined {
  if (file.size !== 0) return undefined;
  const emptyFor = now - Math.max(file.lastChangeMs, file.firstSeenMs);
  const limit = s.emptyFileTimeoutSeconds * 1000;
  if (emptyFor >= limit) {
    return {
      decision: 'acquisition_failed',
      reason: `still empty (0 bytes) and unchanged after ${formatDuration(emptyFor)} (empty_file_timeout_seconds ${s.emptyFileTimeoutSeconds}): no data was acquired; data written under this name later is recorded as a new file`,
    };
  }
  return {
    decision: 'acquiring',
    reason: `empty (0 bytes): waiting for data (gives up after ${formatDuration(limit)} without change)`,
  };
}

/** Rules 5 and 6: acquired because a newer raw file appeared, or because it is far older than the newest. */
function otherFilesRule(
  file: Tracked,
  all: readonly Tracked[],
  s: AcquisitionSettings,
): AcquisitionDecision | undefined {
  const others = all.filter((o) => o.name !== file.name && o.size > 0);
  // 5. newer file
  if (s.newerFileMeansDone) {
    let newer: Tracked | undefined;
    for (const o of others) if (o.mtimeMs > file.mtimeMs && (!newer || o.mtimeMs > newer.mtimeMs)) newer = o;
    if (newer) {
      return {
        decision: 'acquired',
        reason: `a newer raw file appeared after it (${newer.name}, modified ${formatDuration(newer.mtimeMs - file.mtimeMs)} later)`,
      };
    }
  }
  // 6. old file
  if (s.considerOldFilesAcquired) {
    let newest: Tracked | undefined;
    for (const o of others) if (!newest || o.mtimeMs > newest.mtimeMs) newest = o;
    const behind = newest ? newest.mtimeMs - file.mtimeMs : 0;
    if (newest && behind > s.oldFileThresholdHours * HOUR) {
      return {
        decision: 'acquired',
        reason: `modified ${formatDuration(behind)} before the newest raw file (${newest.name}); more than ${s.oldFileThresholdHours} h counts as acquired`,
      };
    }
  }
  return undefined;
}
