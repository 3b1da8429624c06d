#!/usr/bin/env node
/**
 * Builds the web dashboard into web/dist (the server serves it at `/`).
 *
 *   node scripts/build-web.mjs             build now (npm run build:web)
 *   node scripts/build-web.mjs --if-stale  build only when web/dist is missing or older than a
 *                                          source (npm start runs this first, and the browser tests)
 *
 * The build goes to a temporary folder that then replaces web/dist, so a server never sees a
 * half-written dashboard. When Vite is not installed (`npm install --omit=dev`), it says so and
 * exits 0: Sluice still starts, and `/` explains how to build the dashboard.
 *
 * Several processes may ask at once (`sluice start` does the stale check at every start, and test
 * suites start many): builds take turns on a lock directory (web/.build-lock; one older than ten
 * minutes is a crashed build's and is taken over), and a waiting `--if-stale` checks again once the
 * lock is free, so the others find the first one's build fresh and do nothing.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { takeLock } from './build-lock.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const dist = path.join(web, 'dist');
const SOURCES = [
  path.join(web, 'src'),
  path.join(web, 'public'),
  path.join(web, 'index.html'),
  path.join(web, 'vite.config.ts'),
  path.join(root, 'src/core/visible.ts'), // the dashboard shows names with it
  path.join(root, 'package-lock.json'),
];

/** The newest modification time below `p` (a file or a folder), in ms. */
function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let t = s.mtimeMs;
  for (const e of readdirSync(p)) t = Math.max(t, newest(path.join(p, e)));
  return t;
}

function isStale() {
  const index = path.join(dist, 'index.html');
  if (!existsSync(index)) return 'web/dist is missing';
  const built = statSync(index).mtimeMs;
  const changed = SOURCES.find((s) => newest(s) > built);
  return changed ? `${path.relative(root, changed)} changed since the last build` : undefined;
}

async function build() {
  let vite;
  try {
    vite = await import('vite');
  } catch {
    process.stderr.write(
      'sluice: cannot build the dashboard: vite is not installed (run `npm install` with dev dependencies); ' +
        'the server starts without it and / says how to build it\n',
    );
    return false;
  }
  const tmp = path.join(web, `.dist-${process.pid}`);
  // a production build whatever the caller's NODE_ENV (vitest sets `test`, which would bundle
  // React's development build: twice the size)
  process.env.NODE_ENV = 'production';
  await vite.build({
    mode: 'production',
    configFile: path.join(web, 'vite.config.ts'),
    logLevel: process.env.SLUICE_BUILD_QUIET ? 'warn' : 'info',
    build: { outDir: tmp, emptyOutDir: true },
  });
  const old = path.join(web, `.dist-old-${process.pid}`);
  if (existsSync(dist)) await rename(dist, old);
  await rename(tmp, dist);
  await rm(old, { recursive: true, force: true });
  return true;
}

const lock = path.join(web, '.build-lock');
const LOCK_STALE_MS = 10 * 60_000;

const ifStale = process.argv.includes('--if-stale');
if (ifStale && !isStale()) process.exit(0);
await takeLock(lock, { staleMs: LOCK_STALE_MS, pollMs: 500 });
let code = 0;
try {
  const why = ifStale ? isStale() : 'asked to';
  if (why) {
    if (ifStale) process.stderr.write(`sluice: building the dashboard (${why})…\n`);
    await build();
  }
} catch (err) {
  process.stderr.write(`sluice: the dashboard build failed: ${err instanceof Error ? err.message : err}\n`);
  code = 1;
} finally {
  await rm(lock, { recursive: true, force: true });
}
process.exit(code);
