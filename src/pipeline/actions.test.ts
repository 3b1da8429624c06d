/** The retry decision (planRetry): what a retry of a file does, from its record alone. */
import { describe, expect, it } from 'vitest';
import type { FileRow } from '../files/repo.ts';
import { planRetry } from './actions.ts';

const file = (over: Partial<FileRow> = {}) =>
  ({
    id: 'a.raw',
    status: 'error',
    status_reason: null,
    instrument_id: 'astral1',
    instrument_copy: 'present',
    current_path: '/watch/a.raw',
    ...over,
  }) as FileRow;

describe('planRetry', () => {
  it('refuses a file whose work is under way, whatever else holds', () => {
    for (const status of ['discovered', 'acquiring', 'backing_up', 'processing'] as const) {
      const p = planRetry(file({ status }), true, true);
      expect(p.kind).toBe('refuse');
      expect(p.kind === 'refuse' && p.error.message).toBe(`file a.raw is ${status}: work on it is under way`);
    }
  });

  it('refuses a lost file even with a verified copy (the copy is of no use to it)', () => {
    const p = planRetry(file({ status: 'lost', status_reason: 'replaced' }), true, true);
    expect(p.kind === 'refuse' && p.error.message).toBe('file a.raw is lost: replaced');
  });

  it('runs processing again when a verified backup exists, even for an instrument gone from the config', () => {
    expect(planRetry(file({ status: 'processing_failed' }), true, false)).toEqual({
      kind: 'rerun_processing',
    });
    expect(planRetry(file({ instrument_copy: 'purged' }), true, true)).toEqual({ kind: 'rerun_processing' });
  });

  it('backs up again only when the instrument is known and its copy is whole', () => {
    expect(planRetry(file(), false, true)).toEqual({ kind: 'backup_again' });
    expect(planRetry(file(), false, false).kind).toBe('refuse');
    for (const instrument_copy of ['removing', 'purged', 'missing'] as const) {
      const p = planRetry(file({ instrument_copy }), false, true);
      expect(p.kind).toBe('refuse');
    }
    const missing = planRetry(file({ instrument_copy: 'missing' }), false, true);
    expect(missing.kind === 'refuse' && missing.error.hint).toMatch(
      /put it back in the watch folder unchanged/,
    );
  });
});
