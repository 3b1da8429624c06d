/**
 * The API's one error type and its one handler. Every error answer is JSON:
 *   { code, message, hint?, field?, retryAfter? }
 * `field` names the query parameter, path parameter or body field that was wrong; `retryAfter` (a 429)
 * says in how many seconds to try again, like the Retry-After header.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { SluiceError, UsageError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';

export class ApiError extends SluiceError {
  readonly field: string | undefined;
  readonly retryAfter: number | undefined;
  constructor(
    status: number,
    code: string,
    message: string,
    opts: { hint?: string; field?: string; retryAfter?: number } = {},
  ) {
    super(code, message, { hint: opts.hint, status, exitCode: 2 });
    this.name = 'ApiError';
    this.field = opts.field;
    this.retryAfter = opts.retryAfter;
  }
}

export function badInput(field: string, message: string, hint?: string): ApiError {
  return new ApiError(400, 'invalid_input', `${field}: ${message}`, { field, hint });
}

export function notFound(what: string, id: string, hint?: string): ApiError {
  return new ApiError(404, 'not_found', `no ${what} '${id}'`, { hint });
}

export function conflict(message: string, hint?: string): ApiError {
  return new ApiError(409, 'conflict', message, { hint });
}

/**
 * Which body or query field a refusal is about: a name, or chosen from the refusal's message
 * (`undefined`: about no field — the request is well-formed but the state refuses it, a 409).
 */
export type RefusalField = string | ((message: string) => string | undefined);

/**
 * A refusal written for the CLI (a `UsageError`) as the API's answer: a missing thing the path names
 * (its message matches `missing`) → 404; about a field → 400 naming it; about no field → 409.
 * Any other error is returned unchanged (the handler reports it).
 */
export function apiRefusal(err: unknown, field: RefusalField, missing?: RegExp): unknown {
  if (!(err instanceof UsageError)) return err;
  if (missing?.test(err.message)) return new ApiError(404, 'not_found', err.message, { hint: err.hint });
  const name = typeof field === 'string' ? field : field(err.message);
  if (name === undefined) return conflict(err.message, err.hint);
  return badInput(name, err.message, err.hint);
}

/** Runs `fn`; a CLI refusal it throws becomes the API's (`apiRefusal`). */
export async function refusals<T>(field: RefusalField, fn: () => Promise<T>, missing?: RegExp): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw apiRefusal(err, field, missing);
  }
}

export interface ErrorBody {
  code: string;
  message: string;
  hint?: string;
  field?: string;
  retryAfter?: number;
}

/** Turns any error into the JSON answer; unexpected ones are logged and reported as `internal`. */
export function errorHandler(log: Logger | undefined) {
  return function onError(err: Error, c: Context): Response {
    if (err instanceof SluiceError && err.status < 500) {
      const body: ErrorBody = { code: err.code, message: err.message };
      if (err.hint) body.hint = err.hint;
      if (err instanceof ApiError && err.field) body.field = err.field;
      if (err instanceof ApiError && err.retryAfter !== undefined) body.retryAfter = err.retryAfter;
      return c.json(body, err.status as ContentfulStatusCode);
    }
    log?.error({ err, method: c.req.method, path: c.req.path }, 'API request failed');
    if (err instanceof SluiceError) {
      const body: ErrorBody = { code: err.code, message: err.message };
      if (err.hint) body.hint = err.hint;
      return c.json(body, err.status as ContentfulStatusCode);
    }
    return c.json(
      { code: 'internal', message: 'internal error; see the server log' } satisfies ErrorBody,
      500,
    );
  };
}
