/** The pure decisions of doctor's checks, on small real cases. */
import { describe, expect, it } from 'vitest';
import { judgeClockSkew } from './clock-skew.ts';
import { judgeBackupAge } from './db-backups.ts';
import { judgeFreeSpace } from './free-space.ts';
import { judgeMount } from './mount.ts';
import { judgeSecretMode } from './secret-file.ts';
import { judgeWorkerTags } from './worker-tags.ts';

const HOUR = 3_600_000;

describe('doctor decisions', () => {
  it('clock skew: ok up to 2 s, warn up to 30 s, fail beyond, either direction', () => {
    expect(judgeClockSkew(1.5, 3).status).toBe('ok');
    expect(judgeClockSkew(-5, 3)).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('behind'),
    });
    expect(judgeClockSkew(31, 3)).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ahead of'),
    });
  });

  it('free space: below the minimum warns, unless cleanup is off', () => {
    const space = { freeBytes: 5e9, totalBytes: 100e9 };
    expect(judgeFreeSpace('i: /w', space, 10, 'min_free_space_gb', true)).toMatchObject({
      status: 'warn',
      detail: '5.0 GB free of 100.0 GB (min_free_space_gb 10 GB): below the minimum',
    });
    expect(judgeFreeSpace('i: /w', space, 4, 'min_free_space_gb', true).status).toBe('ok');
    expect(judgeFreeSpace('i: /w', space, 10, 'min_free_space_gb', false).detail).toContain(
      'cleanup disabled',
    );
  });

  it('mount: a missing mount warns, fails when required', () => {
    expect(judgeMount('i', '/w', true, true).status).toBe('ok');
    expect(judgeMount('i', '/w', false, false).status).toBe('warn');
    expect(judgeMount('i', '/w', false, true).status).toBe('fail');
  });

  it('secret file: others may not read it; the group may', () => {
    expect(judgeSecretMode('/s', 0o100644)).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('644'),
    });
    expect(judgeSecretMode('/s', 0o100640)).toMatchObject({
      status: 'ok',
      detail: 'mode 640 (group may read it)',
    });
    expect(judgeSecretMode('/s', 0o100600)).toMatchObject({ status: 'ok', detail: 'mode 600' });
  });

  it('worker tags: no worker warns, workers without the tags fail, a carrier serves', () => {
    const tagged: [string, { tags: string[]; watch: string }][] = [['ms1', { tags: ['lab'], watch: '/w' }]];
    expect(judgeWorkerTags(tagged, [])[0]?.status).toBe('warn');
    expect(judgeWorkerTags(tagged, [{ id: 'w1', host: 'a', tags: ['other'] }])[0]?.status).toBe('fail');
    expect(judgeWorkerTags(tagged, [{ id: 'w1', host: 'a', tags: ['lab', 'x'] }])[0]).toMatchObject({
      status: 'ok',
      detail: 'served by w1 on a',
    });
  });

  it('db backup age: a failed last run fails, an old or missing backup warns, a recent one is ok', () => {
    const s = { name: 'nightly', cron: '0 3 * * *', enabled: true, tags: [] };
    const now = Date.parse('2026-12-06T12:00:00Z');
    const facts = { run: undefined, now, period: 24 * HOUR };
    expect(judgeBackupAge(s, 't', { ...facts, newest: new Date(now - 2 * HOUR) }).status).toBe('ok');
    expect(judgeBackupAge(s, 't', { ...facts, newest: new Date(now - 49 * HOUR) }).status).toBe('warn');
    expect(judgeBackupAge(s, 't', { ...facts, newest: undefined }).detail).toContain('no backup yet');
    const run = { strategy: 'nightly', state: 'failed', at: new Date(now - HOUR), reason: 'disk full' };
    expect(judgeBackupAge(s, 't', { ...facts, run, newest: new Date(now) })).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('disk full'),
    });
    expect(judgeBackupAge({ ...s, enabled: false }, 't', { ...facts, newest: undefined }).status).toBe('ok');
  });
});
