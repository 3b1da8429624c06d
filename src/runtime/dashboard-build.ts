/**
 * `sluice start` and `sluice demo` in a checkout build the web dashboard when `web/dist` is missing
 * or older than its sources, so a fresh install serves `/` without a manual `npm run build:web`.
 *
 * The build is `scripts/build-web.mjs --if-stale` in a child process (the same check and build as
 * `npm start`; Vite's memory and its NODE_ENV stay out of the server), started in the background:
 * the worker and the API do not wait for it. Meanwhile `/` answers 503 saying the dashboard is
 * being built; once the script has swapped the new build in, `/` serves it (files are read per
 * request). The script writes to a temporary folder and renames it into place, so a page never
 * sees half a build.
 *
 * Without Vite (`npm ci --omit=dev`) the script says so and exits 0: `/` keeps explaining how to
 * build. The image (deploy/Dockerfile) ships a built `web/dist` and no build script: nothing runs.
 * Measured here: checking a fresh build ~0.2 s; building ~20 s on an idle 2-core machine.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_DASHBOARD_DIR, dashboardBuild } from '../api/dashboard.ts';
import type { Logger } from '../core/log.ts';
import { projectPath } from '../core/project.ts';

const BUILD_SCRIPT = projectPath('scripts/build-web.mjs');

let building: Promise<void> | undefined;

/** Starts the build when needed; resolves when it has finished (callers need not wait). */
export function buildDashboardIfStale(log: Logger, script = BUILD_SCRIPT): Promise<void> {
  if (building) return building;
  if (!existsSync(script)) {
    if (!existsSync(path.join(DEFAULT_DASHBOARD_DIR, 'index.html')))
      log.warn(
        { dir: DEFAULT_DASHBOARD_DIR },
        'the web dashboard is not built and this installation has no build script: / explains this (the API works)',
      );
    return Promise.resolve();
  }
  dashboardBuild.running = true;
  building = new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [script, '--if-stale'], {
      env: { ...process.env, SLUICE_BUILD_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => {
      log.warn({ err: err.message }, 'could not run the dashboard build');
      resolve();
    });
    child.on('close', (code) => {
      const said = out.trim();
      if (code !== 0)
        log.error({ code, output: said }, 'building the web dashboard failed: / explains how to build it');
      else if (said.includes('building the dashboard')) {
        if (existsSync(path.join(DEFAULT_DASHBOARD_DIR, 'index.html')))
          log.info({ dir: DEFAULT_DASHBOARD_DIR }, 'built the web dashboard');
        else log.warn({ output: said }, 'the web dashboard could not be built: / explains how to build it');
      }
      resolve();
    });
  }).finally(() => {
    building = undefined;
    dashboardBuild.running = false;
  });
  return building;
}
