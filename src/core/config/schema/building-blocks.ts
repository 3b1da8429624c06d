/**
 * Building blocks for the config schema. Conventions that the error formatter (../issues.ts) relies on:
 *
 * - A custom error text on a schema (`{ error: 'a positive integer' }`) is the *expected* phrase; the
 *   formatter renders "expected a positive integer, found -3".
 * - A refinement that writes a complete sentence adds its issue with `params: { full: true }`; one that
 *   concerns a mapping key (not its value) adds `at: 'key'` so the message points at the key's line.
 */
import { z } from 'zod';

/** Cross-field refinements run even when other fields already failed, so every problem is reported. */
export const always = { when: () => true };

export function intPhrase(min: number, max?: number): string {
  if (max !== undefined) return `an integer between ${min} and ${max}`;
  if (min === 0) return 'a non-negative integer (0 or more)';
  if (min === 1) return 'a positive integer';
  return `an integer of at least ${min}`;
}

export function int(min: number, max?: number, phrase = intPhrase(min, max)) {
  const s = z.int({ error: phrase }).min(min, { error: phrase });
  return max === undefined ? s : s.max(max, { error: phrase });
}

export interface NumBounds {
  gt?: number;
  gte?: number;
  lte?: number;
}

export function numPhrase(b: NumBounds, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  const parts: string[] = [];
  if (b.gt !== undefined) parts.push(b.gt === 0 ? 'greater than 0' : `greater than ${b.gt}${u}`);
  if (b.gte !== undefined) parts.push(b.gte === 0 ? '0 or more' : `at least ${b.gte}${u}`);
  if (b.lte !== undefined) parts.push(`at most ${b.lte}${u}`);
  return `a number${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

/** A (possibly fractional) number with bounds, e.g. seconds. */
export function num(b: NumBounds, unit = '') {
  const phrase = numPhrase(b, unit);
  let s = z.number({ error: phrase });
  if (b.gt !== undefined) s = s.gt(b.gt, { error: phrase });
  if (b.gte !== undefined) s = s.gte(b.gte, { error: phrase });
  if (b.lte !== undefined) s = s.lte(b.lte, { error: phrase });
  return s;
}

export function str(phrase = 'a non-empty string') {
  return z.string({ error: phrase }).min(1, { error: phrase });
}

export function bool() {
  return z.boolean({ error: 'true or false' });
}

/** A list of non-empty strings. */
export function strList(itemPhrase = 'a non-empty string') {
  return z.array(str(itemPhrase), { error: `a list of strings, e.g. [a, b]` });
}

/** True for a YAML mapping. Refinements that run on invalid data (see `always`) check this first. */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const nullToUndefined = (v: unknown) => (v === null ? undefined : v);

/**
 * A section (mapping) that may be absent or empty (`database:` with everything commented out): missing
 * or null means "all defaults".
 */
export function section<T extends z.ZodType>(schema: T) {
  return z.preprocess(nullToUndefined, schema.prefault({} as z.input<T>));
}

export interface KeyRule {
  pattern: RegExp;
  /** What a valid key looks like, e.g. "lowercase letters, digits, '-' and '_', starting with a letter or digit". */
  form: string;
  /** What the keys are, e.g. "instrument id". */
  noun: string;
  /** What the values are, e.g. "their sizes"; default "their settings". */
  values?: string;
}

/** A mapping from names to values whose names must match `rule`; every bad name is reported. */
export function namedRecord<V extends z.ZodType>(value: V, rule: KeyRule) {
  return z
    .record(z.string(), value, { error: `a mapping of ${rule.noun}s to ${rule.values ?? 'their settings'}` })
    .superRefine((rec, ctx) => {
      if (typeof rec !== 'object' || rec === null) return;
      for (const k of Object.keys(rec)) {
        if (!rule.pattern.test(k)) {
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `${rule.noun} '${k}' is not allowed: expected ${rule.form}, found '${k}'`,
            params: { full: true, at: 'key' },
          });
        }
      }
    }, always);
}

/**
 * A refinement for a list of named entries: every name used twice is reported at the later entry,
 * e.g. "expected a name no other strategy has, found 'x' (also database.backups[0].name)".
 */
export function uniqueNames(noun: string, listPath: string) {
  return (list: unknown, ctx: z.RefinementCtx): void => {
    if (!Array.isArray(list)) return;
    const seen = new Map<string, number>();
    list.forEach((s, i) => {
      const name = (s as { name?: unknown } | null)?.name;
      if (typeof name !== 'string') return;
      const first = seen.get(name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `expected a name no other ${noun} has, found '${name}' (also ${listPath}[${first}].name)`,
          params: { full: true },
        });
      } else seen.set(name, i);
    });
  };
}
