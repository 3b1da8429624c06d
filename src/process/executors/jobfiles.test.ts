/**
 * `readLogTails` (through SlurmExecutor.logTails on this machine's shell): many logs with one
 * command, each tail exactly what `tail -n` gives — with or without a final newline, empty, absent,
 * unreadable — and the same text LocalExecutor.logTail reads in-process.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRunner } from './command.ts';
import { LocalExecutor } from './local.ts';
import { SlurmExecutor } from './slurm.ts';
import { FILES } from './wrapper.ts';

const base = mkdtempSync(path.join(os.tmpdir(), 'sluice-tails-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A work directory holding `log` as its job log (none when undefined). */
function workDir(name: string, log?: string): string {
  const d = path.join(base, name);
  mkdirSync(d, { recursive: true });
  if (log !== undefined) writeFileSync(path.join(d, FILES.log), log);
  return d;
}

describe('logTails', () => {
  const lines = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`);
  const dirs = {
    long: workDir('long', `${lines.join('\n')}\n`),
    noNewline: workDir('no-newline', 'first\nlast without newline'),
    empty: workDir('empty', ''),
    absent: workDir('absent'),
    tricky: workDir('tricky', '\n\n--sluice-tail-00-- 0\nprintf %s $b\n\n'),
  };

  it('reads every log with one command, exactly as tail -n prints it', async () => {
    const runner = new LocalRunner();
    let commands = 0;
    const run = runner.run.bind(runner);
    runner.run = (argv, opts) => {
      commands++;
      return run(argv, opts);
    };
    const ex = new SlurmExecutor(runner);
    const got = await ex.logTails(Object.values(dirs), 40);
    expect(commands).toBe(1);
    expect(got).toEqual([
      { text: `${lines.slice(10).join('\n')}\n` },
      { text: 'first\nlast without newline' },
      { text: '' },
      { text: '' },
      { text: '\n\n--sluice-tail-00-- 0\nprintf %s $b\n\n' },
    ]);
    const local = await new LocalExecutor().logTails(Object.values(dirs), 40);
    expect(local).toEqual(got);
    expect(await ex.logTails([], 40)).toEqual([]);
  });

  it('says which log could not be read, and still reads the others', async () => {
    const unreadable = workDir('log-is-a-folder');
    mkdirSync(path.join(unreadable, FILES.log));
    const got = await new SlurmExecutor(new LocalRunner()).logTails(
      [dirs.noNewline, unreadable, 'relative/dir', dirs.empty],
      40,
    );
    expect(got[0]).toEqual({ text: 'first\nlast without newline' });
    expect(got[1]).toMatchObject({ problem: expect.stringMatching(/tail exited with [1-9]/) });
    expect(got[2]).toMatchObject({ problem: expect.stringContaining('relative/dir') });
    expect(got[3]).toEqual({ text: '' });
  });
});
