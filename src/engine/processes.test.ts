import { describe, expect, it } from 'vitest';
import { hostIdentity, judgeSibling, parseProcStart, procStart } from './processes.ts';
import { describeTakeover } from './types.ts';

const here = { host: 'h1', bootId: 'boot-a', pidNs: 'pid:[4026531836]' };
const row = {
  id: 'w',
  host: 'h1',
  pid: 4242,
  proc_start: '1000',
  boot_id: 'boot-a',
  pid_ns: 'pid:[4026531836]',
};

describe('judging a worker of the same host', () => {
  it('is dead when its pid is gone, or names a process started at another time', () => {
    expect(judgeSibling(row, here, null)).toMatchObject({
      verdict: 'dead',
      why: 'process 4242 on h1 is gone',
    });
    expect(judgeSibling(row, here, '2000')).toMatchObject({ verdict: 'dead' });
    expect(judgeSibling(row, here, '2000').why).toMatch(/another process/);
    expect(judgeSibling(row, here, '1000')).toEqual({ verdict: 'alive' });
  });

  it('judges nothing across hosts, boots, pid namespaces, or without a recorded start time', () => {
    for (const r of [
      { ...row, host: 'h2' },
      { ...row, boot_id: 'boot-b' }, // the host rebooted, or another machine with the same name
      { ...row, pid_ns: 'pid:[4026532000]' }, // another container on this host
      { ...row, proc_start: null }, // registered by an older version
    ])
      expect(judgeSibling(r, here, null)).toEqual({ verdict: 'unknown' });
    expect(judgeSibling(row, { ...here, bootId: null }, null)).toEqual({ verdict: 'unknown' });
  });

  it('reads the start time after the command name, whatever that holds', () => {
    const rest = 'S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21';
    expect(parseProcStart(`12 (node) ${rest}`)).toBe('987654');
    expect(parseProcStart(`12 (a) b (c) ${rest}`)).toBe('987654');
    expect(parseProcStart('garbage')).toBeNull();
    expect(procStart(process.pid)).toMatch(/^\d+$/);
    expect(procStart(2 ** 22 + 1)).toBeNull();
    expect(hostIdentity().bootId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('describes a takeover for the timeline', () => {
    const t = {
      attempt: 2,
      worker: 'w1',
      by: 'w2',
      death: 'process 1 on h1 is gone; found by w2',
      lease_expired_at: null,
      last_heartbeat_at: null,
    };
    expect(describeTakeover({ ...t, cause: 'worker_died' })).toBe(
      'attempt 2 on w1 was cut short (its worker died: process 1 on h1 is gone; found by w2); taken over by w2',
    );
    expect(describeTakeover({ ...t, cause: 'lease_expired' })).toMatch(/its lease expired/);
  });
});
