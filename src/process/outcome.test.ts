import { describe, expect, it } from 'vitest';
import { type JobIdentity, newManifest } from './job-manifest.ts';
import {
  classifyJob,
  judgeExistingOutput,
  pollStep,
  repollDelayMs,
  resubmitLost,
  settlement,
} from './outcome.ts';

const id: JobIdentity = { key: 'k1', file_id: 'f.raw', settings: { name: 'dia', version: 2, hash: 'abc' } };

describe('what an existing output folder means for the job about to be submitted', () => {
  it('associates a successful run of this very job', () => {
    const m = newManifest(id, 'main', { status: 'success', job_id: '77' });
    expect(judgeExistingOutput({ manifest: m }, id, true)).toEqual({ associate: m });
  });
  it('refuses a manifest of another job, a failed run, or an unreadable one', () => {
    const other = newManifest({ ...id, key: 'k2' }, 'main', { status: 'success' });
    expect(judgeExistingOutput({ manifest: other }, id, true)).toMatchObject({
      notThisJob: expect.stringContaining('belongs to job k2'),
    });
    const failed = newManifest(id, 'main', { status: 'failed', reason: 'boom' });
    expect(judgeExistingOutput({ manifest: failed }, id, true)).toMatchObject({
      notThisJob: expect.stringContaining('a failed run of this job'),
    });
    expect(judgeExistingOutput({ invalid: 'bad json' }, id, false)).toEqual({
      notThisJob: 'bad json',
      preparedOnly: false,
    });
  });
  it('sees a folder prepared for this job that never started (no key file)', () => {
    const m = newManifest(id, 'main', { status: 'submitted' });
    expect(judgeExistingOutput({ manifest: m }, id, false)).toEqual({
      notThisJob: undefined,
      preparedOnly: true,
    });
    expect(judgeExistingOutput({ manifest: m }, id, true)).toEqual({
      notThisJob: undefined,
      preparedOnly: false,
    });
    expect(judgeExistingOutput(undefined, id, false)).toEqual({ notThisJob: undefined, preparedOnly: false });
  });
});

describe('what a poll answer means for a job', () => {
  it('re-checks an unknown job until lost_after_checks, then calls it lost', () => {
    expect(pollStep({ state: 'RUNNING', unknown_checks: 0 }, 'UNKNOWN', 3)).toBe('recheck');
    expect(pollStep({ state: 'RUNNING', unknown_checks: 1 }, 'UNKNOWN', 3)).toBe('recheck');
    expect(pollStep({ state: 'RUNNING', unknown_checks: 2 }, 'UNKNOWN', 3)).toBe('lost');
  });
  it('records final states, changes and a job known again; leaves the rest', () => {
    expect(pollStep({ state: 'RUNNING', unknown_checks: 0 }, 'TIMEOUT', 3)).toBe('final');
    expect(pollStep({ state: 'PENDING', unknown_checks: 0 }, 'RUNNING', 3)).toBe('progress');
    expect(pollStep({ state: 'RUNNING', unknown_checks: 1 }, 'RUNNING', 3)).toBe('progress');
    expect(pollStep({ state: 'RUNNING', unknown_checks: 0 }, 'RUNNING', 3)).toBe('unchanged');
  });
  it('resubmits a lost job once, and only under lost_job_policy resubmit', () => {
    expect(resubmitLost('resubmit', 1)).toBe(true);
    expect(resubmitLost('resubmit', 2)).toBe(false);
    expect(resubmitLost('error', 1)).toBe(false);
  });
});

describe('how a final job is classified', () => {
  const settings = {
    resources: { time_minutes: 60, memory_mb: 4000 },
    known_errors: [{ pattern: '^License expired', reason: 'the licence expired' }],
  } as never;
  const job = { cancel_requested_by: null, file_id: 'f.raw' };
  it('names the limit a job exceeded and who cancelled it', () => {
    expect(classifyJob(settings, job, { jobId: '1', state: 'TIMEOUT' }, '')).toEqual({
      outcome: 'known_error',
      reason: 'the job exceeded its time limit of 60 min; raise resources.time_minutes',
    });
    expect(
      classifyJob(settings, { ...job, cancel_requested_by: 'ana' }, { jobId: '1', state: 'CANCELLED' }, ''),
    ).toEqual({ outcome: 'known_error', reason: 'cancelled by ana' });
    expect(
      classifyJob(settings, job, { jobId: '1', state: 'COMPLETED', elapsedSeconds: 9 }, '').outcome,
    ).toBe('success');
  });
  it('matches known error patterns in the log tail, else an unknown error', () => {
    const failed = { jobId: '1', state: 'FAILED' as const, exitCode: 3 };
    expect(classifyJob(settings, job, failed, 'x\nLicense expired\n')).toEqual({
      outcome: 'known_error',
      reason: 'the licence expired',
    });
    expect(classifyJob(settings, job, failed, 'segfault').outcome).toBe('unknown_error');
  });
});

describe('what a file becomes once its jobs are final', () => {
  const ok = { state: 'COMPLETED', outcome: 'success' as const, settings_name: 'dia', reason: null };
  it('waits for active jobs and for any job at all', () => {
    expect(settlement([])).toBeUndefined();
    expect(settlement([ok, { ...ok, state: 'RUNNING', outcome: null }])).toBeUndefined();
  });
  it('is done when all succeeded; processing_failed or error otherwise', () => {
    expect(settlement([ok, { ...ok, settings_name: 'dda' }])).toEqual({
      to: 'done',
      reason: 'dia, dda completed',
    });
    const known = {
      ...ok,
      state: 'TIMEOUT',
      outcome: 'known_error' as const,
      settings_name: 'dda',
      reason: 'slow',
    };
    expect(settlement([ok, known])).toEqual({ to: 'processing_failed', reason: 'dda: slow' });
    expect(
      settlement([known, { ...known, settings_name: 'x', outcome: 'unknown_error' as const, reason: '?' }]),
    ).toEqual({
      to: 'error',
      reason: 'dda: slow; x: ?',
    });
  });
});

describe('repollDelayMs', () => {
  const r = { scheduled: true, active: 3, periodMs: 1000, elapsedMs: 250 };
  it('keeps the pace: one period after the round started, at once when the round took longer', () => {
    expect(repollDelayMs(r)).toBe(750);
    expect(repollDelayMs({ ...r, elapsedMs: 1000 })).toBe(0);
    expect(repollDelayMs({ ...r, elapsedMs: 4000 })).toBe(0);
  });
  it('leaves it to the schedule when no job is active or the poll was only a hint', () => {
    expect(repollDelayMs({ ...r, active: 0 })).toBeUndefined();
    expect(repollDelayMs({ ...r, scheduled: false })).toBeUndefined();
  });
});
