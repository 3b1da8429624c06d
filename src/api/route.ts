/**
 * The route table's entry. Every route declares who may call it (`role`); `app.ts` mounts the
 * table and enforces roles, CSRF and input validation in one place, and `openapi.ts` describes
 * the same table. A route cannot exist without a role.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Role } from '../auth/roles.ts';
import type { ApiDeps } from './deps.ts';

export type Access = 'public' | Role;
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ApiEnv {
  Variables: { principal: Principal | undefined };
}

type Schema = z.ZodType | undefined;
type Out<S extends Schema> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Set for every route whose role is not `public`. */
  principal: Principal | undefined;
  /** `user:<name>`, `token:<user>/<token>`, or `anonymous` on public routes. */
  actor: string;
  deps: ApiDeps;
}

export interface Route<P extends Schema = Schema, Q extends Schema = Schema, B extends Schema = Schema> {
  method: Method;
  /** Hono path syntax: `/api/files/:id`. */
  path: string;
  role: Access;
  /** Grouping in the OpenAPI document. */
  tag: string;
  summary: string;
  description?: string;
  params?: P;
  query?: Q;
  /** A JSON body (Content-Type: application/json). */
  body?: B;
  /** The status of a success (default 200). */
  success?: 200 | 201;
  /** What a success answers with (default JSON). */
  produces?: 'application/json' | 'text/csv' | 'text/event-stream';
  /** Allowed for a session whose one-time password has not been changed yet. */
  beforePasswordChange?: boolean;
  handle(c: Context<ApiEnv>, input: RouteInput<Out<P>, Out<Q>, Out<B>>): Response | Promise<Response>;
}

export type AnyRoute = Route<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/** Declares a route with its handler's input typed from the schemas. */
export function route<
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
>(r: Route<P, Q, B>): AnyRoute {
  return r as unknown as AnyRoute;
}
