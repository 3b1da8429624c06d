/**
 * Input validation for a route: path parameters, query parameters (unknown or repeated ones are
 * refused, naming the parameter) and the JSON body. Every failure is a 400 naming the field.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError, badInput } from './errors.ts';
import type { AnyRoute } from './route.ts';

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string, known: string[]): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const unknown = r.error.issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown?.code === 'unrecognized_keys') {
    const field = [...unknown.path, unknown.keys[0]!].join('.');
    throw badInput(
      field,
      `unknown ${where}`,
      known.length > 0 ? `known ${where}s: ${known.join(', ')}` : undefined,
    );
  }
  const issue = r.error.issues[0]!;
  throw badInput(
    issue.path.length > 0 ? issue.path.join('.') : where === 'field' ? 'body' : where,
    issue.message,
  );
}

function keysOf(schema: z.ZodType | undefined): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

export function readParams(c: Context, r: AnyRoute): unknown {
  if (!r.params) return {};
  return parse(r.params, c.req.param(), 'path parameter', []);
}

export function readQuery(c: Context, r: AnyRoute): unknown {
  const all = c.req.queries();
  const single: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) {
    if (v.length > 1) throw badInput(k, 'given more than once');
    single[k] = v[0]!;
  }
  const known = keysOf(r.query);
  if (!r.query) {
    const first = Object.keys(single)[0];
    if (first !== undefined)
      throw badInput(first, 'unknown parameter', 'this route takes no query parameters');
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
  return parse(r.body, value, 'field', keysOf(r.body));
}
