/**
 * Real headless Chromium for the dashboard tests: Debian's `chromium` driven by playwright-core
 * (no browser download). The flags keep it from reaching for the network (updates, sync, QUIC)
 * on a closed network; playwright gives every launch a fresh profile directory.
 *
 * requireChromium(): the executable, or undefined with one line (the tests skip) — under
 * CI=true a missing browser fails the run (`scripts/install-test-deps.sh` installs it).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { ApiEnv } from '../../src/api/route.ts';
import { startServer } from '../../src/api/server.ts';
import { silentLogger } from '../../src/core/log.ts';
import { PASSWORD } from './api.ts';
import { unavailable } from './infra.ts';
import { patient } from './patience.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCREENSHOTS = path.join(root, 'test-artifacts', 'screenshots');

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function requireChromium(): string | undefined {
  const exe = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
  try {
    accessSync(exe, constants.X_OK);
    return exe;
  } catch {
    return unavailable('browser', `${exe} is not installed (apt-get install chromium)`);
  }
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
}

/** Builds web/dist when it is missing or older than its sources (as `npm start` does). */
export function buildDashboardIfStale(): void {
  execFileSync(process.execPath, [path.join(root, 'scripts/build-web.mjs'), '--if-stale'], {
    cwd: root,
    env: { ...process.env, SLUICE_BUILD_QUIET: '1' },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: patient(120_000),
  });
}

/** A full-page screenshot kept as a test artifact: test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Fills the dashboard's login form on `page` (already at a page that shows it) as `user`. */
export async function logIn(page: Page, user: string, password = PASSWORD): Promise<void> {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/**
 * The dashboard of `app` served on loopback (built first if stale), a fresh Chromium and a page
 * logged in as `user` at `at`; `fn` runs on it, then browser and server are closed whatever happens.
 */
export async function withDashboardPage<T>(
  app: Hono<ApiEnv>,
  executablePath: string,
  user: string,
  fn: (page: Page) => Promise<T>,
  at = '/',
): Promise<T> {
  buildDashboardIfStale();
  const server = await startServer(app, { host: '127.0.0.1', port: 0, log: silentLogger });
  const browser = await launchChromium(executablePath);
  try {
    const page = await browser.newPage({ baseURL: server.url });
    page.setDefaultTimeout(patient(30_000));
    await page.goto(at);
    await logIn(page, user);
    return await fn(page);
  } finally {
    await browser.close();
    await server.close();
  }
}
