/**
 * The web dashboard's files (`web/dist`, built by `npm run build:web`) on every path that is not
 * the API's:
 *
 *   /assets/<name>-<hash>.js|css   the file, cached for a year (the name changes with the content);
 *                                  a missing one is a 404, never index.html
 *   /favicon.svg and other files   the file at the top of web/dist, revalidated
 *   anything else (/files/x.raw)   index.html, never cached: the dashboard routes in the browser,
 *                                  and a new build shows at the next page load
 *
 * `/api/*`, `/healthz`, `/readyz` and `/metrics` are routes of the table and answer before this.
 * Without a build, every page answers 503 with how to make one (HTML for a browser, JSON
 * otherwise) — the API keeps working. Files are read per request, so a rebuild needs no restart.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from 'hono';
import { projectPath } from '../core/project.ts';
import type { ErrorBody } from './errors.ts';

export const DEFAULT_DASHBOARD_DIR = projectPath('web/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** uPlot and React set styles through the CSSOM, which `style-src 'self'` allows. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const NOT_BUILT_HINT =
  'run `npm run build:web` in the Sluice checkout (`sluice start` and `npm start` do it when needed; it needs the dev dependencies: `npm install`, not `--omit=dev`)';

/** Set by src/runtime/dashboard-build.ts while `sluice start` builds the dashboard in the background. */
export const dashboardBuild = { running: false };

function isApiPath(p: string): boolean {
  return p === '/api' || p.startsWith('/api/');
}

async function readOrUndefined(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch {
    return undefined;
  }
}

function notBuilt(c: Context, dir: string): Response {
  if (dashboardBuild.running) c.header('Retry-After', '10');
  const message = dashboardBuild.running
    ? 'the dashboard is being built (this takes up to a minute): reload this page shortly'
    : `the dashboard is not built: ${path.join(dir, 'index.html')} is missing`;
  if (!(c.req.header('accept') ?? '').includes('text/html')) {
    const body: ErrorBody = { code: 'dashboard.not_built', message, hint: NOT_BUILT_HINT };
    return c.json(body, 503);
  }
  c.header('Cache-Control', 'no-store');
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sluice: dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Sluice is running, but its dashboard is not built${dashboardBuild.running ? ' yet' : ''}</h1>
<p>${message}.</p>
${dashboardBuild.running ? '' : `<p>To fix it, ${NOT_BUILT_HINT.replace(/`([^`]+)`/g, '<code>$1</code>')}, then reload this page.</p>`}
<p>The REST API works meanwhile: <a href="/api/openapi.json">/api/openapi.json</a>, <a href="/healthz">/healthz</a>.</p>
</body></html>`,
    503,
  );
}

/** A Hono handler for GET (and HEAD) on `*`, mounted after the API routes. */
export function dashboardHandler(dir: string = DEFAULT_DASHBOARD_DIR) {
  const root = path.resolve(dir);
  return async function serveDashboard(c: Context, next: () => Promise<void>): Promise<Response | undefined> {
    const urlPath = c.req.path;
    if (isApiPath(urlPath)) {
      await next();
      return undefined;
    }
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    let rel: string;
    try {
      rel = decodeURIComponent(urlPath);
    } catch {
      rel = '/';
    }
    const file = path.resolve(root, `.${path.posix.normalize(rel)}`);
    const inside = file.startsWith(`${root}${path.sep}`) && !rel.includes('\0');
    const ext = path.extname(file);
    if (inside && rel.startsWith('/assets/')) {
      const body = await readOrUndefined(file);
      if (!body) return c.json({ code: 'not_found', message: `no dashboard file ${urlPath}` }, 404);
      c.header('Cache-Control', 'public, max-age=31536000, immutable');
      c.header('Content-Type', TYPES[ext] ?? 'application/octet-stream');
      return c.body(new Uint8Array(body));
    }
    // a file at the top of dist (favicon.svg); nested paths are dashboard routes
    if (inside && path.dirname(file) === root && ext !== '.html' && TYPES[ext]) {
      const body = await readOrUndefined(file);
      if (body) {
        c.header('Cache-Control', 'no-cache');
        c.header('Content-Type', TYPES[ext]);
        return c.body(new Uint8Array(body));
      }
    }
    const index = await readOrUndefined(path.join(root, 'index.html'));
    if (!index) return notBuilt(c, root);
    c.header('Cache-Control', 'no-cache');
    c.header('Content-Security-Policy', CSP);
    c.header('X-Frame-Options', 'DENY');
    return c.html(index.toString('utf8'));
  };
}
