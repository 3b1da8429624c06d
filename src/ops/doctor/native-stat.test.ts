/** Doctor's `native stat helper` row: says which path scans use and why, never a warning. */
import { describe, expect, it } from 'vitest';
import { checkNativeStat } from './native-stat.ts';

describe('checkNativeStat', () => {
  it('says the helper is not built, and that scans use the pure-Node path, in an ok row', () => {
    expect(
      checkNativeStat({
        loaded: false,
        detail: 'not built: no C compiler (cc not found): scans use the slower pure-Node path',
      }),
    ).toEqual({
      check: 'native stat helper',
      target: 'scans',
      status: 'ok',
      detail: 'not built: no C compiler (cc not found): scans use the slower pure-Node path',
    });
  });

  it("reports this machine's helper", () => {
    expect(checkNativeStat().detail).toMatch(/^loaded \(.*stat-many\.node\)$|pure-Node path$/);
  });
});
