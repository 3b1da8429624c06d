/** `apiRefusal`: a CLI refusal becomes a 404, a 400 naming its field, or a 409; other errors pass. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.ts';
import { type ApiError, apiRefusal, refusals } from './errors.ts';

describe('apiRefusal', () => {
  it('answers 404 for a missing thing, 400 naming the field, 409 about no field', () => {
    const missing = apiRefusal(new UsageError('no project P9'), 'user', /^no project/) as ApiError;
    expect([missing.status, missing.code]).toEqual([404, 'not_found']);
    const bad = apiRefusal(new UsageError('unknown target x', 'see the config'), 'target') as ApiError;
    expect([bad.status, bad.field, bad.message, bad.hint]).toEqual([
      400,
      'target',
      'target: unknown target x',
      'see the config',
    ]);
    const chosen = (m: string) => (/target/.test(m) ? 'target' : undefined);
    expect((apiRefusal(new UsageError('on target t: none'), chosen) as ApiError).field).toBe('target');
    const state = apiRefusal(new UsageError('nothing archived'), chosen) as ApiError;
    expect([state.status, state.code]).toEqual([409, 'conflict']);
  });

  it('leaves other errors as they are', async () => {
    const other = new Error('disk on fire');
    expect(apiRefusal(other, 'x')).toBe(other);
    await expect(refusals('x', () => Promise.reject(other))).rejects.toBe(other);
    await expect(refusals('x', () => Promise.resolve(3))).resolves.toBe(3);
  });
});
