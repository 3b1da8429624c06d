/**
 * The dashboard's archive pieces in real Chromium (issue #20) on a real database and worker: the
 * file page shows the archive section (target, archive, members with offsets) and a Retrieve button
 * for operators; on the Retrievals page an operator requests an archived file and sees its retrieval
 * reach `verified` (the worker restores nothing here: a filesystem archive, downloaded and every
 * member checked). A viewer sees the form refused.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { createUser } from '../src/auth/users.ts';
import { insertFile, PASSWORD } from './helpers/api.ts';
import { fsArchive } from './helpers/archive-fixture.ts';
import { requireChromium, withDashboardPage } from './helpers/browser.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';

const chromiumPath = requireChromium();
let p: Pipeline;
let archiveId: string;

beforeAll(async () => {
  p = await createPipeline(
    standardConfig('retrieval:\n  min_free_mb: 0\n  poll_seconds: 0.2\npools:\n  archive.read: 2\n'),
  );
  await insertFile(p.db, { id: 'arch1.raw' });
  archiveId = await fsArchive(p.db, path.join(p.root, 'lts', 'a.tar'), {
    'arch1.raw': { 'arch1.raw': Buffer.from('archived bytes') },
  });
  for (const role of ['viewer', 'operator'] as const)
    await createUser(p.db, { name: role, role, password: PASSWORD }, 'test');
  await p.start();
}, 60_000);
afterAll(() => p?.close());

/** A logged-in page of a dashboard served from the pipeline's database, closed after `fn`. */
function asUser(role: 'viewer' | 'operator', at: string, fn: (page: Page) => Promise<void>) {
  const app = createApp({ db: p.db, config: p.config, vars: p.vars, version: 'test', eventPollMs: 50 });
  return withDashboardPage(app, chromiumPath!, role, fn, at);
}

describe.skipIf(!chromiumPath)('archive and retrievals in Chromium', () => {
  it('shows the archive section of a file and retrieves it from the Retrievals page', async () => {
    await asUser('operator', '/files/arch1.raw', async (page) => {
      const section = page.getByRole('region', { name: 'Archive' });
      await section.getByRole('link', { name: `archive ${archiveId}` }).waitFor();
      const members = section.getByRole('table', { name: `Members of this file in archive ${archiveId}` });
      const row = members.getByRole('row', { name: /arch1\.raw\/arch1\.raw/ });
      expect((await row.innerText()).replace(/\s+/g, ' ')).toMatch(
        /data\/astral1\/arch1\.raw\/arch1\.raw 14 B \d+ [0-9a-f]{64}/,
      );
      expect(await section.getByRole('button', { name: 'Retrieve' }).isEnabled()).toBe(true);

      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Retrievals' }).click();
      await page.getByRole('heading', { name: 'Retrievals', level: 1 }).waitFor();
      await page.getByLabel(/File ids/).fill('arch1.raw');
      await page.getByRole('button', { name: 'Request retrieval' }).click();
      await page.getByText('Requested 1 set(s).').waitFor();
      const listed = page.getByRole('table', { name: 'Retrievals' }).getByRole('row', { name: /arch1\.raw/ });
      // the page refreshes itself while the fetch is live: it reaches verified without a reload
      await listed.getByText('verified', { exact: true }).waitFor();
      expect(await listed.innerText()).toMatch(/data\/astral1\/arch1\.raw/);

      // back on the file page: the retrieval is listed with its state
      await listed.getByRole('link', { name: 'arch1.raw' }).click();
      const retrievals = page.getByRole('table', { name: 'Retrievals of this file' });
      await retrievals.getByText('verified', { exact: true }).waitFor();
    });
  });

  it('refuses the request form to a viewer', async () => {
    await asUser('viewer', '/retrievals', async (page) => {
      await page.getByText(/Your role viewer cannot retrieve archived sets/).waitFor();
      expect(await page.getByRole('button', { name: 'Request retrieval' }).isDisabled()).toBe(true);
    });
  });
});
