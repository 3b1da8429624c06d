/**
 * The catalog's dashboard pages in real Chromium (#22 item 8): an operator imports a sample sheet
 * through the project page (dry run report per row first, then the import, which links a run acquired
 * before the sample existed), opens the sample and sees its run and QC values; search finds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncProjects } from '../src/catalog/projects.ts';
import { indexPending } from '../src/catalog/search-index.ts';
import { type ApiHarness, createApiHarness, insertFile } from './helpers/api.ts';
import { requireChromium, screenshot, withDashboardPage } from './helpers/browser.ts';

const chromiumPath = requireChromium();
let h: ApiHarness;

beforeAll(async () => {
  h = await createApiHarness();
  h.deps.config.catalog.link_patterns = [
    { pattern: '(?<sample>S\\d{5})_(?<replicate>\\d+)', instruments: [] },
  ];
  await syncProjects(h.db, h.deps.config);
  // a run acquired before its sample is in the catalog, with QC values
  await insertFile(h.db, { id: 'S00001_1.raw' });
  await h.db.exec(
    `insert into metrics (file_id, settings_name, settings_version, name, value, created_at, unit)
     values ('S00001_1.raw', 'qc', 1, 'precursors', 4321, now(), null), ('S00001_1.raw', 'qc', 1, 'fwhm_rt', 0.07, now(), 'min')`,
  );
});
afterAll(async () => h.close());

describe.skipIf(!chromiumPath)('catalog pages in Chromium', () => {
  it('imports a sheet from the project page, opens the sample and sees its run and QC values', async () => {
    await withDashboardPage(h.app, chromiumPath!, 'operator', async (page) => {
      await page.getByRole('link', { name: 'Catalog' }).click();
      await page.getByRole('link', { name: 'PRJ1' }).click();
      await page.getByRole('heading', { name: 'Project PRJ1' }).waitFor();

      const sheet =
        'refcode,name,project,type,tissue\nS00001,Liver A,PRJ1,tissue,liver\nS00002,,PRJ1,tissue,kidney\n';
      await page
        .getByLabel('Sheet', { exact: true })
        .setInputFiles({ name: 'samples.csv', mimeType: 'text/csv', buffer: Buffer.from(sheet) });
      await page.getByRole('button', { name: 'Check (dry run)' }).click();
      const status = page.getByRole('status');
      await status
        .getByText(/Dry run: 1 created, 0 updated, 0 unchanged, 1 rejected — nothing written/)
        .waitFor();
      const report = page.getByRole('table', { name: 'Import report' });
      expect((await report.getByRole('row').nth(1).innerText()).replace(/\s+/g, ' ')).toMatch(
        /^2 S00001 created/,
      );
      expect(await report.getByRole('row').nth(2).innerText()).toMatch(/3\s+S00002\s+rejected\s+.*name/);
      // with the rejected row skipped, the valid one is written and the earlier run linked to it
      await page.getByLabel('skip rejected rows').check();
      await page.getByRole('button', { name: 'Check (dry run)' }).click();
      await status.getByText(/Dry run: 1 created/).waitFor();
      await page.getByRole('button', { name: 'Import' }).click();
      await status.getByText(/1 created, .* 1 rejected — written; 1 earlier file\(s\) linked/).waitFor();
      await screenshot(page, 'catalog-import');

      await page.getByRole('link', { name: 'S00001', exact: true }).click();
      await page.getByRole('heading', { name: 'Sample S00001' }).waitFor();
      const run = page.getByRole('region', { name: 'Run S00001_1.raw' });
      await run.waitFor();
      const qc = run.getByRole('table', { name: 'QC values of S00001_1.raw' });
      expect((await qc.getByRole('row', { name: /precursors/ }).innerText()).replace(/\s+/g, ' ')).toMatch(
        /precursors 4,?321 qc v1/,
      );
      expect(await qc.getByRole('row', { name: /fwhm_rt/ }).innerText()).toContain('min');
      expect(await page.getByRole('table', { name: 'History' }).innerText()).toContain('operator');
      await screenshot(page, 'catalog-sample');

      await indexPending(h.db); // what the catalog.index task does after an import commits
      await page.goto('/search?q=liver');
      await page.getByRole('link', { name: 'S00001', exact: true }).waitFor();
    });
  });
});
