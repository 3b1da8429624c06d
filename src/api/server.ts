/**
 * The HTTP server of the `web` role. For now it answers health probes; the REST API and the
 * dashboard mount here.
 *   GET /healthz  the process is up (no database access)
 *   GET /readyz   the database answers and its schema is the one this program needs
 */
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Db } from '../core/db/db.ts';
import { currentVersion, schemaVersion } from '../core/db/migrate.ts';
import { SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';

export function createApp(deps: { db: Db; version: string }): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true, version: deps.version }));
  app.get('/readyz', async (c) => {
    try {
      const v = await currentVersion(deps.db);
      const want = schemaVersion();
      if (v !== want) return c.json({ ok: false, reason: `schema version ${v}, need ${want}` }, 503);
      return c.json({ ok: true, schema: v });
    } catch (err) {
      return c.json({ ok: false, reason: `database unreachable: ${(err as Error).message}` }, 503);
    }
  });
  app.notFound((c) => c.json({ code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof SluiceError)
      return c.json({ code: err.code, message: err.message, hint: err.hint }, err.status as 400);
    return c.json({ code: 'internal', message: 'internal error; see the server log' }, 500);
  });
  return app;
}

export async function startServer(
  app: Hono,
  opts: { host: string; port: number; log: Logger },
): Promise<{ url: string; close(): Promise<void> }> {
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new SluiceError(
            'server.port_busy',
            `cannot listen on ${opts.host}:${opts.port}: the port is in use`,
            {
              hint: 'set server.port in sluice.yaml to a free port, or stop the program using it',
              exitCode: 2,
            },
          ),
        );
      } else reject(err);
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  opts.log.info({ url }, 'web server listening');
  return { url, close: () => new Promise((r) => server.close(() => r())) };
}
