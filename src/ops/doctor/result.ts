/**
 * What a doctor check returns (one row `{ check, target, status, detail, hint }`), the helpers that
 * build rows, and `guard`, which turns a check's unexpected error into a failing row so that doctor
 * never stops at the first problem.
 */
import { errorMessage, SluiceError } from '../../core/errors.ts';
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  check: string;
  target: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

export const GB = 1e9;

export const ok = (check: string, target: string, detail: string): CheckResult => ({
  check,
  target,
  status: 'ok',
  detail,
});
export const warn = (check: string, target: string, detail: string, hint?: string): CheckResult => ({
  check,
  target,
  status: 'warn',
  detail,
  ...(hint ? { hint } : {}),
});
export const fail = (check: string, target: string, detail: string, hint?: string): CheckResult => ({
  check,
  target,
  status: 'fail',
  detail,
  ...(hint ? { hint } : {}),
});

/** Turns an error into a failing row (SluiceError: its message and hint). */
export function failFrom(check: string, target: string, err: unknown, hint?: string): CheckResult {
  const h = err instanceof SluiceError ? (err.hint ?? hint) : hint;
  return fail(check, target, errorMessage(err), h);
}

/** Runs one check; an unexpected error becomes a failing row instead of stopping doctor. */
export async function guard(
  check: string,
  target: string,
  fn: () => Promise<CheckResult>,
): Promise<CheckResult> {
  try {
    return await fn();
  } catch (err) {
    return failFrom(check, target, err);
  }
}

/** A file mode's permission bits in octal (`600`). */
export const fileMode = (m: number) => (m & 0o777).toString(8).padStart(3, '0');
