import { describe, expect, it } from 'vitest';
import { describeFault, offlineError } from './offline.ts';

describe('offlineError', () => {
  it('names the folder and says what to check, per error code', () => {
    expect(offlineError('/x', { code: 'EACCES' }).message).toBe(
      'watch folder /x is not readable by this process (permission denied)',
    );
    const io = offlineError('/x', { code: 'EIO', message: 'i/o error' });
    expect(io.message).toBe('watch folder /x is unreachable (EIO: i/o error)');
    expect(io.hint).toMatch(/disconnected/);
    expect(offlineError('/x', { code: 'EHOSTDOWN', message: 'm' }).code).toBe('intake.offline');
  });
  it('ENOENT, ENOTDIR and timeouts say what to check', () => {
    const e = offlineError('/mnt/astral1', { code: 'ENOENT' });
    expect(e.message).toBe('watch folder /mnt/astral1 does not exist (is the share mounted?)');
    expect(e.status).toBe(503);
    expect(offlineError('/x', { code: 'ENOTDIR' }).message).toBe('watch folder /x is not a folder');
    expect(offlineError('/x', { code: 'ETIMEDOUT', message: 'no answer within 60 s' }).hint).toMatch(/hung/);
    expect(offlineError('/x', {}).message).toBe('watch folder /x is unreachable (EUNKNOWN: unknown error)');
  });
  it('describeFault names the entry', () => {
    expect(describeFault({ code: 'EACCES', message: 'x', path: '/w/a.d' })).toBe(
      'cannot read /w/a.d: permission denied; grant this process read access',
    );
    expect(describeFault({ code: 'ELOOP', message: 'too many links', path: '/w/b.d' })).toBe(
      'cannot read /w/b.d: too many links',
    );
  });
});
