/**
 * Listening: `startServer` serves an application (the REST API: `createApp` in `app.ts`) on a
 * host and port, and closes it gracefully (open event streams are cut after a short grace).
 */
import type { Server as HttpServer } from 'node:http';
import { type ServerType, serve } from '@hono/node-server';
import { SluiceError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';

export async function startServer(
  app: { fetch: (request: Request) => Response | Promise<Response> },
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
  return {
    url,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        // keep-alive connections and event streams would hold close() open for ever
        const http = server as Partial<HttpServer>;
        http.closeIdleConnections?.();
        setTimeout(() => http.closeAllConnections?.(), 2000).unref();
      }),
  };
}
