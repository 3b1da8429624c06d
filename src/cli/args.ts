/** Parsing command-line arguments that commander leaves as text: whole numbers, list limits. */
import { UsageError } from '../core/errors.ts';

/** The most rows a listing (`files list`, `jobs list`, `vars history`) prints at once. */
export const MAX_LIST_LIMIT = 100_000;

/** A whole number from `min` to `max` written in digits (no `1e3`, `0x10`, signs or blanks). */
export function parseIntArg(name: string, raw: string, min: number, max: number): number {
  const n = /^\d{1,16}$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
  return n;
}
