/**
 * `GET /api/status` reports each extra backup target's progress (issue #19 item 5) — the figures of
 * `sluice status` and the dashboard's backup targets panel — from the database alone: copies and
 * tasks are inserted here, no S3 server is involved. The overview panel is checked in real Chromium.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import { enqueue } from '../src/engine/enqueue.ts';
import { syncPools } from '../src/engine/pools.ts';
import { insertVerifiedCopy } from '../src/files/copies.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';
import { requireChromium, withDashboardPage } from './helpers/browser.ts';

const chromiumPath = requireChromium();

let h: ApiHarness;
let app: ApiHarness['app'];

const manifest = { algorithm: 'sha256', entries: [], totalBytes: 1000 };

beforeAll(async () => {
  h = await createApiHarness();
  const root = path.dirname(h.cliEnv.SLUICE_CONFIG!);
  const yaml = `data_dir: ${root}/data
backup:
  path: ${root}/backup
  targets:
    - { name: s3, type: s3, endpoint: "http://127.0.0.1:1", bucket: raw, access_key_id: a, secret_access_key: b }
    - { name: cold, type: s3, endpoint: "http://127.0.0.1:1", bucket: cold, pool: slow, access_key_id: a, secret_access_key: b }
alerts:
  rules: { s3_failing_attempts: 2 }
projects:
  PRJ1: { tokens: [prj1] }
instruments:
  astral1: { type: thermo, watch: ${root}/astral1 }
`;
  const config = parseConfigText(yaml, path.join(root, 'sluice.yaml')).config;
  await syncPools(h.db, config.pools);
  app = createApp({ ...h.deps, config });
  for (let i = 0; i < 5; i++) {
    await insertFile(h.db, { id: `f${i}.raw` });
    await insertVerifiedCopy(h.db, `f${i}.raw`, 'backup', `/b/f${i}.raw`, manifest, 1, false);
  }
  for (const i of [0, 1])
    await insertVerifiedCopy(h.db, `f${i}.raw`, 's3', `s3://raw/f${i}`, manifest, 1, false);
  await insertVerifiedCopy(h.db, 'f0.raw', 'cold', 's3://cold/f0', manifest, 1, false);
  // s3: three copies queued, one of them failed twice already (≥ s3_failing_attempts), one failed once
  for (const [i, attempts] of [
    [2, 2],
    [3, 1],
    [4, 0],
  ] as const) {
    const id = await enqueue(h.db, {
      kind: 'backup.s3',
      subject: `f${i}.raw`,
      pool: 'copy.s3',
      payload: { target: 's3' },
    });
    if (attempts > 0)
      await h.db.exec(`update tasks set attempts = $2, last_error = 'connect ECONNREFUSED' where id = $1`, [
        id,
        attempts,
      ]);
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('GET /api/status targets', () => {
  it('reports per target verified copies of the files backed up, queued/running and failing copies', async () => {
    const res = await call(app, '/api/status', { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { targets: unknown[]; pools: { name: string }[] };
    expect(body.targets).toEqual([
      {
        target: 'cold',
        pool: 'slow',
        files: 5,
        copied: 1,
        queued: 0,
        running: 0,
        waiting: 0,
        waiting_since: null,
        failing: 0,
        last_error: null,
      },
      {
        target: 's3',
        pool: 'copy.s3',
        files: 5,
        copied: 2,
        queued: 3,
        running: 0,
        waiting: 0,
        waiting_since: null,
        failing: 1,
        last_error: 'connect ECONNREFUSED',
      },
    ]);
    expect(body.pools.map((p) => p.name)).toEqual(expect.arrayContaining(['copy.s3', 'slow']));
  });

  it('has no targets when the config names none', async () => {
    const res = await call(h.app, '/api/status', { token: h.tokens.viewer });
    expect(((await res.json()) as { targets: unknown[] }).targets).toEqual([]);
  });
});

describe.skipIf(!chromiumPath)('the dashboard overview in Chromium', () => {
  it('shows a row per backup target with its verified copies, queue and failing copies', async () => {
    await withDashboardPage(app, chromiumPath!, 'viewer', async (page) => {
      const table = page.getByRole('table', { name: 'Backup targets' });
      const s3 = table.getByRole('row', { name: /^s3 / });
      await s3.waitFor();
      expect((await s3.innerText()).replace(/\s+/g, ' ')).toMatch(/s3 2 \/ 5 3 \/ 0 1 1 failing/);
      const cold = table.getByRole('row', { name: /^cold / });
      expect((await cold.innerText()).replace(/\s+/g, ' ')).toMatch(
        /cold 1 \/ 5 0 \/ 0 0 catching up: 4 to copy/,
      );
      // the failing count's cell (after copies and queue) carries the last error as its tooltip
      expect(await s3.getByRole('cell').nth(2).getAttribute('title')).toBe('connect ECONNREFUSED');
    });
  });
});
