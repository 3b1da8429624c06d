/** `slotWaitMs`: the fallback wait of a submit without a cluster slot (woken earlier by a poll). */
import { describe, expect, it } from 'vitest';
import { slotWaitMs } from './slots.ts';

describe('slotWaitMs', () => {
  it('is one poll period, but never under 5 s', () => {
    expect(slotWaitMs(1)).toBe(5000);
    expect(slotWaitMs(0.3)).toBe(5000);
    expect(slotWaitMs(5)).toBe(5000);
    expect(slotWaitMs(30)).toBe(30_000);
  });
});
