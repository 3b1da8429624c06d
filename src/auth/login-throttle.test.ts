import { describe, expect, it } from 'vitest';
import { FREE_FAILURES, LoginThrottle, MAX_WAIT_S } from './login-throttle.ts';

describe('LoginThrottle', () => {
  it('lets the first failures through, then doubles the wait, capped, and forgets on success', () => {
    let now = 1_000_000;
    const t = new LoginThrottle(() => now);
    for (let i = 0; i < FREE_FAILURES; i++) {
      expect(t.waitSeconds('Admin')).toBe(0);
      t.failed('admin');
    }
    expect(t.waitSeconds('admin')).toBe(1);
    now += 1000;
    expect(t.waitSeconds('ADMIN ')).toBe(0); // names compare case- and space-insensitively
    t.failed('admin');
    expect(t.waitSeconds('admin')).toBe(2);
    for (let i = 0; i < 20; i++) t.failed('admin');
    expect(t.waitSeconds('admin')).toBe(MAX_WAIT_S);
    expect(t.waitSeconds('viewer')).toBe(0); // other users are not affected
    t.succeeded('admin');
    expect(t.waitSeconds('admin')).toBe(0);
  });
});
