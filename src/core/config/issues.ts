/**
 * Turns zod issues into messages a person can act on: file:line:col, the dotted field path, what was
 * expected and what was found. Unknown keys get a "did you mean" suggestion.
 */
import type { z } from 'zod';
import { describeFound } from './describe.ts';
import type { ConfigProblem } from './problems.ts';
import { hasUrlPassword, isSensitivePath, redactValue } from './secrets.ts';
import { formatOrigin, formatPath, locate, nodeAt, type Origin, type SNode } from './source.ts';
import { suggest } from './suggest.ts';

/** Returned by the per-parse error map: "no custom text on the schema, describe it yourself". */
export const DEFAULT_MESSAGE = '\u0000default';

export function valueAt(v: unknown, path: readonly PropertyKey[]): unknown {
  let cur = v;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    if (!Object.hasOwn(cur, seg as string)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

const TYPE_PHRASES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  array: 'a list',
  null: 'null',
};

type Issue = z.core.$ZodIssue;

function defaultExpected(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_PHRASES[issue.expected] ?? issue.expected;
    case 'invalid_value':
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'too_small': {
      const n = Number(issue.minimum);
      if (issue.origin === 'string') return n <= 1 ? 'a non-empty string' : `at least ${n} characters`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `at least ${n} item${n === 1 ? '' : 's'}`;
      return `a number ${issue.inclusive ? '≥' : '>'} ${n}`;
    }
    case 'too_big': {
      const n = Number(issue.maximum);
      if (issue.origin === 'string') return `at most ${n} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return `at most ${n} item${n === 1 ? '' : 's'}`;
      return `a number ${issue.inclusive ? '≤' : '<'} ${n}`;
    }
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue
        ? `text matching ${String(issue.pattern)}`
        : `a valid ${issue.format}`;
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message === DEFAULT_MESSAGE ? 'a valid value' : issue.message;
  }
}

/**
 * What an issue expected, for a message: the schema's own phrase, else one made from the issue. For a
 * parse with `{ error: () => DEFAULT_MESSAGE }` (as the config and runtime variables are parsed).
 */
export function expectedOf(issue: Issue): string {
  return issue.message !== DEFAULT_MESSAGE ? issue.message : defaultExpected(issue);
}

// --- walking the schema to list the fields a mapping accepts --------------------------------------

interface Def {
  type: string;
  shape?: Record<string, unknown>;
  valueType?: unknown;
  element?: unknown;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
}

function defOf(s: unknown): Def | undefined {
  return (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

function unwrap(s: unknown): unknown {
  for (let i = 0; i < 50; i++) {
    const d = defOf(s);
    if (!d) return s;
    if (
      d.innerType !== undefined &&
      ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type)
    ) {
      s = d.innerType;
    } else if (d.type === 'pipe') {
      s = defOf(d.in)?.type === 'transform' ? d.out : d.in;
    } else return s;
  }
  return s;
}

/** The keys accepted by the object schema at `path`, or [] if it is not an object. */
export function knownKeys(schema: unknown, path: readonly PropertyKey[]): string[] {
  let s = unwrap(schema);
  for (const seg of path) {
    const d = defOf(s);
    if (!d) return [];
    if (d.type === 'object') s = d.shape?.[String(seg)];
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'array') s = d.element;
    else return [];
    s = unwrap(s);
  }
  const d = defOf(s);
  return d?.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

// --- issues → problems ---------------------------------------------------------------------------

export interface IssueContext {
  root: SNode | null;
  /** The merged, interpolated data that was validated. */
  data: unknown;
  schema: unknown;
  /** Used when no node of any file can be found for a path (e.g. an empty config file). */
  fallbackSource: string;
  /** Paths whose values came from `${file:...}`. */
  isFileSecret: (path: readonly PropertyKey[]) => boolean;
}

function problem(
  origin: Origin | undefined,
  ctx: IssueContext,
  path: readonly PropertyKey[],
  text: string,
): ConfigProblem {
  const where = origin ? formatOrigin(origin) : ctx.fallbackSource;
  return { where, origin, path: formatPath(path), message: `${where}: ${formatPath(path)}: ${text}` };
}

export function issuesToProblems(issues: readonly Issue[], ctx: IssueContext): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path;
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(ctx.schema, path);
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        const origin = nodeAt(ctx.root, keyPath)?.keyOrigin ?? locate(ctx.root, path, true);
        const where = origin ? formatOrigin(origin) : ctx.fallbackSource;
        const isVar = path.length === 1 && path[0] === 'variables';
        const noun = isVar ? 'variable' : 'field';
        const scope = path.length === 0 ? 'at the top level' : `in ${formatPath(path)}`;
        const guess = suggest(key, known);
        const tail = guess
          ? `; did you mean '${guess}'?`
          : known.length
            ? `; expected one of: ${known.filter((k) => k !== 'environment').join(', ')}`
            : '';
        out.push({
          where,
          origin,
          path: formatPath(keyPath),
          message: `unknown ${noun} '${key}' ${scope} (${where})${tail}`,
        });
      }
      continue;
    }
    const params = (issue as { params?: { full?: boolean; at?: string } }).params;
    const origin = locate(ctx.root, path, params?.at === 'key');
    if (issue.code === 'custom' && params?.full) {
      out.push(problem(origin, ctx, path, issue.message));
      continue;
    }
    const expected = expectedOf(issue);
    const value = valueAt(ctx.data, path);
    if (value === undefined && nodeAt(ctx.root, path) === undefined) {
      out.push(problem(origin, ctx, path, `required field is missing: expected ${expected}, found nothing`));
      continue;
    }
    const secret = ctx.isFileSecret(path) || isSensitivePath(path);
    const shown = describeFound(secret || hasUrlPassword(value) ? redactValue(value, path) : value);
    const quoted =
      issue.code === 'invalid_type' &&
      typeof value === 'string' &&
      !secret &&
      /^\s*-?\d+(\.\d+)?\s*$|^(true|false)$/.test(value)
        ? ' (quoted, so it is text: remove the quotes)'
        : '';
    out.push(problem(origin, ctx, path, `expected ${expected}, found ${shown}${quoted}`));
  }
  return out;
}
