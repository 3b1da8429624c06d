import { describe, expect, it } from 'vitest';
import { formatDuration } from '../core/duration.ts';
import { ConfigError } from '../core/errors.ts';
import {
  type AcquisitionSettings,
  acquisitionSettings,
  DEFAULT_ACQUISITION_SETTINGS,
  decideAcquisition,
  type Tracked,
} from './rules.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2025, 0, 10, 12, 0, 0);

/** A non-empty, main-file-present file that changed 1 min ago and was first seen 30 min ago. */
function t(over: Partial<Tracked> = {}): Tracked {
  return {
    name: 'a.raw',
    firstSeenMs: NOW - 30 * MIN,
    lastChangeMs: NOW - MIN,
    size: 1000,
    mtimeMs: NOW - MIN,
    mainFilePresent: true,
    corrupted: false,
    ...over,
  };
}

function decide(file: Tracked, all: Tracked[] = [file], over: Partial<AcquisitionSettings> = {}) {
  return decideAcquisition(file, all, NOW, acquisitionSettings(over));
}

describe('decideAcquisition', () => {
  it('defaults match the documented values', () => {
    expect(DEFAULT_ACQUISITION_SETTINGS).toEqual({
      stableWindowSeconds: 600,
      newerFileMeansDone: true,
      considerOldFilesAcquired: true,
      oldFileThresholdHours: 5,
      mainFileTimeoutSeconds: 3600,
      emptyFileTimeoutSeconds: 3600,
      maxFileAgeHours: null,
    });
  });

  it('a file that changed recently is acquiring', () => {
    const r = decide(t());
    expect(r.decision).toBe('acquiring');
    expect(r.reason).toBe('size or mtime changed 1 min ago; waiting for 10 min without change');
  });

  it('stable for the window → acquired; one second short → acquiring', () => {
    expect(decide(t({ lastChangeMs: NOW - 10 * MIN }))).toEqual({
      decision: 'acquired',
      reason: 'size and mtime unchanged for 10 min',
    });
    expect(decide(t({ lastChangeMs: NOW - 10 * MIN + 1000 })).decision).toBe('acquiring');
    expect(decide(t({ lastChangeMs: NOW - 2 * MIN }), undefined, { stableWindowSeconds: 60 }).decision).toBe(
      'acquired',
    );
  });

  it('stability counts from first sight, not from an old lastChangeMs', () => {
    const file = t({ firstSeenMs: NOW - 2 * MIN, lastChangeMs: NOW - 5 * HOUR, mtimeMs: NOW - 5 * HOUR });
    expect(decide(file).decision).toBe('acquiring');
  });

  it('zero size is never done by the newer-file, old-file or stable rules', () => {
    const empty = t({
      size: 0,
      lastChangeMs: NOW - 5 * HOUR,
      firstSeenMs: NOW - 6 * HOUR,
      mtimeMs: NOW - 6 * HOUR,
    });
    const newer = t({ name: 'b.raw', mtimeMs: NOW });
    const r = decide(empty, [empty, newer], { emptyFileTimeoutSeconds: 24 * 3600 });
    expect(r).toEqual({
      decision: 'acquiring',
      reason: 'empty (0 bytes): waiting for data (gives up after 24 h without change)',
    });
  });

  it('still empty and unchanged for empty_file_timeout_seconds → acquisition_failed', () => {
    const empty = t({ size: 0, firstSeenMs: NOW - 2 * HOUR, lastChangeMs: NOW - 2 * HOUR });
    const r = decide(empty);
    expect(r.decision).toBe('acquisition_failed');
    expect(r.reason).toMatch(
      /^still empty \(0 bytes\) and unchanged after 2 h \(empty_file_timeout_seconds 3600\)/,
    );
    // one second short: still waiting; a change (touch) restarts the count
    expect(
      decide(t({ size: 0, firstSeenMs: NOW - HOUR + 1000, lastChangeMs: NOW - HOUR + 1000 })).decision,
    ).toBe('acquiring');
    expect(decide(t({ size: 0, firstSeenMs: NOW - 2 * HOUR, lastChangeMs: NOW - MIN })).decision).toBe(
      'acquiring',
    );
    expect(decide(empty, undefined, { emptyFileTimeoutSeconds: 3 * 3600 }).decision).toBe('acquiring');
  });

  it('zero size still ends by age or by the main-file timeout', () => {
    const oldEmpty = t({ size: 0, mtimeMs: NOW - 50 * HOUR });
    expect(decide(oldEmpty, undefined, { maxFileAgeHours: 48 }).decision).toBe('ignored');
    const emptyFolder = t({ name: 'x.d', size: 0, mainFilePresent: false, firstSeenMs: NOW - 2 * HOUR });
    expect(decide(emptyFolder).decision).toBe('acquisition_failed');
  });

  it('thermo _CORRUPTED → acquisition_failed, even when empty or stable', () => {
    const r = decide(t({ name: 'a_CORRUPTED.raw', corrupted: true, size: 0, lastChangeMs: NOW - HOUR }));
    expect(r.decision).toBe('acquisition_failed');
    expect(r.reason).toMatch(/_CORRUPTED/);
  });

  it('older than maxFileAgeHours → ignored; null switches it off', () => {
    const old = t({ mtimeMs: NOW - 49 * HOUR, lastChangeMs: NOW - 30 * MIN });
    const r = decide(old, undefined, { maxFileAgeHours: 48 });
    expect(r.decision).toBe('ignored');
    expect(r.reason).toBe('last modified 49 h ago, older than max_file_age_hours (48 h)');
    expect(decide(old, undefined, { maxFileAgeHours: null }).decision).toBe('acquired');
    expect(decide(t({ mtimeMs: NOW - 47 * HOUR }), undefined, { maxFileAgeHours: 48 }).decision).not.toBe(
      'ignored',
    );
  });

  it('age beats corruption (history is not alarmed on)', () => {
    const r = decide(t({ corrupted: true, mtimeMs: NOW - 100 * HOUR }), undefined, { maxFileAgeHours: 48 });
    expect(r.decision).toBe('ignored');
  });

  it('main file missing: acquiring within the timeout, failed after it, not rescued by other rules', () => {
    const waiting = t({
      name: 'x.d',
      mainFilePresent: false,
      firstSeenMs: NOW - 30 * MIN,
      lastChangeMs: NOW - HOUR,
    });
    const newer = t({ name: 'y.d', mtimeMs: NOW });
    const r1 = decide(waiting, [waiting, newer]);
    expect(r1.decision).toBe('acquiring');
    expect(r1.reason).toBe('waiting for main file analysis.tdf_bin (folder seen 30 min ago, timeout 60 min)');
    const late = { ...waiting, firstSeenMs: NOW - 61 * MIN };
    const r2 = decide(late, [late, newer]);
    expect(r2.decision).toBe('acquisition_failed');
    expect(r2.reason).toMatch(/analysis\.tdf_bin still missing 61 min after .*timeout 60 min/);
    expect(decide(late, [late], { mainFileTimeoutSeconds: 7200 }).decision).toBe('acquiring');
  });

  it('signalled by the instrument → acquired once unchanged since the previous scan, before the stable window', () => {
    const said = 'the instrument reported the acquisition finished (stream source lims, sequence 7)';
    expect(decide(t({ signalled: said }))).toEqual({ decision: 'acquired', reason: said });
    // changed in this very scan, or first seen now: one more scan first
    for (const over of [{ lastChangeMs: NOW }, { firstSeenMs: NOW, lastChangeMs: NOW }]) {
      const d = decide(t({ signalled: said, ...over }));
      expect(d.decision).toBe('acquiring');
      expect(d.reason).toContain('waiting for one scan without change');
    }
    // a signal does not finish what has no data, nor a folder without its main file
    expect(decide(t({ signalled: said, size: 0 })).decision).toBe('acquiring');
    expect(decide(t({ signalled: said, mainFilePresent: false })).decision).toBe('acquiring');
    expect(decide(t({ signalled: said, corrupted: true })).decision).toBe('acquisition_failed');
  });

  it('a newer non-empty raw file → acquired (instruments acquire one at a time)', () => {
    const a = t();
    const b = t({ name: 'b.raw', mtimeMs: NOW - 10_000 });
    const c = t({ name: 'c.raw', mtimeMs: NOW - 5_000 });
    const r = decide(a, [a, b, c]);
    expect(r.decision).toBe('acquired');
    expect(r.reason).toBe('a newer raw file appeared after it (c.raw, modified 55 s later)');
  });

  it('the newer-file rule ignores empty files, older files, itself, and can be switched off', () => {
    const a = t();
    expect(decide(a, [a, t({ name: 'b.raw', size: 0, mtimeMs: NOW })]).decision).toBe('acquiring');
    expect(decide(a, [a, t({ name: 'b.raw', mtimeMs: NOW - HOUR })]).decision).toBe('acquiring');
    expect(decide(a, [a, { ...a }]).decision).toBe('acquiring');
    expect(decide(a, [a, t({ name: 'b.raw', mtimeMs: a.mtimeMs })]).decision).toBe('acquiring'); // same mtime
    expect(decide(a, [a, t({ name: 'b.raw', mtimeMs: NOW })], { newerFileMeansDone: false }).decision).toBe(
      'acquiring',
    );
  });

  it('old-file rule: more than oldFileThresholdHours behind the newest → acquired (newer rule off)', () => {
    const newest = t({ name: 'b.raw', mtimeMs: NOW });
    const old = t({ mtimeMs: NOW - 6 * HOUR });
    const off = { newerFileMeansDone: false };
    const r = decide(old, [old, newest], off);
    expect(r.decision).toBe('acquired');
    expect(r.reason).toBe(
      'modified 6 h before the newest raw file (b.raw); more than 5 h counts as acquired',
    );
    expect(decide(t({ mtimeMs: NOW - 4 * HOUR }), [newest], off).decision).toBe('acquiring');
    expect(decide(old, [old, newest], { ...off, considerOldFilesAcquired: false }).decision).toBe(
      'acquiring',
    );
    expect(decide(old, [old, newest], { ...off, oldFileThresholdHours: 7 }).decision).toBe('acquiring');
  });

  it('a lone old file is not "old" relative to itself; it finishes by stability', () => {
    const lone = t({ mtimeMs: NOW - 100 * HOUR });
    expect(decide(lone, [lone], { newerFileMeansDone: false }).decision).toBe('acquiring');
  });
});

describe('settings and formatting', () => {
  it('acquisitionSettings rejects unusable values with the setting named', () => {
    expect(() => acquisitionSettings({ stableWindowSeconds: -1 })).toThrow(ConfigError);
    expect(() => acquisitionSettings({ oldFileThresholdHours: Number.NaN })).toThrow(/oldFileThresholdHours/);
    expect(() => acquisitionSettings({ maxFileAgeHours: 0 })).toThrow(/maxFileAgeHours.*null/);
    expect(acquisitionSettings({ maxFileAgeHours: 12 }).maxFileAgeHours).toBe(12);
  });
  it('formatDuration', () => {
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(10 * MIN)).toBe('10 min');
    expect(formatDuration(90 * MIN)).toBe('90 min');
    expect(formatDuration(150 * MIN)).toBe('2.5 h');
    expect(formatDuration(30 * HOUR)).toBe('30 h');
    expect(formatDuration(72 * HOUR)).toBe('3 d');
    expect(formatDuration(-5)).toBe('0 s');
  });
});
