/**
 * Input validation for a route: path parameters, query parameters (unknown or repeated ones are
 * refused, naming the parameter) and the JSON body. Every failure is a 400 naming the field.
 *
 * Before any schema sees them, every text in the input is checked to be text at all: no NUL, no
 * half of a UTF-16 surrogate pair, no query value whose percent-encoding is not UTF-8, no body
 * nested deeper than MAX_DEPTH. Such input would otherwise reach PostgreSQL and fail there (a 500)
 * or be stored altered.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError, badInput } from './errors.ts';
import { printable, textProblem } from './params.ts';
import type { AnyRoute } from './route.ts';

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string, known: string[]): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const unknown = r.error.issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown?.code === 'unrecognized_keys') {
    const field = printable([...unknown.path, unknown.keys[0]!].join('.'));
    throw badInput(
      field,
      `unknown ${where}`,
      known.length > 0 ? `known ${where}s: ${known.join(', ')}` : undefined,
    );
  }
  const issue = r.error.issues[0]!;
  throw badInput(
    issue.path.length > 0 ? printable(issue.path.join('.')) : where === 'field' ? 'body' : where,
    issue.message,
  );
}

function keysOf(schema: z.ZodType | undefined): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/** JSON bodies nest at most this deep (no route needs more; deeper would strain the stack). */
export const MAX_DEPTH = 32;

/**
 * The first text in `value` (strings and object keys, at any depth) that is not valid text, as a
 * 400 naming its field; `where` names the top level.
 */
export function checkText(value: unknown, where: string): void {
  const todo: { v: unknown; path: string[] }[] = [{ v: value, path: [] }];
  const name = (path: string[]) => printable(path.length > 0 ? path.join('.') : where);
  while (todo.length > 0) {
    const { v, path } = todo.pop()!;
    if (path.length > MAX_DEPTH)
      throw badInput(name(path.slice(0, 1)), `nested deeper than ${MAX_DEPTH} levels`);
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) throw badInput(name(path), problem, 'send the text as UTF-8 without NUL characters');
    } else if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) todo.push({ v: x, path: [...path, String(i)] });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const problem = textProblem(k);
        if (problem) throw badInput(name([...path, k]), `the name ${problem}`);
        todo.push({ v: x, path: [...path, k] });
      }
    }
  }
}

/**
 * The query string of `url` as name → values, decoded strictly: `+` is a space, and a `%XX`
 * sequence that does not spell UTF-8 is refused (naming the parameter), where a lenient decoder
 * would pass it on as literal text or as U+FFFD.
 */
export function parseQuery(url: string): Map<string, string[]> {
  const at = url.indexOf('?');
  const out = new Map<string, string[]>();
  if (at < 0) return out;
  const search = url.slice(at + 1).split('#')[0]!;
  for (const part of search.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const name = decodeComponent(rawName, rawName);
    const value = decodeComponent(eq < 0 ? '' : part.slice(eq + 1), name);
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

function decodeComponent(raw: string, field: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw badInput(
      printable(field),
      'not valid percent-encoded UTF-8',
      'encode the value as UTF-8 and percent-encode its bytes (encodeURIComponent)',
    );
  }
}

export function readParams(c: Context, r: AnyRoute): unknown {
  if (!r.params) return {};
  const params = c.req.param();
  checkText(params, 'path parameter');
  return parse(r.params, params, 'path parameter', []);
}

export function readQuery(c: Context, r: AnyRoute): unknown {
  const single: Record<string, string> = {};
  for (const [k, v] of parseQuery(c.req.url)) {
    const problem = textProblem(k);
    if (problem) throw badInput(printable(k), `the parameter name ${problem}`);
    for (const x of v) checkText(x, k);
    if (v.length > 1) throw badInput(printable(k), 'given more than once');
    single[k] = v[0]!;
  }
  const known = keysOf(r.query);
  if (!r.query) {
    const first = Object.keys(single)[0];
    if (first !== undefined)
      throw badInput(printable(first), 'unknown parameter', 'this route takes no query parameters');
    return {};
  }
  return parse(r.query, single, 'parameter', known);
}

export async function readBody(c: Context, r: AnyRoute): Promise<unknown> {
  if (!r.body) return undefined;
  // an empty body is no body: the schema decides whether that is allowed (an optional reason)
  const text = c.req.raw.body === null ? '' : await c.req.text();
  if (text === '') return parse(r.body, undefined, 'field', keysOf(r.body));
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) {
    const message = 'the body must be JSON (Content-Type: application/json)';
    throw new ApiError(415, 'unsupported_media_type', message, { field: 'body' });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badInput('body', `not valid JSON: ${(err as Error).message}`);
  }
  checkText(value, 'body');
  return parse(r.body, value, 'field', keysOf(r.body));
}
