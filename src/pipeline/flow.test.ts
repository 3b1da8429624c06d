/** What follows a verified backup, decided (flow.ts `afterBackup`). */
import { describe, expect, it } from 'vitest';
import type { Config } from '../core/config/index.ts';
import { afterBackup } from './flow.ts';

function config(mode: 'main' | 'fallback', moveAfterBackup: boolean) {
  return {
    instance: { mode },
    instruments: { a1: { move_after_backup: moveAfterBackup } },
  } as unknown as Pick<Config, 'instruments' | 'instance'>;
}

const file = (instrument_copy: 'present' | 'moved' | 'missing' = 'present', instrument_id = 'a1') => ({
  instrument_id,
  instrument_copy,
});

describe('afterBackup', () => {
  it('plans processing, or keeps the status processing had ended in', () => {
    expect(afterBackup(config('main', false), file(), undefined)).toEqual({
      processing: 'plan',
      move: 'none',
    });
    expect(afterBackup(config('main', false), file(), 'done').processing).toBe('keep');
  });

  it('moves the instrument copy only when asked and still present, never on a fallback instance', () => {
    expect(afterBackup(config('main', true), file(), undefined).move).toBe('enqueue');
    expect(afterBackup(config('main', true), file('moved'), undefined).move).toBe('none');
    expect(afterBackup(config('main', true), file('missing'), 'done').move).toBe('none');
    expect(afterBackup(config('fallback', true), file(), undefined).move).toBe('refuse');
    expect(afterBackup(config('fallback', false), file(), undefined).move).toBe('none');
    expect(afterBackup(config('main', true), file('present', 'gone'), undefined).move).toBe('none');
  });
});
