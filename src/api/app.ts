/**
 * The HTTP application of the `web` role: health probes and the REST API under /api, from one
 * route table. For each route, in one place: authenticate and authorize (`auth-middleware.ts`),
 * validate the input (`validate.ts`), run the handler; every error becomes
 * `{code, message, hint?, field?}` in `errors.ts`. Every other path is the web dashboard
 * (`dashboard.ts`).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import { authenticate, authorize } from './auth-middleware.ts';
import { dashboardHandler } from './dashboard.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError, errorHandler } from './errors.ts';
import { openApiDocument } from './openapi.ts';
import type { AnyRoute, ApiEnv } from './route.ts';
import { actionRoutes } from './routes/actions.ts';
import { archiveRoutes } from './routes/archives.ts';
import { authRoutes } from './routes/auth.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { eventRoutes } from './routes/events.ts';
import { fileRoutes } from './routes/files.ts';
import { healthRoutes } from './routes/health.ts';
import { healthPageRoutes } from './routes/health-page.ts';
import { instrumentRoutes } from './routes/instruments.ts';
import { itemRoutes } from './routes/items.ts';
import { jobRerunRoutes } from './routes/job-reruns.ts';
import { metricRoutes } from './routes/metrics.ts';
import { poolRoutes } from './routes/pools.ts';
import { qcRoutes } from './routes/qc.ts';
import { retrievalRoutes } from './routes/retrievals.ts';
import { statusRoutes } from './routes/status.ts';
import { streamRoutes } from './routes/streams.ts';
import { throughputRoutes } from './routes/throughput.ts';
import { userRoutes } from './routes/users.ts';
import { varRoutes } from './routes/vars.ts';
import { readBody, readParams, readQuery } from './validate.ts';

/** Every route the server answers, with its role. Tests enumerate this. */
export function routeTable(): AnyRoute[] {
  const routes: AnyRoute[] = [
    ...healthRoutes,
    ...authRoutes,
    ...statusRoutes,
    ...instrumentRoutes,
    ...throughputRoutes,
    ...fileRoutes,
    ...actionRoutes,
    ...metricRoutes,
    ...qcRoutes,
    ...varRoutes,
    ...poolRoutes,
    ...userRoutes,
    ...eventRoutes,
    ...streamRoutes,
    ...itemRoutes,
    ...jobRerunRoutes,
    ...catalogRoutes,
    ...retrievalRoutes,
    ...healthPageRoutes,
    ...archiveRoutes,
  ];
  routes.push({
    method: 'GET',
    path: '/api/openapi.json',
    role: 'public',
    tag: 'meta',
    summary: 'this API described as OpenAPI 3.1, with each route role in x-sluice-role',
    handle: (c, { deps }) => c.json(openApiDocument(routes, deps.version)),
  });
  return routes;
}

function mount(r: AnyRoute, deps: ApiDeps) {
  return async function handleRoute(c: Parameters<AnyRoute['handle']>[0]): Promise<Response> {
    const principal = r.role === 'public' ? undefined : await authenticate(c, deps);
    if (principal) authorize(c, r, principal);
    c.set('principal', principal);
    const params = readParams(c, r);
    const query = readQuery(c, r);
    const body = await readBody(c, r);
    if (r.path.startsWith('/api/')) c.header('Cache-Control', 'no-store');
    return r.handle(c, {
      params,
      query,
      body,
      principal,
      actor: principal?.actor ?? 'anonymous',
      deps,
    } as never);
  };
}

export function createApp(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use('/api/*', async function securityHeaders(c, next) {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: 64 * 1024,
      onError: () => {
        throw new ApiError(413, 'too_large', 'the request body is larger than 64 KiB', { field: 'body' });
      },
    }),
  );
  for (const r of routeTable()) app.on(r.method, r.path, mount(r, deps));
  app.use('/assets/*', compress());
  app.get('*', dashboardHandler(deps.dashboardDir));
  app.notFound((c) => c.json({ code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError(errorHandler(deps.log));
  return app;
}
