/**
 * Files whose names hold controls, backslashes, percent signs and non-UTF-8 bytes in the web
 * dashboard (issue #17 item 4), in real headless Chromium against a real server and database: the
 * file list links to each file, its page shows the name with every control written visibly
 * (`\xHH`, core/visible.ts), and an operator can ignore and retry it.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/api/server.ts';
import { silentLogger } from '../src/core/log.ts';
import { nameToText } from '../src/core/names.ts';
import { visibleText } from '../src/core/visible.ts';
import { type ApiHarness, createApiHarness, insertFailedFile, PASSWORD } from './helpers/api.ts';
import { buildDashboardIfStale, launchChromium, requireChromium } from './helpers/browser.ts';

const chromiumPath = requireChromium();

/** Ids as the scanner records them (text forms), and one from before the escaping (raw controls). */
const IDS = [
  nameToText(Buffer.from('a\nb\tc.raw')),
  nameToText(Buffer.from('M\xfcller 100%2F.raw', 'latin1')),
  nameToText(Buffer.from('C:\\data #1?.raw')),
  'evil\u202egnp\u009b2J.raw',
  'legacy\nline\x1b[31m.raw',
];

/** Characters a display acts on (C0 and C1 controls, DEL, separators, bidi controls). */
const CONTROL = /[\p{Cc}\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

let h: ApiHarness;
let server: Awaited<ReturnType<typeof startServer>>;
let browser: Browser;

beforeAll(async () => {
  if (!chromiumPath) return;
  buildDashboardIfStale();
  h = await createApiHarness();
  for (const id of IDS) await insertFailedFile(h.db, id);
  server = await startServer(h.app, { host: '127.0.0.1', port: 0, log: silentLogger });
  browser = await launchChromium(chromiumPath);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
});

const statusOf = async (id: string) =>
  (await h.db.one<{ status: string }>('select status from files where id = $1', [id])).status;

describe.skipIf(!chromiumPath)('file names in the dashboard', () => {
  let op: Page;

  it('links every file from the list and shows its name and timeline with controls made visible', async () => {
    const context = await browser.newContext({ baseURL: server.url, locale: 'en-GB' });
    op = await context.newPage();
    await op.goto('/files');
    await op.getByLabel('User name').fill('operator');
    await op.getByLabel('Password').fill(PASSWORD);
    await op.getByRole('button', { name: 'Log in' }).click();
    await op.getByRole('button', { name: 'Log out' }).waitFor();
    for (const id of IDS) {
      const shown = visibleText(id);
      await op.goto('/files');
      await op.locator('table.files tbody a.row-link', { hasText: shown }).click();
      await op.locator('.file-head h1').waitFor();
      expect(decodeURIComponent(new URL(op.url()).pathname)).toBe(`/files/${id}`);
      expect(await op.locator('.file-head h1').textContent()).toBe(shown);
      await op
        .locator('ol.timeline > li')
        .filter({ hasText: `${shown} failed` })
        .waitFor();
      const page = (await op.locator('main').textContent()) ?? '';
      expect(CONTROL.test(page), page).toBe(false);
    }
  });

  it('lets an operator ignore and retry each of them', async () => {
    for (const id of IDS) {
      await op.goto(`/files/${encodeURIComponent(id)}`);
      await op.getByRole('button', { name: 'Ignore' }).click();
      await op.getByRole('dialog').getByRole('button', { name: 'Ignore' }).click();
      await op.locator('.file-head').filter({ hasText: 'ignored' }).waitFor();
      expect(await statusOf(id)).toBe('ignored');
      await op.getByRole('button', { name: 'Retry' }).click();
      await op.getByRole('dialog').getByRole('button', { name: 'Retry' }).click();
      await op.locator('.file-head').filter({ hasNotText: 'ignored' }).waitFor();
      expect(await statusOf(id)).not.toBe('ignored');
    }
  });
});
