import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteArg, shellQuote, slurmFilename, validateKey, validateWorkDir } from './quote.ts';

const ADVERSARIAL = [
  '',
  ' ',
  'plain',
  'with space',
  "it's",
  "''",
  "'\\''",
  '"double"',
  '$(touch /tmp/sluice-pwned-quote)',
  '`touch /tmp/sluice-pwned-quote`',
  '; touch /tmp/sluice-pwned-quote',
  '&& echo x || echo y | cat > /tmp/sluice-pwned-quote',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell expansion on purpose
  '$HOME ${HOME} $((1+1)) $1 $@ $* $$ $? $! $- $0',
  'a\\b\\\\c\\',
  'new\nline\r\n',
  '\t tab',
  '*',
  '?[a-z]*',
  '~',
  '~root/x',
  'a=b',
  '-n',
  '--help',
  '#comment',
  '!history !! !$',
  '{a,b}',
  '<in >out 2>&1',
  'ünïcödé ✓ 日本',
  '%j %% 100%',
  'mixed \'"`$(x)`"\' ; \\',
];

/** Run argv through /bin/sh -c and read back exactly what the command received. */
function roundTrip(args: string[]): string[] {
  const line = shellQuote(['printf', '%s\\0', ...args]);
  const out = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
  const parts = out.split('\0');
  parts.pop();
  return parts;
}

describe('shellQuote', () => {
  it('survives /bin/sh -c unchanged for adversarial strings', () => {
    expect(roundTrip(ADVERSARIAL)).toEqual(ADVERSARIAL);
    for (const a of ADVERSARIAL) expect(roundTrip([a])).toEqual([a]);
  });

  it('survives bash -c too', () => {
    const line = shellQuote(['printf', '%s\\0', ...ADVERSARIAL]);
    const out = execFileSync('/bin/bash', ['-c', line], { encoding: 'utf8' }).split('\0');
    out.pop();
    expect(out).toEqual(ADVERSARIAL);
  });

  it('survives a nested sh -c (quoting twice)', () => {
    const inner = shellQuote(['printf', '%s\\0', ...ADVERSARIAL]);
    const outer = shellQuote(['sh', '-c', inner]);
    const out = execFileSync('/bin/sh', ['-c', outer], { encoding: 'utf8' }).split('\0');
    out.pop();
    expect(out).toEqual(ADVERSARIAL);
  });

  it('quotes the empty string and leaves plain words readable', () => {
    expect(quoteArg('')).toBe("''");
    expect(shellQuote(['squeue', '--jobs=1,2', '/a/b.c'])).toBe('squeue --jobs=1,2 /a/b.c');
    expect(shellQuote(["it's"])).toBe(`'it'\\''s'`);
    // a first word with '=' would be an assignment
    expect(shellQuote(['A=b', 'A=b'])).toBe(`'A=b' A=b`);
  });

  it('refuses NUL bytes', () => {
    expect(() => shellQuote(['a\0b'])).toThrow(/NUL/);
  });
});

describe('validation', () => {
  it('accepts good keys and rejects anything outside [A-Za-z0-9._-]{1,120}', () => {
    validateKey('raw-file_1.2.attempt-3');
    validateKey('a'.repeat(120));
    for (const bad of ['', 'a'.repeat(121), 'a b', 'a;b', '$(x)', '`x`', "a'b", 'a/b', 'a\nb', 'ä']) {
      expect(() => validateKey(bad), bad).toThrow(/not valid/);
    }
  });

  it('work dirs: absolute, no newlines; no backslash for SLURM', () => {
    validateWorkDir("/data/out/a b'c $(x) `y`; z");
    expect(() => validateWorkDir('relative/dir')).toThrow(/absolute/);
    expect(() => validateWorkDir('/a\nb')).toThrow(/newline/);
    validateWorkDir('/a\\b');
    expect(() => validateWorkDir('/a\\b', { forSlurm: true })).toThrow(/backslash/);
  });

  it('escapes % in SLURM file names', () => {
    expect(slurmFilename('/d/100%/job.log')).toBe('/d/100%%/job.log');
  });
});
