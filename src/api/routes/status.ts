/** What runs where, and each extra backup target's progress: like `sluice status --json`. */
import { targetProgress } from '../../backup/s3/progress.ts';
import type { Config } from '../../core/config/index.ts';
import type { Queryable } from '../../core/db/db.ts';
import { statusSnapshot as engineStatus } from '../../engine/status.ts';
import { type AnyRoute, route } from '../route.ts';

export async function statusSnapshot(db: Queryable, config: Config) {
  const [engine, targets] = await Promise.all([
    engineStatus(db, config.worker.lease_seconds * 1000 * 2),
    targetProgress(db, config),
  ]);
  return { ...engine, targets };
}

export const statusRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/status',
    role: 'viewer',
    tag: 'status',
    summary:
      "processes and heartbeats, pools used/size, queues and the oldest waiting task, each backup target's progress",
    handle: async (c, { deps }) => c.json(await statusSnapshot(deps.db, deps.config)),
  }),
];
