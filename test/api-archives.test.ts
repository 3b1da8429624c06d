/**
 * The archives API (issue #20 interfaces) on a real database: the list with its filters and paging,
 * one archive with its members, one file's archive state (the file page), the policy pass run by an
 * operator (a viewer may only read), bad input named, and the archive gauges of /metrics.
 * Archives are GNU-tar archives recorded as verified (helpers/archive-fixture.ts).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { addItems } from '../src/archive/repo.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import { createMetricsRegistry } from '../src/ops/prometheus.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';
import { fsArchive } from './helpers/archive-fixture.ts';

let h: ApiHarness;
let first: string;
let second: string;
beforeAll(async () => {
  h = await createApiHarness();
  for (const id of ['a1', 'a2', 'b1', 'due1']) await insertFile(h.db, { id });
  await h.db.exec(`update files set project_id = 'PRJ2' where id = 'b1'`);
  const lts = path.join(h.deps.config.data_dir, 'lts');
  first = await fsArchive(h.db, path.join(lts, '1.tar'), {
    a1: { 'run.raw': Buffer.from('run data'), 'sub/m.txt': Buffer.from('method') },
    a2: { 'x.raw': Buffer.from('x') },
  });
  second = await fsArchive(h.db, path.join(lts, '2.tar'), { b1: { 'b.raw': Buffer.from('bee') } }, 'lts2');
  // a file due on lts for an hour and not archived yet
  await addItems(h.db, [
    { fileId: 'due1', target: 'lts', policy: 'all', dueAt: new Date(Date.now() - 3_600_000), bytes: 10 },
  ]);
}, 60_000);
afterAll(() => h?.close());

type Page = { archives: { id: string; target: string; state: string }[]; next: string | null };

describe('archives API', () => {
  it('lists archives newest first with filters and pages', async () => {
    const all = await call(h.app, '/api/archives', { token: h.tokens.viewer });
    expect(all.status).toBe(200);
    const body = (await all.json()) as Page & { items: { target: string; state: string; items: number }[] };
    expect(body.archives.map((a) => a.id)).toEqual([second, first]);
    expect(body.next).toBeNull();
    expect(body.items).toEqual([expect.objectContaining({ target: 'lts', state: 'due', items: 1 })]);
    const p1 = (await (
      await call(h.app, '/api/archives?limit=1', { token: h.tokens.viewer })
    ).json()) as Page;
    expect(p1.archives.map((a) => a.id)).toEqual([second]);
    expect(p1.next).toBe(second);
    const p2 = (await (
      await call(h.app, `/api/archives?limit=1&before=${p1.next}`, { token: h.tokens.viewer })
    ).json()) as Page;
    expect([p2.archives.map((a) => a.id), p2.next]).toEqual([[first], null]);
    const prj2 = (await (
      await call(h.app, '/api/archives?project=PRJ2', { token: h.tokens.viewer })
    ).json()) as Page;
    expect(prj2.archives.map((a) => a.id)).toEqual([second]);
    const lts = (await (
      await call(h.app, '/api/archives?target=lts&state=archived', { token: h.tokens.viewer })
    ).json()) as Page;
    expect(lts.archives.map((a) => a.id)).toEqual([first]);
    const none = (await (
      await call(h.app, '/api/archives?state=failed', { token: h.tokens.viewer })
    ).json()) as Page;
    expect(none.archives).toEqual([]);
  });

  it('shows one archive with every member, its offset and hash', async () => {
    const res = await call(h.app, `/api/archives/${first}`, { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    const { archive, members } = (await res.json()) as {
      archive: { state: string; target: string; location: string; verified_at: string; members: number };
      members: { file_id: string; path: string; size: string; sha256: string; data_offset: string }[];
    };
    expect(archive).toMatchObject({ state: 'archived', target: 'lts', members: 3 });
    expect(archive.location).toMatch(/1\.tar$/);
    expect(archive.verified_at).toBeTruthy();
    expect(members.map((m) => [m.file_id, m.path, m.size])).toEqual(
      expect.arrayContaining([
        ['a1', 'data/astral1/a1/run.raw', '8'],
        ['a1', 'data/astral1/a1/sub/m.txt', '6'],
        ['a2', 'data/astral1/a2/x.raw', '1'],
      ]),
    );
    expect(members[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(members[0]!.data_offset).toMatch(/^\d+$/);
    const missing = await call(h.app, '/api/archives/99999', { token: h.tokens.viewer });
    expect(missing.status).toBe(404);
  });

  it("answers one file's archives with its members, items and retrievals", async () => {
    const res = await call(h.app, '/api/files/a1/archives', { token: h.tokens.viewer });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      items: unknown[];
      archives: { id: string; file_members: { path: string }[] }[];
      retrievals: unknown[];
    };
    expect(body.archives.map((a) => a.id)).toEqual([first]);
    expect(body.archives[0]!.file_members.map((m) => m.path).sort()).toEqual([
      'data/astral1/a1/run.raw',
      'data/astral1/a1/sub/m.txt',
    ]);
    expect(body.retrievals).toEqual([]);
    const due = (await (
      await call(h.app, '/api/files/due1/archives', { token: h.tokens.viewer })
    ).json()) as {
      items: { target: string; state: string }[];
      archives: unknown[];
    };
    expect(due.items).toEqual([expect.objectContaining({ target: 'lts', state: 'due' })]);
    expect(due.archives).toEqual([]);
    const missing = await call(h.app, '/api/files/nope/archives', { token: h.tokens.viewer });
    expect(missing.status).toBe(404);
    // a members-only project's file: not there for a viewer who is no member, shown to an admin
    const project = { id: 'SECRET', visibility: 'members' };
    expect((await call(h.app, '/api/projects', { token: h.tokens.admin, body: project })).status).toBe(201);
    await h.db.exec(`update files set project_id = 'SECRET' where id = 'a2'`);
    expect((await call(h.app, '/api/files/a2/archives', { token: h.tokens.viewer })).status).toBe(404);
    expect((await call(h.app, '/api/files/a2/archives', { token: h.tokens.admin })).status).toBe(200);
  });

  it('runs the policy pass for operators only, and refuses it without archive targets', async () => {
    const viewer = await call(h.app, '/api/archives/run', { token: h.tokens.viewer, body: {} });
    expect(viewer.status).toBe(403);
    const none = await call(h.app, '/api/archives/run', { token: h.tokens.operator, body: {} });
    expect(none.status).toBe(409);
    expect(await none.text()).toMatch(/no archive targets configured/);
    const root = path.dirname(h.cliEnv.SLUICE_CONFIG!);
    const yaml = `data_dir: ${root}/data
backup:
  path: ${root}/backup
archive:
  targets:
    - { name: lts, type: filesystem, path: ${root}/lts, min_free_share: 0 }
  policies:
    - { name: all, targets: [lts], when: days_after_acquisition, days: 0 }
projects:
  PRJ1: { tokens: [prj1] }
instruments:
  astral1: { type: thermo, watch: ${root}/astral1 }
`;
    const app = createApp({
      ...h.deps,
      config: parseConfigText(yaml, path.join(root, 'sluice.yaml')).config,
    });
    const ran = await call(app, '/api/archives/run', { token: h.tokens.operator, body: {} });
    expect(ran.status).toBe(202);
    expect(((await ran.json()) as { added: number }).added).toBeGreaterThanOrEqual(0);
  });

  it('names the offending field of bad input', async () => {
    for (const [url, field] of [
      ['/api/archives?state=lost', 'state'],
      ['/api/archives?limit=0', 'limit'],
      ['/api/archives?before=x', 'before'],
      ['/api/archives/abc', 'id'],
    ] as const) {
      const res = await call(h.app, url, { token: h.tokens.viewer });
      expect(res.status, url).toBe(400);
      const body = (await res.json()) as { field: string; message: string };
      expect(body.field, url).toBe(field);
      expect(body.message, url).toContain(field);
    }
  });
});

describe('archive gauges', () => {
  it('reports archived bytes, archives per state, the oldest pending age and the last verification', async () => {
    const text = await createMetricsRegistry(h.db, { defaultMetrics: false }).collect();
    const value = (re: RegExp) => Number(text.match(re)?.[1]);
    expect(value(/sluice_archived_bytes\{target="lts"\} (\d+)/)).toBeGreaterThan(0);
    expect(text).toMatch(/sluice_archives\{target="lts",state="archived"\} 1\n/);
    expect(text).toMatch(/sluice_archives\{target="lts2",state="failed"\} 0\n/);
    // due for an hour: the age is at least that (a test cannot fail on a slow machine by a bound above)
    expect(value(/sluice_archive_oldest_pending_seconds\{target="lts"\} ([\d.]+)/)).toBeGreaterThanOrEqual(
      3600,
    );
    expect(text).toMatch(/sluice_archive_oldest_pending_seconds\{target="lts2"\} 0\n/);
    const verified = value(/sluice_archive_last_verified_timestamp_seconds\{target="lts"\} ([\d.e+]+)/);
    expect(Math.abs(verified - Date.now() / 1000)).toBeLessThan(3600);
  });
});
