/** The defaults of a worker's options. */
import { describe, expect, it } from 'vitest';
import { workerSettings } from './worker-options.ts';

describe('workerSettings', () => {
  it('fills in the defaults, the heartbeat a quarter of the lease', () => {
    expect(workerSettings({})).toMatchObject({
      tags: [],
      concurrency: 8,
      leaseMs: 60_000,
      heartbeatMs: 15_000,
      role: 'worker',
      maxStuck: 8,
      stallMs: undefined,
    });
    expect(workerSettings({ leaseMs: 2000 }).heartbeatMs).toBe(500);
  });

  it('keeps what the caller gave, zero included', () => {
    const s = workerSettings({ leaseMs: 2000, heartbeatMs: 100, scheduleTickMs: 0, tags: ['a'], stallMs: 5 });
    expect(s).toMatchObject({ heartbeatMs: 100, scheduleTickMs: 0, tags: ['a'], stallMs: 5 });
  });
});
