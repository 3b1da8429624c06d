/**
 * API tokens for scripts: `Authorization: Bearer sluice_<43 characters>`. Shown once at creation;
 * the database keeps only the sha256. A token acts with the lower of its own role and its user's.
 */
import type { Queryable } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import { recordEvent } from '../engine/events.ts';
import type { Principal } from './principal.ts';
import { atLeast, lower, type Role } from './roles.ts';
import { digest, randomSecret } from './secret.ts';
import { checkName, checkRole, requireUser } from './users.ts';

const PREFIX = 'sluice_';

export interface TokenRow {
  id: string;
  user: string;
  name: string;
  role: Role;
  created_by: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export async function createToken(
  q: Queryable,
  t: { user: string; name: string; role?: string },
  actor: string,
): Promise<{ token: string; row: TokenRow }> {
  checkName('token', t.name);
  const user = await requireUser(q, t.user);
  const role = t.role === undefined ? user.role : checkRole(t.role);
  if (!atLeast(user.role, role))
    throw new SluiceError(
      'token.role_too_high',
      `a token of ${t.user} (${user.role}) cannot have role ${role}`,
      { hint: `use --role ${user.role} or lower`, status: 400, exitCode: 2 },
    );
  const token = `${PREFIX}${randomSecret(32)}`;
  const row = await q.maybeOne<TokenRow>(
    `insert into api_tokens (user_id, name, token_hash, role, created_by) values ($1, $2, $3, $4, $5)
     on conflict (user_id, name) where revoked_at is null do nothing
     returning id, $6::text as user, name, role, created_by, created_at, last_used_at, revoked_at`,
    [user.id, t.name, digest(token), role, actor, t.user],
  );
  if (!row)
    throw new SluiceError('token.exists', `${t.user} already has a token named '${t.name}'`, {
      hint: 'choose another name, or revoke the old token first',
      status: 409,
      exitCode: 2,
    });
  await recordEvent(q, {
    subjectType: 'user',
    subjectId: t.user,
    actor,
    reason: `token '${t.name}' (${role}) created by ${actor}`,
  });
  return { token, row };
}

export async function listTokens(q: Queryable, user?: string): Promise<TokenRow[]> {
  return q.query<TokenRow>(
    `select t.id, u.name as user, t.name, t.role, t.created_by, t.created_at, t.last_used_at, t.revoked_at
     from api_tokens t join users u on u.id = t.user_id
     where ($1::text is null or u.name = $1) and t.revoked_at is null order by u.name, t.name`,
    [user ?? null],
  );
}

/** Revokes a user's active token by name; false when there is none. */
export async function revokeToken(q: Queryable, user: string, name: string, actor: string): Promise<boolean> {
  const u = await requireUser(q, user);
  const n = await q.exec(
    'update api_tokens set revoked_at = now() where user_id = $1 and name = $2 and revoked_at is null',
    [u.id, name],
  );
  if (n > 0)
    await recordEvent(q, {
      subjectType: 'user',
      subjectId: user,
      actor,
      reason: `token '${name}' revoked by ${actor}`,
    });
  return n > 0;
}

/** The principal of a bearer token, or undefined when it is unknown, revoked or its user disabled. */
export async function tokenPrincipal(q: Queryable, token: string): Promise<Principal | undefined> {
  if (!token.startsWith(PREFIX) || token.length > 200) return undefined;
  const row = await q.maybeOne<{
    id: string;
    name: string;
    role: Role;
    user_id: string;
    user: string;
    user_role: Role;
    stale: boolean;
  }>(
    `select t.id, t.name, t.role, u.id as user_id, u.name as user, u.role as user_role,
       (t.last_used_at is null or t.last_used_at < now() - interval '1 minute') as stale
     from api_tokens t join users u on u.id = t.user_id
     where t.token_hash = $1 and t.revoked_at is null and not u.disabled`,
    [digest(token)],
  );
  if (!row) return undefined;
  if (row.stale) await q.exec('update api_tokens set last_used_at = now() where id = $1', [row.id]);
  return {
    userId: row.user_id,
    user: row.user,
    role: lower(row.role, row.user_role),
    via: 'token',
    actor: `token:${row.user}/${row.name}`,
    mustChangePassword: false,
  };
}
