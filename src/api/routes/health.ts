/**
 * Probes for load balancers and orchestrators (no login, no secrets), and the Prometheus metrics
 * (role viewer: scrape with an API token, `authorization: { credentials: <token> }`).
 */
import { currentVersion, schemaVersion } from '../../core/db/migrate.ts';
import { createMetricsRegistry } from '../../ops/prometheus.ts';
import type { ApiDeps } from '../deps.ts';
import { type AnyRoute, route } from '../route.ts';

const registries = new WeakMap<ApiDeps, ReturnType<typeof createMetricsRegistry>>();

export const healthRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/healthz',
    role: 'public',
    tag: 'health',
    summary: 'the process is up (no database access)',
    handle: (c, { deps }) => c.json({ ok: true, version: deps.version, mode: deps.config.instance.mode }),
  }),
  route({
    method: 'GET',
    path: '/readyz',
    role: 'public',
    tag: 'health',
    summary: 'the database answers and its schema is the one this program needs',
    handle: async (c, { deps }) => {
      try {
        const v = await currentVersion(deps.db);
        const want = schemaVersion();
        if (v !== want) return c.json({ ok: false, reason: `schema version ${v}, need ${want}` }, 503);
        return c.json({ ok: true, schema: v });
      } catch (err) {
        return c.json({ ok: false, reason: `database unreachable: ${(err as Error).message}` }, 503);
      }
    },
  }),
  route({
    method: 'GET',
    path: '/metrics',
    role: 'viewer',
    tag: 'health',
    summary: 'Prometheus metrics: files by status, queues, pools, jobs, bytes copied, instruments, workers',
    handle: async (c, { deps }) => {
      let m = registries.get(deps);
      if (!m) {
        m = createMetricsRegistry(deps.db);
        registries.set(deps, m);
      }
      return c.body(await m.collect(), 200, { 'Content-Type': m.registry.contentType });
    },
  }),
];
