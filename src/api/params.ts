/**
 * Shared input schemas. Query values arrive as strings; each schema parses one and says in plain
 * words what it expected. Every message names what was received.
 */
import { z } from 'zod';
import { NAME_PATTERN } from '../auth/roles.ts';
import { parseIsoDate } from '../core/dates.ts';
import { NAME_MAX, textToName } from '../core/names.ts';

/** Control characters (C0 and DEL) have no place in names or ids. */
export function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 127) return true;
  }
  return false;
}

/**
 * Why `s` is not text that can be stored or shown, or undefined when it is: PostgreSQL text cannot
 * hold NUL, and a lone UTF-16 surrogate (half of a pair, from a JSON `\ud83d` escape) is no
 * character at all (it would be stored as U+FFFD, silently changing the value).
 */
export function textProblem(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return `contains a NUL character (\\u0000) at position ${i + 1}`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff)
      return `contains half of a UTF-16 surrogate pair (\\u${c.toString(16)}) at position ${i + 1}, which is not valid text`;
  }
  return undefined;
}

/**
 * A name as it can be shown in a message and in `field`: control characters and lone surrogates
 * escaped, the empty name as `''`.
 */
export function printable(s: string): string {
  if (s === '') return "''";
  return hasControl(s) || textProblem(s) !== undefined ? JSON.stringify(s).slice(1, -1) : s;
}

/** The longest file id: a 255-byte name (NAME_MAX) behind a collision stamp `YYYYMMDD-HHMMSS-`. */
export const FILE_ID_MAX_BYTES = NAME_MAX + 16;

/**
 * Why `s` cannot be a file id, or undefined when some record could have it. File ids are names in
 * text form (core/names.ts: control and non-UTF-8 bytes escaped `\xHH`, so `\`, `%`, spaces, `#`, `?`
 * are all ordinary) or collision ids `<stamp>-<name>`; a record written before that escaping may even
 * hold raw control characters. So everything is accepted except what no record can hold: nothing,
 * NUL (PostgreSQL text has none), a lone surrogate (not text), `/` (never in a name), or more bytes
 * than a name with its collision stamp.
 */
export function fileIdProblem(s: string): string | undefined {
  if (s.length === 0) return 'a file id is not empty';
  if (s.includes('\0')) return 'a file id never contains NUL (U+0000): no name has it';
  if (/\p{Cs}/u.test(s)) return 'a file id is text: it has a lone UTF-16 surrogate';
  if (s.includes('/')) return "a file id never contains '/': it is a name, not a path";
  // a text form has at most 4 characters (`\xHH`) per byte: check that before converting
  if (s.length > 4 * FILE_ID_MAX_BYTES || textToName(s).length > FILE_ID_MAX_BYTES)
    return `a file id is at most ${FILE_ID_MAX_BYTES} bytes (a ${NAME_MAX}-byte name with a collision stamp)`;
  return undefined;
}

/** A file id as a path parameter: any id a record can have (see `fileIdProblem`). */
export const fileId = z
  .string()
  .superRefine((s, ctx) => {
    const problem = fileIdProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description:
      'a file id (its name as the instrument wrote it, in text form: control and non-UTF-8 bytes escaped `\\xHH`; or a collision id), percent-encoded',
  });

export const jobId = z
  .string()
  .regex(/^[1-9][0-9]{0,17}$/, 'a job id is a positive whole number')
  .meta({ description: 'a job row id (`id` in the file detail)' });

export const principalName = z
  .string()
  .regex(NAME_PATTERN, 'a name has 1–64 letters, digits, `.`, `_` or `-`, starting with a letter or digit');

export const variableName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a variable name is lower_snake_case');
export const poolName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'not a valid pool name');

/** A short identifier used as a filter (instrument, project, settings). */
export const idFilter = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected an id (letters, digits, `.`, `_`, `:`, `-`)');

/** A whole number within [min, max], from a query string. */
export function intParam(min: number, max: number, what = 'a whole number') {
  return z
    .string()
    .transform((s, ctx) => {
      const n = /^\d{1,15}$/.test(s) ? Number(s) : Number.NaN;
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected ${what} from ${min} to ${max}, got '${s}'` });
        return z.NEVER;
      }
      return n;
    })
    .meta({ type: 'integer', minimum: min, maximum: max } as Record<string, unknown>);
}

export const isoDate = z
  .string()
  .transform((s, ctx) => {
    const d = parseIsoDate(s);
    if (!d) {
      ctx.addIssue({
        code: 'custom',
        message: `expected an ISO 8601 date or time (2026-11-01, 2026-11-01T08:00:00Z), got '${s}'`,
      });
      return z.NEVER;
    }
    return d;
  })
  .meta({ format: 'date-time' } as Record<string, unknown>);

/** A comma-separated list whose items must be among `allowed`. */
export function listOf(allowed: readonly string[], what: string) {
  return z
    .string()
    .transform((s, ctx) => {
      const items = s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      const bad = items.find((x) => !allowed.includes(x));
      if (bad !== undefined || items.length === 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown ${what} '${bad ?? s}'; expected a comma-separated list of: ${allowed.join(', ')}`,
        });
        return z.NEVER;
      }
      return [...new Set(items)];
    })
    .meta({ description: `comma-separated: ${allowed.join(', ')}` });
}

/** A comma-separated list of names (1–`max` items) matching `pattern`. */
export function namesList(pattern: RegExp, max: number, what: string) {
  return z.string().transform((s, ctx) => {
    const items = [
      ...new Set(
        s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    ];
    const bad = items.find((x) => !pattern.test(x));
    if (items.length === 0 || items.length > max || bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          bad !== undefined
            ? `'${bad}' is not a valid ${what}`
            : `expected 1 to ${max} comma-separated ${what}s, got ${items.length}`,
      });
      return z.NEVER;
    }
    return items;
  });
}
