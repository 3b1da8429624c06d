/**
 * The web dashboard in real headless Chromium, against a real server and database: what a user
 * sees and can do. Screenshots of every page go to test-artifacts/screenshots/ (laptop size, and
 * phone size for the overview, files and a file).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/api/server.ts';
import { silentLogger } from '../src/core/log.ts';
import { recordEvent } from '../src/engine/events.ts';
import { type ApiHarness, createApiHarness, insertFile, PASSWORD } from './helpers/api.ts';
import { buildDashboardIfStale, launchChromium, requireChromium, screenshot } from './helpers/browser.ts';
import { HASH, OUTLIER, SHOWCASE, seedDashboard } from './helpers/dashboard-seed.ts';
import { patient } from './helpers/patience.ts';

const chromiumPath = requireChromium();
const LAPTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };

let h: ApiHarness;
let server: Awaited<ReturnType<typeof startServer>>;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Uncaught exceptions and CSP refusals in any page: there should be none. */
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!chromiumPath) return;
  buildDashboardIfStale();
  h = await createApiHarness();
  await seedDashboard(h.db);
  server = await startServer(h.app, { host: '127.0.0.1', port: 0, log: silentLogger });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.close();
  await h?.close();
});

async function newPage(viewport = LAPTOP): Promise<Page> {
  const context = await browser.newContext({ viewport, baseURL: server.url, locale: 'en-GB' });
  contexts.push(context);
  // Playwright's own 30 s limits are hang limits too (patience.ts)
  context.setDefaultTimeout(patient(30_000));
  context.setDefaultNavigationTimeout(patient(30_000));
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Uncaught/.test(m.text())) pageErrors.push(m.text());
  });
  return page;
}

async function logIn(page: Page, name: string, start = '/'): Promise<void> {
  await page.goto(start);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

/** The ids in the file table, in order. */
async function fileRows(page: Page): Promise<string[]> {
  return page.locator('table.files tbody a.row-link').allTextContents();
}

/** Waits until the file table shows rows that satisfy `ok`. */
async function waitForRows(page: Page, ok: (rows: string[]) => boolean): Promise<string[]> {
  let rows: string[] = [];
  for (let i = 0; i < 100; i++) {
    rows = await fileRows(page);
    if (rows.length > 0 && ok(rows) && !(await page.locator('tbody[aria-busy="true"]').count())) return rows;
    await page.waitForTimeout(100);
  }
  throw new Error(`the file table never showed the expected rows; last: ${rows.join(', ')}`);
}

describe.skipIf(!chromiumPath)('the dashboard in Chromium', () => {
  let admin: Page;

  it('sends a visitor to the login page, refuses a wrong password, and returns to the asked page after login', async () => {
    admin = await newPage();
    await admin.goto('/files?status=error');
    await admin.waitForURL(/\/login\?next=/);
    await screenshot(admin, 'login');
    await admin.getByLabel('User name').fill('admin');
    await admin.getByLabel('Password').fill('not the password');
    await admin.getByRole('button', { name: 'Log in' }).click();
    await expect(admin.getByRole('alert').textContent()).resolves.toMatch(/wrong user name or password/);

    await admin.getByLabel('Password').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Log in' }).click();
    await admin.waitForURL((u) => u.pathname === '/files' && u.searchParams.get('status') === 'error');
    expect(await waitForRows(admin, (r) => r.includes('QC_HeLa_041.raw'))).toEqual(['QC_HeLa_041.raw']);
    await expect(admin.locator('header .user').textContent()).resolves.toMatch(/admin\s*\(admin\)/);
  });

  it('shows a card per instrument with status counts, stuck files and free space, and daily charts', async () => {
    await admin.getByRole('link', { name: 'Overview' }).click();
    const astral = admin.getByRole('article', { name: 'astral1' });
    await astral.waitFor();
    const text = (await astral.textContent()) ?? '';
    expect(text).toContain('online');
    expect(text).toMatch(/1\.20 TB of 4\.00 TB/);
    expect(text).toMatch(/done\s*40/);
    expect(text).toMatch(/1 stuck file/);
    const tims = (await admin.getByRole('article', { name: 'tims1' }).textContent()) ?? '';
    expect(tims).toContain('offline');
    expect(tims).toContain('watch folder is not reachable');
    await admin.locator('.chart canvas').first().waitFor();
    expect(await admin.locator('.chart canvas').count()).toBe(2);
    await expect(admin.locator('.throughput').textContent()).resolves.toMatch(/47 new files/);
    await screenshot(admin, 'overview');
  });

  it('filters files by status and instrument, sorts them, and pages through them', async () => {
    await admin.getByRole('link', { name: 'Files' }).click();
    const all = await waitForRows(admin, (r) => r.length === 47);
    expect(all.slice(0, 3)).toEqual(['QC_HeLa_040.raw', 'plasma_S12.raw', 'QC_HeLa_041.raw']); // newest first

    await admin.getByLabel('Status').selectOption('error');
    expect(await waitForRows(admin, (r) => r.length === 1)).toEqual(['QC_HeLa_041.raw']);
    expect(new URL(admin.url()).searchParams.get('status')).toBe('error');

    await admin.getByLabel('Status').selectOption('');
    await admin.getByLabel('Instrument').selectOption('tims1');
    expect(await waitForRows(admin, (r) => r.length === 3)).toEqual([
      'sample_A1.d',
      'sample_A2.d',
      'sample_A3.d',
    ]);

    await admin.getByRole('button', { name: /^Size/ }).click(); // largest first
    expect(await waitForRows(admin, (r) => r[0] === 'sample_A1.d' && r.length === 3)).toEqual([
      'sample_A1.d',
      'sample_A2.d',
      'sample_A3.d',
    ]);
    await admin.getByRole('button', { name: /^Size/ }).click(); // smallest first
    await waitForRows(admin, (r) => r[0] === 'sample_A3.d');

    await admin.getByRole('button', { name: 'Clear filters' }).first().click();
    await admin.getByLabel('Name contains').fill('hela_03');
    const found = await waitForRows(admin, (r) => r.length === 10);
    expect(found.every((id) => id.startsWith('QC_HeLa_03'))).toBe(true);

    await admin.getByLabel('Name contains').fill('');
    await admin.getByLabel('Rows per page').selectOption('25');
    const first = await waitForRows(admin, (r) => r.length === 25);
    await admin.getByRole('button', { name: 'Next →' }).click();
    const second = await waitForRows(admin, (r) => r.length === 22);
    expect(new Set([...first, ...second]).size).toBe(47);
    await expect(admin.locator('.pager').textContent()).resolves.toMatch(/Rows 26–47/);
    const csv = await admin.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    expect(csv).toBe('/api/files.csv?sort=size&dir=asc'); // what the table shows
    await admin.getByRole('button', { name: '← Previous' }).click();
    await waitForRows(admin, (r) => r.length === 25);
    await screenshot(admin, 'files');
  });

  it('shows new files as they arrive (live event stream)', async () => {
    await admin.goto('/files');
    await waitForRows(admin, (r) => r.length === 47);
    await admin.getByText('Live', { exact: true }).waitFor();
    await insertFile(h.db, { id: 'just_arrived.raw', status: 'discovered' });
    await recordEvent(h.db, {
      subjectType: 'file',
      subjectId: 'just_arrived.raw',
      actor: 'test',
      to: 'discovered',
    });
    const rows = await waitForRows(admin, (r) => r[0] === 'just_arrived.raw');
    expect(rows[0]).toBe('just_arrived.raw');
  });

  it('opens a file from the table by keyboard and shows its timeline, copies with hashes, job and metrics', async () => {
    await admin.getByLabel('Name contains').fill('HeLa_040');
    await waitForRows(admin, (r) => r.length === 1);
    await admin.getByRole('link', { name: SHOWCASE }).focus();
    await admin.keyboard.press('Enter');
    await admin.waitForURL(`**/files/${SHOWCASE}`);
    await admin.getByRole('heading', { name: 'Timeline' }).waitFor();

    const timeline = admin.locator('ol.timeline > li');
    expect(await timeline.count()).toBe(8);
    await expect(timeline.nth(0).textContent()).resolves.toMatch(
      /new.*discovered.*by worker:demo.*new file in/,
    );
    await expect(timeline.nth(4).textContent()).resolves.toMatch(/backing up.*backed up.*copy verified/);
    await expect(timeline.nth(7).textContent()).resolves.toMatch(/processed.*done/);

    const copies = (await admin.locator('article.copy').textContent()) ?? '';
    expect(copies).toContain('verified');
    expect(copies).toContain(HASH);
    expect(copies).toContain(`/backup/astral1/${SHOWCASE}`);
    const job = (await admin.locator('article.job').textContent()) ?? '';
    expect(job).toMatch(/qc v1.*COMPLETED/);
    expect(job).toContain('job 4242');
    await admin.getByText('Log tail').click();
    await expect(admin.locator('pre.log').textContent()).resolves.toContain('wrote stat.tsv');
    await expect(admin.getByRole('cell', { name: 'precursors' }).isVisible()).resolves.toBe(true);
    await screenshot(admin, 'file-detail');
  });

  it('charts metrics with rolling bands and lists the run outside them', async () => {
    await admin.goto('/qc?instrument=astral1&names=precursors,proteins');
    await admin.getByRole('heading', { name: 'precursors' }).waitFor();
    await admin.locator('.metric .chart canvas').nth(1).waitFor();
    const precursors = admin.locator('section.metric', {
      has: admin.getByRole('heading', { name: 'precursors' }),
    });
    await expect(precursors.textContent()).resolves.toMatch(/40 points.*1 outside/);
    await expect(precursors.locator('table.outliers').textContent()).resolves.toContain(OUTLIER);
    await screenshot(admin, 'metrics');
    // k is part of the address, and a narrower band flags more points
    await admin.getByLabel('k (standard deviations)').fill('0.5');
    await precursors.getByText(/± 0\.5·sd · ([2-9]|\d{2,}) outside/).waitFor();
    expect(new URL(admin.url()).searchParams.get('k')).toBe('0.5');
  });

  it('thins a long series for display, keeps the outlier, shows every point on demand, exports mzQC', async () => {
    await admin.goto('/qc?instrument=astral1&names=precursors&points=10');
    const precursors = admin.locator('section.metric', {
      has: admin.getByRole('heading', { name: 'precursors' }),
    });
    await precursors.getByText(/Showing 1[01] of 40 points, thinned for display/).waitFor();
    await expect(precursors.locator('table.outliers').textContent()).resolves.toContain(OUTLIER);
    await precursors.getByRole('button', { name: 'Show every point' }).click();
    await admin.waitForFunction("new URL(location.href).searchParams.get('points') === 'all'");
    await precursors.getByText(/^40 points/).waitFor();
    expect(await precursors.getByText(/thinned for display/).count()).toBe(0);
    const href = await admin.getByRole('link', { name: 'Export these runs as mzQC' }).getAttribute('href');
    expect(href).toContain('instrument=astral1');
    const res = await admin.request.get(href!);
    expect(res.status()).toBe(200);
    const doc = (await res.json()) as {
      mzQC: { runQualities: { qualityMetrics: { accession: string }[] }[] };
    };
    expect(doc.mzQC.runQualities).toHaveLength(40);
    expect(doc.mzQC.runQualities[0]!.qualityMetrics.map((m) => m.accession)).toEqual(['MS:1003327']);
    expect(res.headers()['x-sluice-unmapped-metrics']).toContain('precursors');
  });

  it('starts the QC page with metrics that have values, with units and descriptions', async () => {
    await admin.goto('/qc?instrument=astral1');
    await admin.getByRole('heading', { name: 'fwhm_rt (min)' }).waitFor();
    await admin.getByRole('heading', { name: 'precursors' }).waitFor();
    // ms1_signal sorts before precursors but has no values: not drawn, marked in the picker
    expect(await admin.getByRole('heading', { name: 'ms1_signal' }).count()).toBe(0);
    await expect(admin.locator('label.check', { hasText: 'ms1_signal' }).textContent()).resolves.toContain(
      '(no values)',
    );
    const fwhm = admin.locator('section.metric', {
      has: admin.getByRole('heading', { name: 'fwhm_rt (min)' }),
    });
    await expect(fwhm.textContent()).resolves.toContain('peak width');
    // a choice goes into the address and survives a reload
    await admin.getByLabel('proteins').check();
    await admin.waitForFunction("new URL(location.href).searchParams.get('names')?.includes('proteins')");
    await admin.reload();
    await admin.getByRole('heading', { name: 'proteins' }).waitFor();
  });

  it('marks a guide set and names the Westgard rule the outlier broke', async () => {
    await admin.goto('/qc?instrument=astral1&names=precursors&band=guide');
    await admin.getByText('No guide set covers these runs').waitFor();
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
    const form = admin.getByRole('form', { name: 'Mark a guide set' });
    await form.getByLabel('Baseline from').fill(day(28));
    await form.getByLabel('Baseline until (before)').fill(day(12));
    await form.getByLabel('Note').fill('new column');
    await form.getByRole('button', { name: 'Mark guide set' }).click();
    await admin.getByText('Guide set recorded.').waitFor();
    const chart = admin.locator('section.metric', {
      has: admin.getByRole('heading', { name: 'precursors' }),
    });
    await chart.getByText(/broke a Westgard rule/).waitFor();
    const outlier = chart.locator('table.outliers tr', { hasText: OUTLIER });
    await expect(outlier.textContent()).resolves.toContain('1_3s');
    const sets = admin.locator('section', {
      has: admin.getByRole('heading', { name: 'Guide sets of astral1' }),
    });
    await expect(sets.textContent()).resolves.toMatch(/new column/);
    await screenshot(admin, 'qc-guide-set');
  });

  it('lets an admin change a variable and shows the change in the audit trail', async () => {
    await admin.getByRole('link', { name: 'Admin' }).click();
    // a page change names the page in the title and puts the keyboard on its content
    await admin.waitForFunction("document.title === 'Admin · Sluice'");
    expect(await admin.evaluate('document.activeElement?.id')).toBe('main');
    await admin.getByRole('button', { name: 'Edit stuck_file_minutes' }).click();
    await admin.getByLabel('New value for stuck_file_minutes').fill('90');
    await admin.getByRole('button', { name: 'Save' }).click();
    const audit = admin.getByRole('table', { name: 'Audit trail' });
    await audit.getByRole('cell', { name: 'stuck_file_minutes' }).waitFor();
    await expect(audit.locator('tbody tr').first().textContent()).resolves.toMatch(
      /stuck_file_minutes.*unset.*→.*90.*user:admin/,
    );
    expect(await h.deps.vars.get('stuck_file_minutes')).toBe(90);

    // a value the variable does not accept: the server's reason, naming the variable
    await admin.getByRole('button', { name: 'Edit min_free_space_gb' }).click();
    await admin.getByLabel('New value for min_free_space_gb').fill('-5');
    await admin.getByRole('button', { name: 'Save' }).click();
    await expect(admin.getByRole('alert').first().textContent()).resolves.toMatch(
      /value:.*min_free_space_gb/s,
    );
    await admin.getByRole('button', { name: 'Cancel' }).click();

    const users = (await admin.getByRole('table').filter({ hasText: 'Last seen' }).textContent()) ?? '';
    expect(users).toMatch(/viewer.*operator|operator.*viewer/s);
    await screenshot(admin, 'admin');
  });

  it('lets an admin drain a pool and restore it, and give a user a token that works until revoked', async () => {
    await admin.goto('/admin');
    const row = admin.locator('table.pools tbody tr').filter({
      has: admin.getByRole('rowheader', { name: 'scan', exact: true }),
    });
    await row.getByRole('button', { name: 'Drain' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Drain pool scan?' });
    await dialog.getByRole('button', { name: 'Drain' }).click();
    await row.getByText('drained').waitFor();
    const pool = () =>
      h.db.one<{ override_size: number | null; updated_by: string }>(
        `select override_size, updated_by from pools where name = 'scan'`,
      );
    expect(await pool()).toEqual({ override_size: 0, updated_by: 'user:admin' });
    await expect(row.textContent()).resolves.toMatch(/configured 4; override by user:admin/);
    await row.getByRole('button', { name: 'Restore 4' }).click();
    await row.getByRole('button', { name: 'Drain' }).waitFor();
    expect((await pool()).override_size).toBeNull();

    // a token for the operator, with the viewer role: shown once, works for reading, then revoked
    const users = admin.getByRole('table').filter({ hasText: 'Last seen' });
    await users
      .locator('tr')
      .filter({ has: admin.getByRole('rowheader', { name: 'operator', exact: true }) })
      .getByRole('button', { name: 'Tokens' })
      .click();
    const tokens = admin.locator('.tokens');
    await tokens.getByLabel('Token name').fill('nightly-export');
    await tokens.getByLabel('Role').selectOption('viewer');
    await tokens.getByRole('button', { name: 'Create token' }).click();
    const shown = (await admin.getByRole('status').filter({ hasText: 'copy it now' }).textContent()) ?? '';
    const token = /Token nightly-export: (\S+) — copy it now/.exec(shown)?.[1];
    expect(token).toBeTruthy();
    const asScript = () =>
      fetch(`${server.url}/api/files?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    expect((await asScript()).status).toBe(200);
    const listed = tokens.locator('li').filter({ hasText: 'nightly-export' });
    await expect(listed.textContent()).resolves.toMatch(/nightly-export \(viewer\).*by user:admin/);
    await listed.getByRole('button', { name: 'Revoke' }).click();
    await admin
      .getByRole('dialog', { name: 'Revoke token nightly-export of operator?' })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await listed.waitFor({ state: 'detached' });
    await tokens.locator('li').filter({ hasText: 'script' }).waitFor(); // the operator's other token stays
    expect((await asScript()).status).toBe(401);
  });

  it('lets an operator ignore a file after confirming, recorded in its timeline', async () => {
    const op = await newPage();
    await logIn(op, 'operator', '/files/blank_run_02.raw');
    await op.getByRole('button', { name: 'Ignore' }).click();
    const dialog = op.getByRole('dialog', { name: /Ignore blank_run_02\.raw/ });
    await dialog.getByLabel('Reason (shown in the timeline)').fill('blank, not needed');
    await dialog.getByRole('button', { name: 'Ignore' }).click();
    await op.locator('ol.timeline > li').filter({ hasText: 'blank, not needed' }).waitFor();
    await expect(op.locator('.file-head').textContent()).resolves.toContain('ignored');
    await expect(op.locator('ol.timeline > li').last().textContent()).resolves.toMatch(/by user:operator/);
  });

  it('lets an operator cancel a running job after confirming; the job and the file show it', async () => {
    const op = await newPage();
    await logIn(op, 'operator', '/files/plasma_S12.raw');
    const job = op.locator('article.job').filter({ hasText: 'qc v1' });
    await job.getByRole('button', { name: 'Cancel job' }).click();
    await op
      .getByRole('dialog', { name: /^Cancel job \d+\?$/ })
      .getByRole('button', { name: 'Cancel job' })
      .click();
    await job.getByText('CANCELLED', { exact: true }).waitFor();
    await expect(job.textContent()).resolves.toMatch(/cancelled by user:operator before it was submitted/);
    await expect(job.getByRole('button', { name: 'Cancel job' }).count()).resolves.toBe(0); // finished now
    const row = await h.db.one<{ state: string; cancel_requested_by: string }>(
      `select state, cancel_requested_by from jobs where file_id = 'plasma_S12.raw'`,
    );
    expect(row).toEqual({ state: 'CANCELLED', cancel_requested_by: 'user:operator' });
    const file = await h.db.one<{ status: string }>(`select status from files where id = 'plasma_S12.raw'`);
    await expect(op.locator('.file-head').textContent()).resolves.toContain(file.status.replace('_', ' '));
    expect(file.status).toBe('processing_failed');
  });

  it('shows a viewer what their role cannot do, and the server refuses a direct write with 403', async () => {
    const viewer = await newPage();
    await logIn(viewer, 'viewer', '/admin');
    await viewer.getByRole('button', { name: 'Edit stuck_file_minutes' }).waitFor();
    expect(await viewer.getByRole('button', { name: 'Edit stuck_file_minutes' }).isDisabled()).toBe(true);
    await expect(viewer.locator('main').textContent()).resolves.toContain(
      'Your role viewer cannot change variables; ask an admin for the admin role.',
    );
    expect(await viewer.getByRole('table').filter({ hasText: 'Last seen' }).count()).toBe(0);
    await screenshot(viewer, 'admin-as-viewer');

    await viewer.goto('/files/QC_HeLa_041.raw'); // an error: every action applies
    await viewer.getByRole('heading', { name: 'Actions' }).waitFor();
    for (const name of ['Retry', 'Ignore', 'Accept overwrite'])
      expect(await viewer.getByRole('button', { name, exact: true }).isDisabled()).toBe(true);
    await expect(viewer.locator('section.actions').textContent()).resolves.toContain(
      'Your role viewer cannot act on files; ask an admin for the operator role.',
    );

    const direct = await viewer.evaluate(async () => {
      const me = (await (await fetch('/api/me')).json()) as { csrfToken: string };
      const res = await fetch('/api/vars/stuck_file_minutes', {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken },
        body: JSON.stringify({ value: 5 }),
      });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    });
    expect(direct.status).toBe(403);
    expect(direct.body.code).toBe('auth.forbidden');
    expect(await h.deps.vars.get('stuck_file_minutes')).toBe(90);

    // the session ends on the server: the next request answers 401 and the login page shows
    await h.db.exec(`delete from sessions where user_id = (select id from users where name = 'viewer')`);
    await viewer.getByRole('link', { name: 'Files', exact: true }).click();
    await viewer.waitForURL(/\/login\?next=%2Ffiles/);
    await viewer.getByLabel('User name').waitFor();
  });

  it('fits a phone screen: no sideways scrolling on the overview, files and a file', async () => {
    const phone = await newPage(PHONE);
    await logIn(phone, 'viewer');
    for (const [path, name, ready] of [
      ['/', 'overview-phone', 'article.instrument'],
      ['/files', 'files-phone', 'table.files a.row-link'],
      [`/files/${SHOWCASE}`, 'file-detail-phone', 'ol.timeline'],
    ] as const) {
      await phone.goto(path);
      await phone.locator(ready).first().waitFor();
      // (a string: the test files are type-checked without the DOM library)
      const overflow = await phone.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow, path).toBeLessThanOrEqual(0);
      await screenshot(phone, name);
    }
  });

  it('logs out, and then asks for a login again', async () => {
    await admin.getByRole('button', { name: 'Log out' }).click();
    await admin.waitForURL(/\/login/);
    await admin.goto('/admin');
    await admin.waitForURL(/\/login\?next=%2Fadmin/);
    expect(pageErrors).toEqual([]);
  });
});
