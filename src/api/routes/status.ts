/** What runs where: like `sluice status --json`. */
import type { Config } from '../../core/config/index.ts';
import type { Queryable } from '../../core/db/db.ts';
import { listPools } from '../../engine/pools.ts';
import { listProcesses } from '../../engine/processes.ts';
import { queueStatus } from '../../engine/status.ts';
import { type AnyRoute, route } from '../route.ts';

export async function statusSnapshot(db: Queryable, config: Config) {
  const staleMs = config.worker.lease_seconds * 1000 * 2;
  const [procs, pools, queues] = await Promise.all([listProcesses(db), listPools(db), queueStatus(db)]);
  const processes = procs.map((p) => ({
    id: p.id,
    host: p.host,
    pid: p.pid,
    role: p.role,
    tags: p.tags,
    running: Number(p.running),
    started_at: p.started_at,
    last_heartbeat_at: p.last_heartbeat_at,
    alive: Date.now() - p.last_heartbeat_at.getTime() < staleMs,
  }));
  return { processes, pools, queues };
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
