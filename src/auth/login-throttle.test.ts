import { describe, expect, it } from 'vitest';
import {
  FORGET_AFTER_MS,
  FREE_FAILURES,
  FREE_FAILURES_PER_ADDRESS,
  LoginThrottle,
  MAX_WAIT_S,
} from './login-throttle.ts';

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

describe('LoginThrottle per address', () => {
  it('allows more failures before the first wait, and forgets an hour after the last failure', () => {
    let now = 1_000_000;
    const t = new LoginThrottle(() => now, FREE_FAILURES_PER_ADDRESS);
    for (let i = 0; i < FREE_FAILURES_PER_ADDRESS; i++) {
      expect(t.waitSeconds('10.0.0.7')).toBe(0);
      t.failed('10.0.0.7');
    }
    expect(t.waitSeconds('10.0.0.7')).toBe(1);
    for (let i = 0; i < 5; i++) t.failed('10.0.0.7');
    expect(t.waitSeconds('10.0.0.7')).toBe(32);
    now += FORGET_AFTER_MS + 1;
    expect(t.waitSeconds('10.0.0.7')).toBe(0);
    t.failed('10.0.0.7'); // counts from 1 again, no wait
    expect(t.waitSeconds('10.0.0.7')).toBe(0);
  });
});
