/**
 * Browser sessions. The cookie value is 32 random bytes; the database keeps only its sha256, plus
 * a CSRF token the client must echo on writes. Sessions expire after `ttlMs` without use (sliding:
 * each use more than a minute after the last one extends it), and end at logout, at a password
 * change, and when the user is removed or disabled.
 */
import type { Queryable } from '../core/db/db.ts';
import type { Principal } from './principal.ts';
import type { Role } from './roles.ts';
import { digest, randomSecret } from './secret.ts';

export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

export async function createSession(
  q: Queryable,
  userId: string,
  ttlMs = DEFAULT_SESSION_TTL_MS,
): Promise<{ cookie: string; csrfToken: string; expiresAt: Date }> {
  const cookie = randomSecret(32);
  const csrfToken = randomSecret(24);
  // housekeeping: expired sessions are useless; drop a few on each login
  await q.exec(
    `delete from sessions where id in (select id from sessions where expires_at < now() limit 100)`,
  );
  const row = await q.one<{ expires_at: Date }>(
    `insert into sessions (id, user_id, csrf_token, expires_at)
     values ($1, $2, $3, now() + $4 * interval '1 millisecond') returning expires_at`,
    [digest(cookie), userId, csrfToken, ttlMs],
  );
  return { cookie, csrfToken, expiresAt: row.expires_at };
}

/** The principal of a session cookie, or undefined when it is unknown, expired or its user disabled. */
export async function sessionPrincipal(
  q: Queryable,
  cookie: string,
  ttlMs = DEFAULT_SESSION_TTL_MS,
): Promise<Principal | undefined> {
  const id = digest(cookie);
  const row = await q.maybeOne<{
    user_id: string;
    name: string;
    role: Role;
    must_change_password: boolean;
    csrf_token: string;
    stale: boolean;
  }>(
    `select s.user_id, u.name, u.role, u.must_change_password, s.csrf_token,
       s.last_seen_at < now() - interval '1 minute' as stale
     from sessions s join users u on u.id = s.user_id
     where s.id = $1 and s.expires_at > now() and not u.disabled`,
    [id],
  );
  if (!row) return undefined;
  if (row.stale)
    await q.exec(
      `update sessions set last_seen_at = now(), expires_at = now() + $2 * interval '1 millisecond' where id = $1`,
      [id, ttlMs],
    );
  return {
    userId: row.user_id,
    user: row.name,
    role: row.role,
    via: 'session',
    actor: `user:${row.name}`,
    csrfToken: row.csrf_token,
    sessionId: id,
    mustChangePassword: row.must_change_password,
  };
}

export async function endSession(q: Queryable, sessionId: string): Promise<void> {
  await q.exec('delete from sessions where id = $1', [sessionId]);
}
