/** Login, logout, who am I, and changing one's own password. */

import type { BlockList } from 'node:net';
import { z } from 'zod';
import { FREE_FAILURES_PER_ADDRESS, LoginThrottle } from '../../auth/login-throttle.ts';
import { createSession, DEFAULT_SESSION_TTL_MS, endSession } from '../../auth/sessions.ts';
import { authenticate, setPassword } from '../../auth/users.ts';
import { clearSessionCookie, setSessionCookie } from '../auth-middleware.ts';
import { clientAddress, trustedProxies } from '../client-address.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { type AnyRoute, route } from '../route.ts';

/** The throttles of one application (per `createApp` deps): see login-throttle.ts. */
interface Throttles {
  byName: LoginThrottle;
  byAddress: LoginThrottle;
  proxies: BlockList | undefined;
}
const throttles = new WeakMap<ApiDeps, Throttles>();
function throttlesOf(deps: ApiDeps): Throttles {
  let t = throttles.get(deps);
  if (!t) {
    t = {
      byName: new LoginThrottle(),
      byAddress: new LoginThrottle(Date.now, FREE_FAILURES_PER_ADDRESS),
      proxies: trustedProxies(deps.config.server.trusted_proxies),
    };
    throttles.set(deps, t);
  }
  return t;
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
      'After 5 failed logins in a row for a user name, or 20 from one client address (any names), further attempts wait 1, 2, 4 … s (at most 5 min) after the last failure: 429 with Retry-After. Behind a reverse proxy, list it in server.trusted_proxies so that X-Forwarded-For names the client.',
    body: credentials,
    handle: async (c, { body, deps }) => {
      const t = throttlesOf(deps);
      const from = clientAddress(c, t.proxies);
      const waitName = t.byName.waitSeconds(body.name);
      const waitAddress = from === undefined ? 0 : t.byAddress.waitSeconds(from);
      const wait = Math.max(waitName, waitAddress);
      if (wait > 0) {
        c.header('Retry-After', String(wait));
        deps.log?.warn({ user: body.name, from }, 'login throttled');
        throw waitName >= waitAddress
          ? new ApiError(
              429,
              'auth.throttled',
              `too many failed logins for '${body.name}': try again in ${wait} s`,
              {
                hint: 'an admin can reset the password with `sluice users reset-password NAME`',
              },
            )
          : new ApiError(
              429,
              'auth.throttled',
              `too many failed logins from ${from}: try again in ${wait} s`,
              {
                hint: 'behind a reverse proxy, list it in server.trusted_proxies so that each client counts for itself',
              },
            );
      }
      const user = await authenticate(deps.db, body.name, body.password);
      if (!user) {
        t.byName.failed(body.name);
        if (from !== undefined) t.byAddress.failed(from);
        throw new ApiError(401, 'auth.invalid_credentials', 'wrong user name or password', {
          hint: 'an admin can reset it with `sluice users reset-password NAME`',
        });
      }
      t.byName.succeeded(body.name);
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
