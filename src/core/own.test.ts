import { describe, expect, it } from 'vitest';
import { ownEntry } from './own.ts';

describe('ownEntry', () => {
  const record: Record<string, { n: number }> = { astral1: { n: 1 } };

  it('gives the entry of an own key', () => {
    expect(ownEntry(record, 'astral1')).toEqual({ n: 1 });
  });

  it('gives nothing for a name every object inherits, as for any unknown name', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'nope'])
      expect(ownEntry(record, name), name).toBeUndefined();
    // the plain lookup this replaces answers them with inherited values
    expect(record.constructor).toBeDefined();
  });

  it('gives an own entry even when its name is also inherited', () => {
    const odd: Record<string, string> = Object.fromEntries([['constructor', 'an instrument id']]);
    expect(ownEntry(odd, 'constructor')).toBe('an instrument id');
  });

  it('works on a record without a prototype', () => {
    const bare: Record<string, number> = Object.assign(Object.create(null), { a: 1 });
    expect(ownEntry(bare, 'a')).toBe(1);
    expect(ownEntry(bare, 'toString')).toBeUndefined();
  });
});
