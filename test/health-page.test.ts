/**
 * The dashboard's Health page in real headless Chromium against a real server and database: it
 * names a dead worker, shows the Sluice version mismatch on top with the odd worker marked, lists
 * the old waiting task and what needs action with links, and refreshes by itself (a worker found
 * dead after the page opened shows up without a reload). Screenshot: test-artifacts/screenshots/health.png.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/api/server.ts';
import { silentLogger } from '../src/core/log.ts';
import { type ApiHarness, createApiHarness, PASSWORD } from './helpers/api.ts';
import { buildDashboardIfStale, launchChromium, requireChromium, screenshot } from './helpers/browser.ts';
import { HEALTH, seedHealth } from './helpers/health-seed.ts';
import { patient } from './helpers/patience.ts';

const chromiumPath = requireChromium();

let h: ApiHarness;
let server: Awaited<ReturnType<typeof startServer>>;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!chromiumPath) return;
  buildDashboardIfStale();
  h = await createApiHarness();
  await seedHealth(h.db);
  server = await startServer(h.app, { host: '127.0.0.1', port: 0, log: silentLogger });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});

async function open(path: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, baseURL: server.url });
  context.setDefaultTimeout(patient(30_000));
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(path);
  await page.getByLabel('User name').fill('viewer');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor();
  return page;
}

describe.skipIf(!chromiumPath)('the Health page in Chromium', () => {
  it('shows a dead worker, the Sluice version mismatch, the old waiting task and what needs action', async () => {
    const page = await open('/health');
    const banner = page.getByRole('alert').filter({ hasText: 'Sluice versions differ' });
    const text = await banner.textContent();
    expect(text).toContain(`${HEALTH.version} on lab-a, lab-b (2 processes) — most run this`);
    expect(text).toContain(`${HEALTH.oddVersion} on lab-c (1 process)`);

    const workers = page.getByRole('table', { name: 'Workers' });
    const dead = workers.getByRole('row').filter({ hasText: HEALTH.dead });
    await expect(dead.textContent()).resolves.toMatch(/dead.*process 4242 on lab-d is gone/);
    const odd = workers.getByRole('row').filter({ hasText: HEALTH.odd });
    await expect(odd.textContent()).resolves.toContain('other version');
    expect(await workers.getByText('other version').count()).toBe(1);

    const queue = page
      .getByRole('table', { name: 'Queues' })
      .getByRole('row')
      .filter({ hasText: HEALTH.oldSubject });
    await expect(queue.textContent()).resolves.toMatch(/2 h \d+ min/);

    const needs = page.getByRole('list', { name: 'Needs action' });
    await expect(needs.textContent()).resolves.toMatch(
      /no live worker takes process\.submit with tags slurm/,
    );
    await needs.getByRole('link', { name: 'process.submit in default' }).click();
    await page.waitForURL((u) => u.pathname === '/admin');
    await screenshot(page, 'health-to-pools');
    await page.goBack();
    await page.getByRole('heading', { name: 'Health', level: 1 }).waitFor();
    await screenshot(page, 'health');
    expect(pageErrors).toEqual([]);
  });

  it('refreshes by itself: a worker found dead after the page opened shows up', async () => {
    const page = await open('/health');
    const row = page
      .getByRole('table', { name: 'Workers' })
      .getByRole('row')
      .filter({ hasText: 'lab-b-12-beta01' });
    await expect(row.textContent()).resolves.toMatch(/alive/);
    await h.db.exec(
      `update workers set died_at = now(), death = 'no heartbeat for 400 s (presumed dead)' where id = 'lab-b-12-beta01'`,
    );
    await row.getByText('presumed dead').waitFor({ timeout: patient(30_000) });
    expect(pageErrors).toEqual([]);
  });
});
