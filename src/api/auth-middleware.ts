/**
 * Who is calling, and may they? Applied by `app.ts` to every route of the table, in this order:
 *
 * 1. Authenticate (not on `public` routes): `Authorization: Bearer <token>` if present (a bad token
 *    is refused; the cookie is then not consulted), else the `sluice_session` cookie. → 401
 * 2. Authorize: the principal's role must include the route's role. → 403 `auth.forbidden`
 * 3. A session with a one-time password may only change it (and read /api/me, log out). → 403
 * 4. CSRF: a write (any method but GET/HEAD) made with a session must carry `X-CSRF-Token` equal
 *    to the session's token. Token-authenticated writes need none: browsers never add an
 *    Authorization header on their own. The cookie is also SameSite=Strict and HttpOnly. → 403
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Principal } from '../auth/principal.ts';
import { atLeast } from '../auth/roles.ts';
import { safeEqual } from '../auth/secret.ts';
import { DEFAULT_SESSION_TTL_MS, sessionPrincipal } from '../auth/sessions.ts';
import { tokenPrincipal } from '../auth/tokens.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './errors.ts';
import type { AnyRoute } from './route.ts';

export const SESSION_COOKIE = 'sluice_session';
export const CSRF_HEADER = 'X-CSRF-Token';

const unauthorized = (code: string, message: string, hint: string) =>
  new ApiError(401, code, message, { hint });

export async function authenticate(c: Context, deps: ApiDeps): Promise<Principal> {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const p = m ? await tokenPrincipal(deps.db, m[1]!) : undefined;
    if (!p)
      throw unauthorized(
        'auth.invalid_token',
        m ? 'the API token is unknown or revoked' : 'the Authorization header must be `Bearer <token>`',
        'create a token with `sluice users token NAME --name TOKEN`',
      );
    return p;
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie === undefined)
    throw unauthorized(
      'auth.required',
      'this needs a login',
      'log in with POST /api/login, or send `Authorization: Bearer <token>`',
    );
  const p = /^[A-Za-z0-9_-]{43}$/.test(cookie)
    ? await sessionPrincipal(deps.db, cookie, deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS)
    : undefined;
  if (!p) {
    clearSessionCookie(c, deps);
    throw unauthorized('auth.session_expired', 'the session has ended', 'log in again');
  }
  return p;
}

export function authorize(c: Context, r: AnyRoute, p: Principal): void {
  if (r.role !== 'public' && !atLeast(p.role, r.role))
    throw new ApiError(
      403,
      'auth.forbidden',
      `${r.method} ${r.path} needs role ${r.role}; ${p.user} acts as ${p.role}`,
      {
        hint: 'ask an admin for a role that includes it',
      },
    );
  if (p.via === 'session' && p.mustChangePassword && !r.beforePasswordChange)
    throw new ApiError(403, 'auth.password_change_required', 'change the one-time password first', {
      hint: 'POST /api/me/password with {"current", "password"}',
    });
  if (p.via === 'session' && c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    const sent = c.req.header(CSRF_HEADER);
    if (sent === undefined || !p.csrfToken || !safeEqual(sent, p.csrfToken))
      throw new ApiError(403, 'auth.csrf', `a write with a session needs the ${CSRF_HEADER} header`, {
        hint: 'send the csrfToken returned by POST /api/login or GET /api/me',
      });
  }
}

function secure(c: Context, deps: ApiDeps): boolean {
  const mode = deps.secureCookies ?? 'auto';
  if (mode !== 'auto') return mode;
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

export function setSessionCookie(c: Context, deps: ApiDeps, value: string): void {
  setCookie(c, SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: secure(c, deps),
    path: '/',
    // no Max-Age: the browser keeps it while it runs; the server ends idle sessions (sessionTtlMs)
  });
}

export function clearSessionCookie(c: Context, deps: ApiDeps): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict', secure: secure(c, deps) });
}
