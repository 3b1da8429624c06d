/**
 * Per-project visibility beyond the catalog's own routes (#22 item 1): with a members-only project,
 * a viewer who is not a member does not see its files on /api/files (list, CSV, show → 404), their
 * metric points on /api/metrics/series (plain, with QC bands, thinned for display), their members of
 * an archive (/api/archives/{id}, /api/files/{id}/archives), their retrievals (/api/retrievals), nor their events on the live feed
 * /api/events, nor can an operator act on them (retry, ignore, accept-overwrite, cancel a job: 404);
 * once a member, they do. Every route is enumerated, per role. Real PostgreSQL.
 */

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncProjects } from '../src/catalog/projects.ts';
import { latestEventId, recordEvent } from '../src/engine/events.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';
import { fsArchive } from './helpers/archive-fixture.ts';
import { patient } from './helpers/patience.ts';

let h: ApiHarness;
let archive: string;

beforeAll(async () => {
  h = await createApiHarness();
  await syncProjects(h.db, h.deps.config);
  const created = await call(h.app, '/api/projects', {
    token: h.tokens.admin,
    body: { id: 'SECRET', visibility: 'members' },
  });
  expect(created.status).toBe(201);
  for (const [id, project] of [
    ['open_1.raw', 'PRJ1'],
    ['secret_1.raw', 'SECRET'],
  ] as const) {
    await insertFile(h.db, { id });
    await h.db.exec('update files set project_id = $2 where id = $1', [id, project]);
    await h.db.exec(
      `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
       values ($1, 'qc', 1, 'precursors', $2, now())`,
      [id, project === 'SECRET' ? 1 : 2],
    );
  }
  archive = await fsArchive(h.db, path.join(h.deps.config.data_dir, 'lts', '1.tar'), {
    'open_1.raw': { 'open_1.raw': Buffer.from('open') },
    'secret_1.raw': { 'secret_1.raw': Buffer.from('secret') },
  });
  const asked = await call(h.app, '/api/retrievals', {
    token: h.tokens.admin,
    body: { files: ['open_1.raw', 'secret_1.raw'] },
  });
  expect(asked.status).toBe(202);
});
afterAll(async () => h.close());

type Role = 'viewer' | 'operator' | 'admin';

/** What `role` sees of the secret file on each route. */
async function seen(role: Role) {
  const token = h.tokens[role];
  const list = (await (await call(h.app, '/api/files?limit=500', { token })).json()) as {
    items: { id: string }[];
  };
  const byProject = (await (await call(h.app, '/api/files?project=SECRET', { token })).json()) as {
    items: unknown[];
  };
  const csv = await (await call(h.app, '/api/files.csv', { token })).text();
  const show = await call(h.app, '/api/files/secret_1.raw', { token });
  const files = (r: Response) =>
    r.json().then((b) => (b as { series: Record<string, { file: string[] }> }).series.precursors!.file);
  const series = await files(await call(h.app, '/api/metrics/series?names=precursors', { token }));
  const banded = await files(await call(h.app, '/api/metrics/series?names=precursors&window=3', { token }));
  const thinned = await files(await call(h.app, '/api/metrics/series?names=precursors&points=3', { token }));
  const members = (
    (await (await call(h.app, `/api/archives/${archive}`, { token })).json()) as {
      members: { file_id: string }[];
    }
  ).members.map((m) => m.file_id);
  const fileArchives = await call(h.app, '/api/files/secret_1.raw/archives', { token });
  const retrievals = (
    (await (await call(h.app, '/api/retrievals', { token })).json()) as { file_id: string }[]
  ).map((r) => r.file_id);
  return {
    list: list.items.some((f) => f.id === 'secret_1.raw'),
    byProject: byProject.items.length,
    csv: csv.includes('secret_1.raw'),
    show: show.status,
    series: series.includes('secret_1.raw'),
    banded: banded.includes('secret_1.raw'),
    thinned: thinned.includes('secret_1.raw'),
    member: members.includes('secret_1.raw'),
    fileArchives: fileArchives.status,
    retrieval: retrievals.includes('secret_1.raw'),
    // the open project's file is seen by all
    open:
      list.items.some((f) => f.id === 'open_1.raw') &&
      series.includes('open_1.raw') &&
      thinned.includes('open_1.raw') &&
      members.includes('open_1.raw') &&
      retrievals.includes('open_1.raw'),
  };
}

/**
 * The file ids of the feed's events seen by `role`: two events (the secret file's, then `until`'s)
 * are recorded, then a stream resuming from before them is read up to `until`'s.
 */
async function feed(role: Role, until: string): Promise<string[]> {
  const before = await latestEventId(h.db);
  await recordEvent(h.db, { subjectType: 'file', subjectId: 'secret_1.raw', actor: 'test', to: 'done' });
  await recordEvent(h.db, { subjectType: 'file', subjectId: until, actor: 'test', to: 'done' });
  // ids 9 and 10 among them: ordered as text, 10 came before 9 and 9 was skipped (fixed in eventsAfter)
  const res = await call(h.app, `/api/events?after=${before}`, { token: h.tokens[role] });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const ids = () => [...text.matchAll(/"subject_id":"([^"]+)"/g)].map((m) => m[1]!);
  const deadline = Date.now() + patient(10_000);
  try {
    while (!ids().includes(until) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    return ids();
  } finally {
    await reader.cancel();
  }
}

describe('project visibility on files, metrics and events', () => {
  it('a viewer or operator outside a members-only project sees none of its files; a member and admins do', async () => {
    const none = {
      list: false,
      byProject: 0,
      csv: false,
      show: 404,
      series: false,
      banded: false,
      thinned: false,
      member: false,
      fileArchives: 404,
      retrieval: false,
      open: true,
    };
    const all = {
      list: true,
      byProject: 1,
      csv: true,
      show: 200,
      series: true,
      banded: true,
      thinned: true,
      member: true,
      fileArchives: 200,
      retrieval: true,
      open: true,
    };
    expect(await seen('viewer')).toEqual(none);
    expect(await seen('operator')).toEqual(none);
    expect(await seen('admin')).toEqual(all);
    expect(await feed('viewer', 'open_1.raw')).toEqual(['open_1.raw']);
    expect(await feed('admin', 'open_1.raw')).toEqual(['secret_1.raw', 'open_1.raw']);

    const added = await call(h.app, '/api/projects/SECRET/members', {
      token: h.tokens.admin,
      body: { user: 'viewer' },
    });
    expect(added.status).toBe(200);
    expect(await seen('viewer')).toEqual(all);
    expect(await seen('operator')).toEqual(none);
    expect(await feed('viewer', 'open_1.raw')).toEqual(['secret_1.raw', 'open_1.raw']);
  });

  it('file and job actions on a hidden file are 404 for an operator outside its project, and change nothing', async () => {
    const job = await h.db.one<{ id: string }>(
      `insert into jobs (file_id, settings_name, settings_version, key, executor, state, output_dir)
       values ('secret_1.raw', 'qc', 1, 'qc-1-secret', 'slurm', 'new', '/output/qc/secret') returning id`,
    );
    const act = (role: Role, what: string) =>
      call(h.app, what, { token: h.tokens[role], body: {} }).then((r) => r.status);
    const actions = [
      '/api/files/secret_1.raw/retry',
      '/api/files/secret_1.raw/ignore',
      '/api/files/secret_1.raw/accept-overwrite',
      `/api/jobs/${job.id}/cancel`,
    ];
    for (const a of actions) expect([a, await act('operator', a)]).toEqual([a, 404]);
    const state = async () =>
      h.db.one<{ status: string; job: string }>(
        `select f.status, j.state as job from files f join jobs j on j.file_id = f.id where j.id = $1`,
        [job.id],
      );
    expect(await state()).toEqual({ status: 'done', job: 'new' });
    // an admin sees the file: the same calls reach the actions (done, or refused by its state)
    for (const a of actions) expect([a, await act('admin', a)]).not.toEqual([a, 404]);
    expect((await state()).status).not.toBe('done');
  });
});
