/** Login, logout, who am I, and changing one's own password. */

import type { BlockList } from 'node:net';
import type { Context } from 'hono';
import { z } from 'zod';
import {
  beginLogin,
  DEFAULT_THROTTLE,
  loginFailed,
  loginKeys,
  loginSucceeded,
  type Verdict,
} from '../../auth/login-throttle.ts';
import { createSession, DEFAULT_SESSION_TTL_MS, endSession } from '../../auth/sessions.ts';
import { authenticate, setPassword } from '../../auth/users.ts';
import { clearSessionCookie, setSessionCookie } from '../auth-middleware.ts';
import { clientAddress, trustedProxies } from '../client-address.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { type AnyRoute, route } from '../route.ts';

/** The trusted proxies of one application (per `createApp` deps): see client-address.ts. */
const proxiesOf = new WeakMap<ApiDeps, BlockList | undefined>();
function proxies(deps: ApiDeps): BlockList | undefined {
  if (!proxiesOf.has(deps)) proxiesOf.set(deps, trustedProxies(deps.config.server.trusted_proxies));
  return proxiesOf.get(deps);
}

/** The 429 of an attempt the throttle turned away (see login-throttle.ts). */
function throttled(c: Context, v: Extract<Verdict, { allowed: false }>): ApiError {
  c.header('Retry-After', String(v.waitS));
  const when = `try again in ${v.waitS} s`;
  return v.by === 'user'
    ? new ApiError(429, 'auth.throttled', `too many failed logins for '${v.subject}': ${when}`, {
        hint: 'an admin can reset the password with `sluice users reset-password NAME`',
        retryAfter: v.waitS,
      })
    : new ApiError(429, 'auth.throttled', `too many failed logins from ${v.subject}: ${when}`, {
        hint: 'behind a reverse proxy, list it in server.trusted_proxies so that each client counts for itself',
        retryAfter: v.waitS,
      });
}

const credentials = z.strictObject({
  name: z.string().min(1, 'a user name is required').max(64),
  password: z.string().min(1, 'a password is required').max(1024),
});

export const authRoutes: AnyRoute[] = [
  route({
    method: 'POST',
    path: '/api/login',
    role: 'public',
    tag: 'auth',
    summary: 'log in: sets the httpOnly session cookie and returns the CSRF token for writes',
    description:
      "After 5 login attempts in a row for a user name, or 20 from one client address (any names), further attempts wait 1, 2, 4 … s (at most 5 min) after the last one: 429 with Retry-After and `retryAfter` (seconds) in the JSON error. Attempts are counted before the password is checked and shared by all web processes; a successful login resets its user name's count and does not count for its address. Behind a reverse proxy, list it in server.trusted_proxies so that X-Forwarded-For names the client.",
    body: credentials,
    handle: async (c, { body, deps }) => {
      const from = clientAddress(c, proxies(deps));
      const policy = { ...DEFAULT_THROTTLE, ...deps.loginThrottle };
      const keys = loginKeys(body.name, from);
      const verdict = await beginLogin(deps.db, keys, policy); // counted before the password is checked
      if (!verdict.allowed) {
        deps.log?.warn({ user: body.name, from, by: verdict.by, waitS: verdict.waitS }, 'login throttled');
        throw throttled(c, verdict);
      }
      const user = await authenticate(deps.db, body.name, body.password);
      if (!user) {
        await loginFailed(deps.db, keys, policy);
        throw new ApiError(401, 'auth.invalid_credentials', 'wrong user name or password', {
          hint: 'an admin can reset it with `sluice users reset-password NAME`',
        });
      }
      await loginSucceeded(deps.db, keys);
      const s = await createSession(deps.db, user.id, deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS);
      setSessionCookie(c, deps, s.cookie);
      return c.json({
        user: user.name,
        role: user.role,
        csrfToken: s.csrfToken,
        mustChangePassword: user.must_change_password,
      });
    },
  }),
  route({
    method: 'POST',
    path: '/api/logout',
    role: 'viewer',
    tag: 'auth',
    summary: 'end this session',
    beforePasswordChange: true,
    handle: async (c, { principal, deps }) => {
      if (principal?.sessionId) await endSession(deps.db, principal.sessionId);
      clearSessionCookie(c, deps);
      return c.json({ ok: true });
    },
  }),
  route({
    method: 'GET',
    path: '/api/me',
    role: 'viewer',
    tag: 'auth',
    summary: 'who is logged in, with which role; the CSRF token of a session',
    beforePasswordChange: true,
    handle: (c, { principal }) =>
      c.json({
        user: principal!.user,
        role: principal!.role,
        via: principal!.via,
        csrfToken: principal!.csrfToken ?? null,
        mustChangePassword: principal!.mustChangePassword,
      }),
  }),
  route({
    method: 'POST',
    path: '/api/me/password',
    role: 'viewer',
    tag: 'auth',
    summary: 'change your own password (ends your other sessions; returns a new CSRF token)',
    beforePasswordChange: true,
    body: z.strictObject({
      current: z.string().min(1, 'the current password is required').max(1024),
      password: z.string().min(12, 'a password needs at least 12 characters').max(1024),
    }),
    handle: async (c, { body, principal, deps }) => {
      if (principal!.via !== 'session')
        throw new ApiError(
          403,
          'auth.session_required',
          'a password is changed in a login session, not with a token',
        );
      if (!(await authenticate(deps.db, principal!.user, body.current)))
        throw new ApiError(400, 'invalid_input', 'current: the current password is wrong', {
          field: 'current',
        });
      if (body.password === body.current)
        throw new ApiError(
          400,
          'invalid_input',
          'password: the new password must differ from the current one',
          {
            field: 'password',
          },
        );
      await deps.db.tx((tx) => setPassword(tx, principal!.user, principal!.actor, body.password));
      const s = await createSession(deps.db, principal!.userId, deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS);
      setSessionCookie(c, deps, s.cookie);
      return c.json({ ok: true, csrfToken: s.csrfToken });
    },
  }),
];
