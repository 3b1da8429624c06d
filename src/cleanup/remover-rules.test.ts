import { describe, expect, it } from 'vitest';
import type { Config } from '../core/config/index.ts';
import { FALLBACK_KEEPS_DATA } from '../core/instance.ts';
import { failureKind, GB, passRefusal, spaceEnough, stopsPass } from './remover-rules.ts';

function config(
  o: { enabled?: boolean; environment?: string; outside?: boolean; mode?: string } = {},
): Config {
  return {
    environment: o.environment ?? 'production',
    instance: { mode: o.mode ?? 'main' },
    cleanup: { allow_outside_production: o.outside ?? false },
    instruments: { astral1: { cleanup: { enabled: o.enabled ?? true } } },
  } as unknown as Config;
}

describe('whether a remover pass runs', () => {
  it('runs for an enabled instrument in production', () => {
    expect(passRefusal(config(), 'astral1')).toBeUndefined();
  });
  it('refuses an unknown or disabled instrument, a fallback instance, and outside production', () => {
    expect(passRefusal(config(), 'tims2')).toBe("no instrument 'tims2' in the config");
    // a name every object inherits is no instrument either (it passed, then its cleanup read threw)
    for (const name of ['constructor', 'toString', '__proto__'])
      expect(passRefusal(config(), name)).toBe(`no instrument '${name}' in the config`);
    expect(passRefusal(config({ enabled: false }), 'astral1')).toContain(
      'cleanup is not enabled for astral1',
    );
    expect(passRefusal(config({ mode: 'fallback' }), 'astral1')).toBe(FALLBACK_KEEPS_DATA);
    expect(passRefusal(config({ environment: 'test' }), 'astral1')).toContain("environment is 'test'");
    expect(passRefusal(config({ environment: 'test', outside: true }), 'astral1')).toBeUndefined();
  });
});

describe('when the remover stops', () => {
  it('stops once the free space reaches min_free_space_gb, unless forced', () => {
    expect(spaceEnough(10 * GB, 10, false)).toBe(true);
    expect(spaceEnough(10 * GB - 1, 10, false)).toBe(false);
    expect(spaceEnough(50 * GB, 10, true)).toBe(false);
  });
  it('stops at once on a read-only file system, on the third permission error, never on others', () => {
    expect(failureKind('EROFS')).toBe('read-only');
    expect(failureKind('EPERM')).toBe('permission');
    expect(failureKind('EACCES')).toBe('permission');
    expect(failureKind('EIO')).toBe('other');
    expect(failureKind(undefined)).toBe('other');
    expect(stopsPass('read-only', 0)).toBe(true);
    expect(stopsPass('permission', 2)).toBe(false);
    expect(stopsPass('permission', 3)).toBe(true);
    expect(stopsPass('other', 9)).toBe(false);
  });
});
