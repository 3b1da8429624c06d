import { describe, expect, it } from 'vitest';
import { wakeTimers } from './wake-timers.ts';

describe('wakeTimers', () => {
  it('runs a wake when it is due', async () => {
    const timers = wakeTimers(new AbortController().signal);
    const fired = new Promise<string>((resolve) => timers.later(5, () => resolve('woken')));
    expect(timers.pending()).toBe(1);
    expect(await fired).toBe('woken');
    expect(timers.pending()).toBe(0);
  });

  it('clears every pending wake when stopped, and adds none after', () => {
    const stop = new AbortController();
    const timers = wakeTimers(stop.signal);
    let runs = 0;
    timers.later(60_000, () => runs++);
    timers.later(120_000, () => runs++);
    expect(timers.pending()).toBe(2);
    stop.abort();
    expect(timers.pending()).toBe(0);
    timers.later(1, () => runs++);
    expect(timers.pending()).toBe(0);
    expect(runs).toBe(0);
  });
});
