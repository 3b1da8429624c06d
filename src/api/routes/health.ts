/**
 * Probes for load balancers and orchestrators (no login, no secrets), and the Prometheus metrics
 * (role viewer: scrape with an API token, `authorization: { credentials: <token> }`).
 * `/readyz` tells strangers only that the database is unreachable or has another schema; what went
 * wrong (the driver's error names host and port) goes to the log and to callers who log in or send
 * a token (any role) — which needs the database, so while it is unreachable only the log has it.
 */
import type { Context } from 'hono';
import type { Principal } from '../../auth/principal.ts';
import { currentVersion, schemaVersion } from '../../core/db/migrate.ts';
import { errorMessage } from '../../core/errors.ts';
import { createMetricsRegistry } from '../../ops/prometheus.ts';
import { authenticate } from '../auth-middleware.ts';
import type { ApiDeps } from '../deps.ts';
import { type AnyRoute, route } from '../route.ts';

const registries = new WeakMap<ApiDeps, ReturnType<typeof createMetricsRegistry>>();

export type Readiness =
  | { ok: true; schema: number }
  | { ok: false; problem: 'unreachable' | 'schema'; detail: string };

const GENERIC = {
  unreachable: 'database unreachable',
  schema: 'the database schema is not the one this program needs',
} as const;

/** The /readyz answer: the detail only for a caller who is logged in (or sent a token). */
export function readyzBody(r: Readiness, known: boolean): Record<string, unknown> {
  if (r.ok) return { ok: true, schema: r.schema };
  if (known) return { ok: false, reason: `${GENERIC[r.problem]}: ${r.detail}` };
  return {
    ok: false,
    reason: GENERIC[r.problem],
    hint: 'the server log says why; so does /readyz with a login or an API token',
  };
}

async function probe(deps: ApiDeps): Promise<Readiness> {
  try {
    const v = await currentVersion(deps.db);
    const want = schemaVersion();
    return v === want
      ? { ok: true, schema: v }
      : { ok: false, problem: 'schema', detail: `schema version ${v}, need ${want}` };
  } catch (err) {
    return { ok: false, problem: 'unreachable', detail: errorMessage(err) };
  }
}

/** The caller of a public route, if they sent valid credentials; undefined otherwise (never an error). */
async function optionalPrincipal(c: Context, deps: ApiDeps): Promise<Principal | undefined> {
  if (c.req.header('authorization') === undefined && c.req.header('cookie') === undefined) return undefined;
  return authenticate(c, deps).catch(() => undefined);
}

/** The last /readyz problem logged per application: a probe every few seconds logs a change once. */
const lastLogged = new WeakMap<ApiDeps, string>();
function logReadiness(deps: ApiDeps, r: Readiness): void {
  const said = r.ok ? 'ready' : `${r.problem}: ${r.detail}`;
  if (lastLogged.get(deps) === said) return;
  if (r.ok) {
    if (lastLogged.has(deps)) deps.log?.info({ schema: r.schema }, 'readyz: ready again');
  } else deps.log?.warn({ problem: r.problem, detail: r.detail }, `readyz: not ready: ${GENERIC[r.problem]}`);
  lastLogged.set(deps, said);
}

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
    description:
      'Without credentials a 503 says only what is wrong (database unreachable, or another schema); with a login or an API token of any role it also says why. The server log always has the detail.',
    handle: async (c, { deps }) => {
      const r = await probe(deps);
      logReadiness(deps, r);
      if (r.ok) return c.json(readyzBody(r, false));
      const known = (await optionalPrincipal(c, deps)) !== undefined;
      return c.json(readyzBody(r, known), 503);
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
        m = createMetricsRegistry(deps.db, { streams: deps.config.streams, config: deps.config });
        registries.set(deps, m);
      }
      return c.body(await m.collect(), 200, { 'Content-Type': m.registry.contentType });
    },
  }),
];
