/** What runs where: like `sluice status --json`. */
import type { Config } from '../../core/config/index.ts';
import type { Queryable } from '../../core/db/db.ts';
import { statusSnapshot as engineStatus } from '../../engine/status.ts';
import { type AnyRoute, route } from '../route.ts';

export function statusSnapshot(db: Queryable, config: Config) {
  return engineStatus(db, config.worker.lease_seconds * 1000 * 2);
}

export const statusRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/status',
    role: 'viewer',
    tag: 'status',
    summary: 'processes and heartbeats, pools used/size, queues and the oldest waiting task',
    handle: async (c, { deps }) => c.json(await statusSnapshot(deps.db, deps.config)),
  }),
];
