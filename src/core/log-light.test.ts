import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Logger } from './log.ts';
import { deferredLogger } from './log-light.ts';

/** A stand-in for pino: records what it is asked, counts how often it is made. */
function fake() {
  const calls: unknown[][] = [];
  let made = 0;
  const logger = (bindings: object): Logger =>
    ({
      level: 'warn',
      warn: (...args: unknown[]) => calls.push(['warn', bindings, ...args]),
      error: (...args: unknown[]) => calls.push(['error', bindings, ...args]),
      child: (more: object) => logger({ ...bindings, ...more }),
    }) as unknown as Logger;
  return {
    calls,
    made: () => made,
    make: () => {
      made++;
      return logger({});
    },
  };
}

describe('deferredLogger', () => {
  it('makes no logger for records below its level, nor for level, isLevelEnabled or child', () => {
    const f = fake();
    const log = deferredLogger(f.make, 'warn');
    log.info({ a: 1 }, 'not written');
    log.debug('nor this');
    const child = log.child({ taskId: 't1' });
    child.info('nor this');
    expect(log.level).toBe('warn');
    expect(log.isLevelEnabled('warn')).toBe(true);
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(f.made()).toBe(0);
    expect(f.calls).toEqual([]);
  });

  it('makes the logger once, at the first record it writes, and passes records on as given', () => {
    const f = fake();
    const log = deferredLogger(f.make, 'warn');
    log.warn({ a: 1 }, 'first');
    log.error('second');
    log.child({ taskId: 't1' }).warn({ b: 2 }, 'third');
    expect(f.made()).toBe(1);
    expect(f.calls).toEqual([
      ['warn', {}, { a: 1 }, 'first'],
      ['error', {}, 'second'],
      ['warn', { taskId: 't1' }, { b: 2 }, 'third'],
    ]);
  });
});

describe('lightLogger', () => {
  it('writes what createLogger writes (pino JSON on stderr) once a record is at its level', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const script = `import { lightLogger } from './src/core/log-light.ts';
const log = lightLogger({ level: 'warn' });
log.info('not written');
log.child({ fileId: 'f1' }).warn({ attempt: 2 }, 'written');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, VITEST: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 40,
      name: 'sluice',
      pid: expect.any(Number),
      fileId: 'f1',
      attempt: 2,
      msg: 'written',
    });
  });
});
