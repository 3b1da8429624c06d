import { describe, expect, it } from 'vitest';
import { KEEPS_DYING, reachFailure, restartDelayMs } from './embedded.ts';

describe('embedded PostgreSQL decisions', () => {
  it('tells a server with other credentials from one that is not (yet) there', () => {
    expect(reachFailure({ code: '28P01' })).toBe('auth'); // password authentication failed
    expect(reachFailure({ code: '28000' })).toBe('auth'); // no such role
    expect(reachFailure({ code: '57P03' })).toBe('unavailable'); // starting up / shutting down
    expect(reachFailure({ code: 'ECONNREFUSED' })).toBe('unavailable');
    expect(reachFailure(new Error('Connection terminated unexpectedly'))).toBe('unavailable');
    expect(reachFailure(undefined)).toBe('unavailable');
  });

  it('restarts a dead server after 1 s, doubling to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(restartDelayMs)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(KEEPS_DYING.restarts).toBeGreaterThan(1);
  });
});
