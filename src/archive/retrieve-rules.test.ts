/** The retrieval decisions (retrieve-rules.ts): coalescing, restore header, next step, member names. */
import { describe, expect, it } from 'vitest';
import {
  expiryOf,
  joinOrStart,
  memberTarget,
  nextFetchStep,
  parseRestoreHeader,
  restorePollMs,
  roomProblem,
} from './retrieve-rules.ts';

const now = new Date('2026-12-07T04:00:00Z');

describe('joinOrStart', () => {
  it('joins a fetch under way, extends a verified one, starts one otherwise', () => {
    expect(joinOrStart(undefined)).toBe('start');
    for (const state of ['requested', 'restoring', 'downloading'] as const)
      expect(joinOrStart({ id: '1', state, expires_at: null })).toBe('join');
    expect(joinOrStart({ id: '1', state: 'verified', expires_at: now })).toBe('extend');
    expect(joinOrStart({ id: '1', state: 'failed', expires_at: null })).toBe('start');
    expect(joinOrStart({ id: '1', state: 'expired', expires_at: null })).toBe('start');
  });
});

describe('parseRestoreHeader', () => {
  it('reads S3 x-amz-restore', () => {
    expect(parseRestoreHeader(undefined)).toEqual({ state: 'none' });
    expect(parseRestoreHeader('ongoing-request="true"')).toEqual({ state: 'ongoing' });
    expect(
      parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'),
    ).toEqual({
      state: 'ready',
      expiry: new Date('2012-12-21T00:00:00Z'),
    });
    expect(parseRestoreHeader('ongoing-request="false"')).toEqual({ state: 'ready' });
    expect(parseRestoreHeader('garbage')).toEqual({ state: 'none' });
  });
});

describe('nextFetchStep', () => {
  it('downloads a warm archive at once, asks for and waits on a cold one', () => {
    expect(nextFetchStep('requested', false, undefined)).toEqual({ do: 'download' });
    expect(nextFetchStep('requested', true, { state: 'none' })).toEqual({ do: 'ask-restore' });
    expect(nextFetchStep('restoring', true, { state: 'ongoing' })).toEqual({ do: 'wait-restore' });
    expect(nextFetchStep('restoring', true, { state: 'ready' })).toEqual({ do: 'download' });
    // restored, then expired again before the download: ask again
    expect(nextFetchStep('downloading', true, { state: 'none' })).toEqual({ do: 'ask-restore' });
    expect(nextFetchStep('verified', true, { state: 'none' })).toEqual({ do: 'done' });
  });
});

describe('memberTarget', () => {
  it('keeps members inside the retrieval area', () => {
    expect(memberTarget('/r/1', 'set/a/b.raw')).toEqual({ path: '/r/1/set/a/b.raw' });
    expect(memberTarget('/r/1', './set/x')).toEqual({ path: '/r/1/set/x' });
    expect(memberTarget('/r/1', '../x')).toHaveProperty('refused');
    expect(memberTarget('/r/1', 'a/../../x')).toHaveProperty('refused');
    expect(memberTarget('/r/1', '/etc/passwd')).toHaveProperty('refused');
    expect(memberTarget('/r/1', 'a\0b')).toHaveProperty('refused');
  });
});

describe('times', () => {
  it('expiry and restore polling', () => {
    expect(expiryOf(now, 2).toISOString()).toBe('2026-12-07T06:00:00.000Z');
    expect(restorePollMs(0, 1000, 60_000)).toBe(1000);
    expect(restorePollMs(3, 1000, 60_000)).toBe(8000);
    expect(restorePollMs(30, 1000, 60_000)).toBe(60_000);
  });
});

describe('roomProblem', () => {
  it('lets a download through when its bytes and the reserve fit, names path, need and free otherwise', () => {
    expect(roomProblem('/r', 100, 1100, 1000)).toBeUndefined();
    expect(roomProblem('/r', 101, 1100, 1000)).toBe(
      'retrieval area /r: needs 101 bytes (and 1000 kept free), 1100 free',
    );
  });
});
