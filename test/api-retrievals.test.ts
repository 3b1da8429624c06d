/**
 * The retrievals API (issue #20): operators ask for archived sets back, viewers may only list; the
 * request is recorded against the archive's one fetch (the workers are not running here: the fetch
 * stays `requested`, which is what a request answers before any restore or download).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../src/ops/prometheus.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';
import { fsArchive } from './helpers/archive-fixture.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
  for (const id of ['r1', 'r2', 'loose']) await insertFile(h.db, { id });
  await fsArchive(h.db, path.join(h.deps.config.data_dir, 'lts', 'r.tar'), {
    r1: { 'a.raw': Buffer.from('a') },
    r2: { 'b.raw': Buffer.from('b') },
  });
});
afterAll(() => h?.close());

describe('retrievals API', () => {
  it('operators request sets (one fetch per archive), viewers list but may not request', async () => {
    const denied = await call(h.app, '/api/retrievals', { token: h.tokens.viewer, body: { files: ['r1'] } });
    expect(denied.status).toBe(403);
    const res = await call(h.app, '/api/retrievals', {
      token: h.tokens.operator,
      body: { files: ['r1', 'r2', 'loose'] },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      retrievals: { file_id: string; fetch_id: string; state: string; requested_by: string }[];
      not_archived: string[];
    };
    expect(body.not_archived).toEqual(['loose']);
    expect(body.retrievals.map((r) => r.file_id)).toEqual(['r1', 'r2']);
    expect(new Set(body.retrievals.map((r) => r.fetch_id)).size).toBe(1);
    expect(body.retrievals[0]!.state).toBe('requested');
    expect(body.retrievals[0]!.requested_by).toMatch(/operator/);
    const list = await call(h.app, '/api/retrievals?state=requested', { token: h.tokens.viewer });
    expect(list.status).toBe(200);
    expect(((await list.json()) as unknown[]).length).toBe(2);
    // Prometheus: one fetch waiting in `requested`
    const text = await createMetricsRegistry(h.db, { defaultMetrics: false }).collect();
    expect(text).toMatch(/sluice_retrievals_waiting\{state="requested"\} 1\n/);
    expect(text).toMatch(/sluice_retrieval_wait_seconds\{state="requested"\} \d/);
  });

  it('refuses bad input with what was expected', async () => {
    const empty = await call(h.app, '/api/retrievals', { token: h.tokens.operator, body: {} });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(/name files, or a project and\/or since/);
    const state = await call(h.app, '/api/retrievals?state=lost', { token: h.tokens.viewer });
    expect(state.status).toBe(400);
    expect(await state.text()).toMatch(/expected one of requested/);
    const none = await call(h.app, '/api/retrievals', {
      token: h.tokens.operator,
      body: { files: ['loose'] },
    });
    // well-formed, but nothing archived to bring back: a conflict with the archive's state, not bad input
    expect(none.status).toBe(409);
    expect(await none.text()).toMatch(/none of the 1 requested file\(s\) is in a verified archive/);
  });
});
