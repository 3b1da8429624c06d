/** The dashboard's Health page: one answer with workers, pools, queues, instruments, targets, streams, database backups and alerts (src/views/health.ts). */
import { healthPage } from '../../views/health.ts';
import { type AnyRoute, route } from '../route.ts';

export const healthPageRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/health/overview',
    role: 'viewer',
    tag: 'health',
    summary:
      'the health page: workers (dead ones, Sluice version mismatch), pools, queues with the oldest waiting task, instruments, backup and archive targets, streams, database backups, alerts firing',
    description:
      'Every row has `level` (ok, warning, critical), `problem` (what is wrong, in words, or null) and `link` (the dashboard page to act on it, or null). Asks NATS for each stream source (3 s timeout) and evaluates the alert rules on a fresh snapshot without sending anything.',
    handle: async (c, { deps }) => c.json(await healthPage(deps.db, deps)),
  }),
];
