/**
 * What the dashboard needs from the server, in-process: the built files at `/` (SPA fallback,
 * caching, no build → a message saying how to make one), and the routes added for its pages
 * (daily throughput, metric names, Levey-Jennings bands).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';

let h: ApiHarness;
let dist: string;
const INDEX = '<!doctype html><title>Sluice</title><div id="root"></div>';

beforeAll(async () => {
  dist = await mkdtemp(path.join(os.tmpdir(), 'sluice-dist-'));
  await mkdir(path.join(dist, 'assets'));
  await writeFile(path.join(dist, 'index.html'), INDEX);
  await writeFile(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(
    path.join(dist, 'assets', 'index-AbC123.js'),
    `console.log(${JSON.stringify('x'.repeat(5000))});`,
  );
  h = await createApiHarness({ dashboardDir: dist });
});
afterAll(async () => {
  await h?.close();
  await rm(dist, { recursive: true, force: true });
});

const json = async <T>(res: Response) => (await res.json()) as T;

describe('the dashboard at /', () => {
  it('serves index.html for every page path, never cached, with a content security policy', async () => {
    for (const p of ['/', '/files', '/files/QC_HeLa%2001.raw', '/qc?names=a', '/admin', '/login?next=%2F']) {
      const res = await h.app.request(p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(await res.text()).toBe(INDEX);
    }
    const head = await h.app.request('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('serves hashed assets for a year (gzipped when asked), and a missing one as 404, not index.html', async () => {
    const res = await h.app.request('/assets/index-AbC123.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const missing = await h.app.request('/assets/index-old.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    const icon = await h.app.request('/favicon.svg');
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
  });

  it('never serves a file outside web/dist', async () => {
    for (const p of [
      '/assets/../../../etc/passwd',
      '/assets/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2fetc/passwd',
    ]) {
      const res = await h.app.request(p);
      const body = await res.text();
      expect(body, p).not.toMatch(/root:/);
      expect([200, 404], p).toContain(res.status);
    }
  });

  it('leaves the API, the probes and /metrics as they are', async () => {
    const api = await h.app.request('/api/no-such-thing');
    expect(api.status).toBe(404);
    expect(await json<{ code: string }>(api)).toMatchObject({ code: 'not_found' });
    expect((await h.app.request('/api')).status).toBe(404);
    expect(await json(await h.app.request('/healthz'))).toMatchObject({ ok: true });
    expect((await h.app.request('/metrics')).status).toBe(401); // Prometheus, not the dashboard
    expect((await call(h.app, '/metrics', { token: h.tokens.viewer })).headers.get('content-type')).toMatch(
      /^text\/plain/,
    );
  });

  it('says how to build the dashboard when web/dist is missing, and keeps the API working', async () => {
    const app = createApp({ ...h.deps, dashboardDir: path.join(dist, 'nothing-here') });
    const page = await app.request('/files', { headers: { accept: 'text/html,*/*' } });
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<code>npm run build:web</code>');
    const script = await app.request('/');
    expect(script.status).toBe(503);
    expect(await json(script)).toMatchObject({
      code: 'dashboard.not_built',
      hint: expect.stringMatching(/build:web/),
    });
    expect((await app.request('/healthz')).status).toBe(200);
  });
});

describe('GET /api/throughput', () => {
  it('counts new files and bytes per UTC day and instrument, zeros included, within the range', async () => {
    const day = 86_400_000;
    const today = Math.floor(Date.now() / day) * day;
    await insertFile(h.db, { id: 'tp-1.raw', createdAt: new Date(today + 1000).toISOString(), size: 1000 });
    await insertFile(h.db, { id: 'tp-2.raw', createdAt: new Date(today + 2000).toISOString(), size: 500 });
    await insertFile(h.db, {
      id: 'tp-3.d',
      instrument: 'tims1',
      createdAt: new Date(today - 2 * day).toISOString(),
      size: 7,
    });
    await insertFile(h.db, { id: 'tp-old.raw', createdAt: new Date(today - 40 * day).toISOString() });
    const res = await call(h.app, '/api/throughput?days=7', { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    const t = await json<{
      days: number[];
      instruments: Record<string, { files: number[]; bytes: number[] }>;
    }>(res);
    expect(t.days).toHaveLength(7);
    expect(t.days.at(-1)).toBe(today);
    expect(t.days[1]! - t.days[0]!).toBe(day);
    expect(t.instruments.astral1).toEqual({ files: [0, 0, 0, 0, 0, 0, 2], bytes: [0, 0, 0, 0, 0, 0, 1500] });
    expect(t.instruments.tims1).toEqual({ files: [0, 0, 0, 0, 1, 0, 0], bytes: [0, 0, 0, 0, 7, 0, 0] });

    const one = await json<{ instruments: Record<string, unknown> }>(
      await call(h.app, '/api/throughput?days=60&instrument=tims1', { token: h.tokens.viewer }),
    );
    expect(Object.keys(one.instruments)).toEqual(['tims1']);
  });

  it('answers 400 naming the field for a bad range or instrument', async () => {
    for (const [q, field] of [
      ['days=0', 'days'],
      ['days=367', 'days'],
      ['days=x', 'days'],
      ['instrument=nosuch', 'instrument'],
      ['from=2026-01-01', 'from'],
    ]) {
      const res = await call(h.app, `/api/throughput?${q}`, { token: h.tokens.viewer });
      expect(res.status, q).toBe(400);
      expect(await json(res)).toMatchObject({ code: 'invalid_input', field });
    }
  });
});

describe('metric names and bands', () => {
  beforeAll(async () => {
    const values = [100, 102, 98, 101, 99, 100, 160, 100, 101];
    for (const [i, v] of values.entries()) {
      const id = `lj-${i}.raw`;
      await insertFile(h.db, { id });
      await h.db.exec(
        `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
         values ($1, 'qc', 1, 'precursors', $2, '2026-01-01'::timestamptz + $3 * interval '1 hour'),
                ($1, 'qc', 1, 'ms1_accuracy', 1, '2026-01-01'::timestamptz + $3 * interval '1 hour')`,
        [id, v, i],
      );
      // a unit on the newer half; a metric that never had a value
      if (i >= 5)
        await h.db.exec(`update metrics set unit = 'ppm' where file_id = $1 and name = 'ms1_accuracy'`, [id]);
      await h.db.exec(
        `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
         values ($1, 'qc', 1, 'fwhm_rt', null, '2026-01-01'::timestamptz + $2 * interval '1 hour')`,
        [id, i],
      );
    }
  });

  it('lists each recorded metric name once, sorted, with its unit, description and whether it has values', async () => {
    const res = await call(h.app, '/api/metrics/names', { token: h.tokens.viewer });
    expect(await json(res)).toEqual({
      names: ['fwhm_rt', 'ms1_accuracy', 'precursors'],
      metrics: [
        {
          name: 'fwhm_rt',
          unit: null,
          has_values: false,
          description: expect.stringContaining('peak width'),
        },
        { name: 'ms1_accuracy', unit: 'ppm', has_values: true, description: null },
        {
          name: 'precursors',
          unit: null,
          has_values: true,
          description: expect.stringContaining('precursors'),
        },
      ],
    });
    // per instrument: none of these runs is on tims1
    const other = await json<{ metrics: { has_values: boolean }[] }>(
      await call(h.app, '/api/metrics/names?instrument=tims1', { token: h.tokens.viewer }),
    );
    expect(other.metrics.map((m) => m.has_values)).toEqual([false, false, false]);
    const bad = await call(h.app, '/api/metrics/names?instrument=a%20b&x=1', { token: h.tokens.viewer });
    expect(bad.status).toBe(400);
  });

  it('adds rolling mean ± k·sd bands and flags the points outside them', async () => {
    const res = await call(h.app, '/api/metrics/series?names=precursors&window=5&k=3', {
      token: h.tokens.viewer,
    });
    expect(res.status).toBe(200);
    const body = await json<{
      window: number;
      k: number;
      series: Record<string, { value: number[]; bands: { mean: (number | null)[]; outlier: boolean[] } }>;
    }>(res);
    expect(body).toMatchObject({ window: 5, k: 3 });
    const s = body.series.precursors!;
    expect(s.bands.outlier).toEqual([false, false, false, false, false, false, true, false, false]);
    expect(s.bands.mean[0]).toBeNull();
    expect(s.bands.mean[6]).toBeCloseTo(100);
    // without window: no bands (the answer stays as it was)
    const plain = await json<{ series: Record<string, object> }>(
      await call(h.app, '/api/metrics/series?names=precursors', { token: h.tokens.viewer }),
    );
    expect(plain.series.precursors).not.toHaveProperty('bands');
  });

  it('answers 400 naming the field for bad band parameters', async () => {
    for (const [q, field] of [
      ['window=2', 'window'],
      ['window=501', 'window'],
      ['window=20&k=0.1', 'k'],
      ['window=20&k=abc', 'k'],
      ['k=2', 'k'],
    ]) {
      const res = await call(h.app, `/api/metrics/series?names=precursors&${q}`, { token: h.tokens.viewer });
      expect(res.status, q).toBe(400);
      expect(await json(res)).toMatchObject({ code: 'invalid_input', field });
    }
  });
});
