/** The text checks every API input passes through (validate.ts, params.ts): pure, no server. */
import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { printable, textProblem } from './params.ts';
import { checkText, MAX_DEPTH, parseQuery } from './validate.ts';

function refusal(f: () => unknown): { field?: string; message: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof ApiError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error('not refused');
}

describe('textProblem', () => {
  it('accepts any valid text, surrogate pairs included, and names NUL and lone halves', () => {
    for (const ok of ['', 'plain', 'ünï €', 'emoji 😀 pair', 'tab\tand\nnewline'])
      expect(textProblem(ok)).toBeUndefined();
    expect(textProblem('a\u0000b')).toMatch(/NUL .* position 2/);
    expect(textProblem('x\ud83d')).toMatch(/surrogate .*\\ud83d.* position 2/);
    expect(textProblem('\ude00y')).toMatch(/surrogate .*\\ude00.* position 1/);
    expect(textProblem('\ude00\ud83d')).toMatch(/position 1/);
  });

  it('shows names with control characters, lone halves or nothing in them readably', () => {
    expect(printable('a\u0000b')).toBe('a\\u0000b');
    expect(printable('a\ud800')).toBe('a\\ud800');
    expect(printable('')).toBe("''");
    expect(printable('reason')).toBe('reason');
  });
});

describe('parseQuery', () => {
  it('decodes like a browser encodes: + is a space, repeated names collect', () => {
    const q = parseQuery('http://x/api/files?q=a+b%2Bc&status=done&status=error&flag');
    expect([...q]).toEqual([
      ['q', ['a b+c']],
      ['status', ['done', 'error']],
      ['flag', ['']],
    ]);
    expect(parseQuery('http://x/api/files').size).toBe(0);
  });

  it('refuses percent-encoding that is not UTF-8, naming the parameter', () => {
    expect(refusal(() => parseQuery('http://x/?q=a%ED%A0%80b'))).toMatchObject({ field: 'q' });
    expect(refusal(() => parseQuery('http://x/?q=%FF'))).toMatchObject({ field: 'q' });
    expect(refusal(() => parseQuery('http://x/?q=%'))).toMatchObject({ field: 'q' });
    expect(refusal(() => parseQuery('http://x/?%FF=1')).field).toBe('%FF');
  });
});

describe('checkText', () => {
  it('names the field of bad text at any depth, keys included', () => {
    expect(refusal(() => checkText({ a: [{ b: 'x\u0000' }] }, 'body')).field).toBe('a.0.b');
    expect(refusal(() => checkText({ 'k\u0000': 1 }, 'body')).field).toBe('k\\u0000');
    expect(refusal(() => checkText('\ud800', 'q')).field).toBe('q');
    expect(() => checkText({ a: ['fine', { b: 'ünï 😀' }], n: 1, z: null }, 'body')).not.toThrow();
  });

  it(`refuses bodies nested deeper than ${MAX_DEPTH} levels, naming the top field`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(refusal(() => checkText({ value: deep }, 'body'))).toMatchObject({
      field: 'value',
      message: expect.stringMatching(/nested deeper than 32/),
    });
    let ok: unknown = 1;
    for (let i = 0; i < MAX_DEPTH - 1; i++) ok = [ok];
    expect(() => checkText({ value: ok }, 'body')).not.toThrow();
  });
});
