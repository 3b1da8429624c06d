/** Pools: sizes and use (viewer); runtime overrides (admin, audited). Size 0 drains a pool. */
import { z } from 'zod';
import { listPools, poolExists, setPoolSize } from '../../engine/pools.ts';
import { notFound } from '../errors.ts';
import { poolName } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';

export const poolRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/pools',
    role: 'viewer',
    tag: 'pools',
    summary: 'each pool: effective size, configured size, override, running and queued work',
    handle: async (c, { deps }) => c.json(await listPools(deps.db)),
  }),
  route({
    method: 'PUT',
    path: '/api/pools/:name',
    role: 'admin',
    tag: 'pools',
    summary: 'override a pool size at runtime (0 drains it); null returns to the configured size',
    params: z.strictObject({ name: poolName }),
    body: z.strictObject({
      size: z
        .number({ message: 'expected a whole number ≥ 0, or null' })
        .int('expected a whole number ≥ 0, or null')
        .min(0, 'expected a whole number ≥ 0, or null')
        .max(100_000)
        .nullable(),
    }),
    handle: async (c, { params, body, actor, deps }) => {
      if (!(await poolExists(deps.db, params.name)))
        throw notFound('pool', params.name, 'list pools with GET /api/pools');
      await deps.db.tx((tx) => setPoolSize(tx, params.name, body.size, actor));
      return c.json((await listPools(deps.db)).find((p) => p.name === params.name));
    },
  }),
];
