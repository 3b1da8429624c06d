/** Runtime variables: read (viewer), change and unset (admin, audited with the actor). */
import { z } from 'zod';
import { checkVariableValue, isVariableName, type VariableDef, variableDefs } from '../../core/variables.ts';
import { badInput, notFound } from '../errors.ts';
import { intParam, variableName } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';

const known = () => `known variables: ${Object.keys(variableDefs).join(', ')}`;
const nameParams = z.strictObject({ name: variableName });

function requireVariable(name: string) {
  if (!isVariableName(name)) throw notFound('variable', name, known());
  return variableDefs[name];
}

export const varRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/vars',
    role: 'viewer',
    tag: 'variables',
    summary: 'every variable: value, where it comes from (override, config, default), description',
    handle: async (c, { deps }) => c.json(await deps.vars.list()),
  }),
  route({
    method: 'GET',
    path: '/api/vars/history',
    role: 'viewer',
    tag: 'variables',
    summary: 'the audit trail of variable changes, newest first',
    query: z.strictObject({
      name: variableName.optional(),
      limit: intParam(1, 1000, 'a number of entries').optional(),
    }),
    handle: async (c, { query, deps }) => {
      if (query.name !== undefined && !isVariableName(query.name))
        throw badInput('name', `unknown variable '${query.name}'`, known());
      return c.json(await deps.vars.audit(query.name, query.limit ?? 50));
    },
  }),
  route({
    method: 'PUT',
    path: '/api/vars/:name',
    role: 'admin',
    tag: 'variables',
    summary: 'override a variable at runtime (audited)',
    params: nameParams,
    body: z.strictObject({
      value: z.unknown().refine((v) => v !== undefined, 'a value is required (JSON: 42, true, null, "text")'),
    }),
    handle: async (c, { params, body, actor, deps }) => {
      const def = requireVariable(params.name);
      const r = checkVariableValue(def as VariableDef, body.value);
      if (!r.ok) throw badInput('value', r.problem, `${def.name}: ${def.description}`);
      await deps.db.tx((tx) => deps.vars.set(params.name, r.value, actor, tx));
      return c.json((await deps.vars.list()).find((v) => v.name === params.name));
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/vars/:name',
    role: 'admin',
    tag: 'variables',
    summary: 'remove the override; the config file value (or the default) applies again',
    params: nameParams,
    handle: async (c, { params, actor, deps }) => {
      requireVariable(params.name);
      const removed = await deps.db.tx((tx) => deps.vars.unset(params.name, actor, tx));
      return c.json({ name: params.name, removed });
    },
  }),
];
