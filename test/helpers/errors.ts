/** Assertions on the errors Sluice throws. */
import { expect } from 'vitest';
import { SluiceError } from '../../src/core/errors.ts';

/** Awaits `p`, which must reject with a SluiceError of `code`; returns that error for more checks. */
export async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<SluiceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SluiceError);
  expect((err as SluiceError).code).toBe(code);
  return err as SluiceError;
}
