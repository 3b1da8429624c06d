/**
 * The dashboard's Health page: one answer with workers, pools, queues, instruments, targets,
 * streams, database backups and alerts (src/views/health.ts). The answer is shared for
 * HEALTH_SHARE_MS by every request of this process: each open page polls it, and it reads the whole
 * copies table, asks NATS and evaluates the alert rules.
 */

import { type HealthPage, healthPage } from '../../views/health.ts';
import type { ApiDeps } from '../deps.ts';
import { type AnyRoute, route } from '../route.ts';

export const HEALTH_SHARE_MS = 5000;

const shared = new WeakMap<ApiDeps, { at: number; page: Promise<HealthPage> }>();

/** The page computed within HEALTH_SHARE_MS, or a new one (a failed one is not kept). */
function sharedPage(deps: ApiDeps): Promise<HealthPage> {
  const s = shared.get(deps);
  if (s && Date.now() - s.at < HEALTH_SHARE_MS) return s.page;
  const page = healthPage(deps.db, deps);
  const entry = { at: Date.now(), page };
  shared.set(deps, entry);
  page.catch(() => {
    if (shared.get(deps) === entry) shared.delete(deps);
  });
  return page;
}

export const healthPageRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/health/overview',
    role: 'viewer',
    tag: 'health',
    summary:
      'the health page: workers (dead ones, Sluice version mismatch), pools, queues with the oldest waiting task, instruments, backup and archive targets, streams, database backups, alerts firing',
    description:
      'Every row has `level` (ok, warning, critical), `problem` (what is wrong, in words, or null) and `link` (the dashboard page to act on it, or null). Asks NATS for each stream source (3 s timeout) and evaluates the alert rules on a fresh snapshot without sending anything. One answer serves every request for 5 s.',
    handle: async (c, { deps }) => c.json(await sharedPage(deps)),
  }),
];
