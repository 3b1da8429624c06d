/** Users and API tokens (admin). Generated passwords and tokens are returned once, never again. */
import { z } from 'zod';
import { ROLES } from '../../auth/roles.ts';
import { createToken, listTokens, revokeToken } from '../../auth/tokens.ts';
import { createUser, listUsers, removeUser, requireUser } from '../../auth/users.ts';
import { notFound } from '../errors.ts';
import { principalName } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';

const role = z.enum(ROLES, { message: `expected one of: ${ROLES.join(', ')}` });
const userParams = z.strictObject({ name: principalName });

export const userRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/users',
    role: 'admin',
    tag: 'users',
    summary: 'users with their role, active token count and last activity',
    handle: async (c, { deps }) => c.json(await listUsers(deps.db)),
  }),
  route({
    method: 'POST',
    path: '/api/users',
    role: 'admin',
    tag: 'users',
    summary: 'create a user; without a password one is generated, returned once, and must be changed',
    success: 201,
    body: z.strictObject({
      name: principalName,
      role,
      password: z.string().min(12, 'a password needs at least 12 characters').max(1024).optional(),
    }),
    handle: async (c, { body, actor, deps }) => {
      const r = await deps.db.tx((tx) => createUser(tx, body, actor));
      return c.json(
        {
          user: r.user.name,
          role: r.user.role,
          password: r.password ?? null,
          mustChangePassword: r.user.must_change_password,
        },
        201,
      );
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/users/:name',
    role: 'admin',
    tag: 'users',
    summary: 'remove a user with their sessions and tokens (not the last admin)',
    params: userParams,
    handle: async (c, { params, actor, deps }) => {
      await deps.db.tx((tx) => removeUser(tx, params.name, actor));
      return c.json({ removed: params.name });
    },
  }),
  route({
    method: 'GET',
    path: '/api/users/:name/tokens',
    role: 'admin',
    tag: 'users',
    summary: "a user's active API tokens (names and roles; the secrets are never shown again)",
    params: userParams,
    handle: async (c, { params, deps }) => {
      await requireUser(deps.db, params.name);
      return c.json(await listTokens(deps.db, params.name));
    },
  }),
  route({
    method: 'POST',
    path: '/api/users/:name/tokens',
    role: 'admin',
    tag: 'users',
    summary: "create an API token for scripts (role at most the user's); the token is returned once",
    success: 201,
    params: userParams,
    body: z.strictObject({ name: principalName, role: role.optional() }),
    handle: async (c, { params, body, actor, deps }) => {
      const r = await deps.db.tx((tx) =>
        createToken(tx, { user: params.name, name: body.name, role: body.role }, actor),
      );
      return c.json({ token: r.token, name: r.row.name, user: r.row.user, role: r.row.role }, 201);
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/users/:name/tokens/:token',
    role: 'admin',
    tag: 'users',
    summary: 'revoke an API token',
    params: z.strictObject({ name: principalName, token: principalName }),
    handle: async (c, { params, actor, deps }) => {
      const ok = await deps.db.tx((tx) => revokeToken(tx, params.name, params.token, actor));
      if (!ok) throw notFound('active token', `${params.name}/${params.token}`);
      return c.json({ revoked: `${params.name}/${params.token}` });
    },
  }),
];
