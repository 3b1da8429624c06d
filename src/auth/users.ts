/**
 * Local users: create, list, remove, change passwords, check a login. Every change is recorded in
 * the event log (subject type `user`) with the actor who made it.
 */
import type { Queryable } from '../core/db/db.ts';
import { SluiceError } from '../core/errors.ts';
import { recordEvent } from '../engine/events.ts';
import { dummyHash, hashPassword, passwordProblem, verifyPassword } from './password.ts';
import { isRole, NAME_PATTERN, ROLES, type Role } from './roles.ts';
import { generatePassword } from './secret.ts';

export interface UserRow {
  id: string;
  name: string;
  role: Role;
  must_change_password: boolean;
  disabled: boolean;
  created_by: string;
  created_at: Date;
  password_changed_at: Date;
}

const COLUMNS = 'id, name, role, must_change_password, disabled, created_by, created_at, password_changed_at';

function usage(code: string, message: string, status: number, hint?: string): SluiceError {
  return new SluiceError(code, message, { hint, status, exitCode: 2 });
}

export function checkName(what: 'user' | 'token', name: string): void {
  if (!NAME_PATTERN.test(name))
    throw usage(
      `${what}.bad_name`,
      `${what} name '${name}' is not allowed`,
      400,
      'use 1–64 letters, digits, `.`, `_` or `-`, starting with a letter or digit',
    );
}

export function checkRole(role: string): Role {
  if (!isRole(role))
    throw usage('user.bad_role', `unknown role '${role}'`, 400, `roles: ${ROLES.join(', ')}`);
  return role;
}

export function checkPassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw usage('user.bad_password', problem, 400);
}

export async function getUser(q: Queryable, name: string): Promise<UserRow | undefined> {
  return q.maybeOne<UserRow>(`select ${COLUMNS} from users where name = $1`, [name]);
}

export async function requireUser(q: Queryable, name: string): Promise<UserRow> {
  const u = await getUser(q, name);
  if (!u) throw usage('user.not_found', `no user '${name}'`, 404, 'list users with `sluice users list`');
  return u;
}

export async function listUsers(
  q: Queryable,
): Promise<(UserRow & { tokens: number; last_seen_at: Date | null })[]> {
  const rows = await q.query<UserRow & { tokens: string; last_seen_at: Date | null }>(
    `select ${COLUMNS.split(', ')
      .map((c) => `u.${c}`)
      .join(', ')},
       (select count(*) from api_tokens t where t.user_id = u.id and t.revoked_at is null) as tokens,
       (select max(s.last_seen_at) from sessions s where s.user_id = u.id) as last_seen_at
     from users u order by u.name`,
  );
  return rows.map((r) => ({ ...r, tokens: Number(r.tokens) }));
}

/**
 * Creates a user. Without `password` one is generated, returned (show it once) and must be
 * changed at the first login.
 */
export async function createUser(
  q: Queryable,
  u: { name: string; role: string; password?: string },
  actor: string,
): Promise<{ user: UserRow; password?: string }> {
  checkName('user', u.name);
  const role = checkRole(u.role);
  if (u.password !== undefined) checkPassword(u.password);
  const password = u.password ?? generatePassword();
  const user = await q.maybeOne<UserRow>(
    `insert into users (name, password_hash, role, must_change_password, created_by) values ($1, $2, $3, $4, $5)
     on conflict (name) do nothing returning ${COLUMNS}`,
    [u.name, await hashPassword(password), role, u.password === undefined, actor],
  );
  if (!user) throw usage('user.exists', `user '${u.name}' already exists`, 409);
  await recordEvent(q, {
    subjectType: 'user',
    subjectId: u.name,
    actor,
    to: role,
    reason: `user created with role ${role} by ${actor}`,
  });
  return u.password === undefined ? { user, password } : { user };
}

/** Removes a user with their sessions and tokens. The last enabled admin cannot be removed. */
export async function removeUser(q: Queryable, name: string, actor: string): Promise<void> {
  const u = await requireUser(q, name);
  if (u.role === 'admin' && !u.disabled) {
    const others = await q.one<{ n: string }>(
      `select count(*) as n from users where role = 'admin' and not disabled and id <> $1`,
      [u.id],
    );
    if (Number(others.n) === 0)
      throw usage(
        'user.last_admin',
        `'${name}' is the last admin and cannot be removed`,
        409,
        'create another admin first (`sluice users add NAME --role admin`)',
      );
  }
  await q.exec('delete from users where id = $1', [u.id]);
  await recordEvent(q, {
    subjectType: 'user',
    subjectId: name,
    actor,
    from: u.role,
    reason: `user removed by ${actor}`,
  });
}

/**
 * Sets a new password and ends the user's sessions. Without `password` one is generated,
 * returned and must be changed at the next login.
 */
export async function setPassword(
  q: Queryable,
  name: string,
  actor: string,
  password?: string,
): Promise<string | undefined> {
  const u = await requireUser(q, name);
  if (password !== undefined) checkPassword(password);
  const pw = password ?? generatePassword();
  await q.exec(
    `update users set password_hash = $2, must_change_password = $3, password_changed_at = now() where id = $1`,
    [u.id, await hashPassword(pw), password === undefined],
  );
  await q.exec('delete from sessions where user_id = $1', [u.id]);
  await recordEvent(q, {
    subjectType: 'user',
    subjectId: name,
    actor,
    reason: password === undefined ? `password reset by ${actor}` : `password changed by ${actor}`,
  });
  return password === undefined ? pw : undefined;
}

/**
 * Checks a login. Unknown users, disabled users and wrong passwords all cost one scrypt and give
 * the same answer, so neither timing nor message tells which names exist.
 */
export async function authenticate(
  q: Queryable,
  name: string,
  password: string,
): Promise<UserRow | undefined> {
  const row = NAME_PATTERN.test(name)
    ? await q.maybeOne<UserRow & { password_hash: string }>(
        `select ${COLUMNS}, password_hash from users where name = $1`,
        [name],
      )
    : undefined;
  const ok = await verifyPassword(password, row?.password_hash ?? (await dummyHash()));
  if (!row || !ok || row.disabled) return undefined;
  const { password_hash: _h, ...user } = row;
  return user;
}
