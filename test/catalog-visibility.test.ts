/**
 * Per-project visibility beyond the catalog's own routes (#22 item 1): with a members-only project,
 * a viewer who is not a member does not see its files on /api/files (list, CSV, show → 404), the
 * names of metrics only they have (/api/metrics/names), their metric points on /api/metrics/series (plain, with QC bands, thinned for display), their members of
 * an archive (/api/archives/{id}, /api/files/{id}/archives), their retrievals (/api/retrievals), nor their events on the live feed
 * /api/events, nor can an operator act on them (retry, ignore, accept-overwrite, cancel a job: 404);
 * once a member, they do. Every route is enumerated, per role. Real PostgreSQL.
 */

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, routeTable } from '../src/api/app.ts';
import { openApiDocument } from '../src/api/openapi.ts';
import { syncProjects } from '../src/catalog/projects.ts';
import { parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { latestEventId, recordEvent } from '../src/engine/events.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';
import { fsArchive } from './helpers/archive-fixture.ts';
import { qcProcessing } from './helpers/config-text.ts';
import { patient } from './helpers/patience.ts';
import { waitFor } from './helpers/spawn.ts';

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
    for (const name of ['precursors', 'proteins'])
      await h.db.exec(
        `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
         values ($1, 'qc', 1, $3, $2, now())`,
        [id, project === 'SECRET' ? 1 : 2, name],
      );
  }
  // verified backups (a data set's export reads them), an open project's sample measured by both files, and a data set of both (the sweep below)
  for (const id of ['open_1.raw', 'secret_1.raw']) {
    const loc = path.join(h.deps.config.data_dir, `${id}.backup`);
    await mkdir(path.dirname(loc), { recursive: true });
    await writeFile(loc, id);
    const sha = createHash('sha256').update(id).digest('hex');
    await h.db.exec(
      `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
       values ($1, 'backup', $2, 'verified', 'sha256', $3, $4)`,
      [
        id,
        loc,
        JSON.stringify({
          algorithm: 'sha256',
          totalBytes: id.length,
          entries: [{ rel: id, size: id.length, mtimeMs: 0, hash: sha }],
        }),
        id.length,
      ],
    );
  }
  await h.db.exec(
    `insert into samples (refcode, name, project_id, created_by, updated_by) values ('S00001', 'open sample', 'PRJ1', 'test', 'test')`,
  );
  for (const file of ['open_1.raw', 'secret_1.raw']) {
    const linked = await call(h.app, '/api/samples/S00001/links', { token: h.tokens.admin, body: { file } });
    expect(linked.status).toBe(200);
  }
  expect(
    (await call(h.app, '/api/datasets', { token: h.tokens.admin, body: { name: 'study1' } })).status,
  ).toBe(201);
  const added = await call(h.app, '/api/datasets/study1/members', {
    token: h.tokens.admin,
    body: { files: ['open_1.raw', 'secret_1.raw'] },
  });
  expect(added.status).toBe(200);
  // a metric only the secret file has: its name is not shown to those who may not see the file
  await h.db.exec(
    `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
     values ('secret_1.raw', 'qc', 1, 'secret_only', 7, now())`,
  );
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
  const names = ((await (await call(h.app, '/api/metrics/names', { token })).json()) as { names: string[] })
    .names;
  return {
    list: list.items.some((f) => f.id === 'secret_1.raw'),
    names: names.includes('secret_only'),
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
      names.includes('precursors') &&
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

/**
 * Every GET route of the OpenAPI document, asked with the secret file wherever a route takes a file
 * (path `{id}`, `files=`, `q=`, the graph's `id`): a viewer outside the project must never get its
 * name back, in any answer (a new route that forgets visibility fails here). Admins must get it from
 * the routes that show files — the sweep can see a leak.
 */
const SECRET = 'secret_1.raw';
const DOC = openApiDocument(routeTable(), 'test') as {
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
};
/** The event feed is a stream (read above by `feed`). */
const SKIP = new Set(['/api/events']);

function sweepUrl(p: string, params: { name: string; in: string }[]): string {
  const values: Record<string, string> = {
    id: p.startsWith('/api/files') ? SECRET : p.startsWith('/api/archives') ? archive : '1',
    name: p.startsWith('/api/datasets') ? 'study1' : 'viewer',
    refcode: 'S00001',
    kind: 'file',
    names: 'precursors',
    q: 'secret',
    files: SECRET,
    file: SECRET,
    format: 'metadata',
  };
  const url = p.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(values[n] ?? '1'));
  const query = params
    .filter((x) => x.in === 'query' && values[x.name] !== undefined && x.name !== 'id')
    .map((x) => `${x.name}=${encodeURIComponent(values[x.name]!)}`);
  if (p === '/api/graph') query.push(`id=${SECRET}`);
  return query.length ? `${url}?${query.join('&')}` : url;
}

async function leaks(role: Role): Promise<string[]> {
  const found: string[] = [];
  for (const [p, ops] of Object.entries(DOC.paths)) {
    if (!ops.get || SKIP.has(p)) continue;
    const url = sweepUrl(p, ops.get.parameters ?? []);
    const res = await call(h.app, url, { token: h.tokens[role] });
    expect(res.status, `${role} GET ${url}`).toBeLessThan(500);
    // a 404 may say which file it did not find: the caller named it
    const t = await res.text();
    if (res.ok && t.includes(SECRET)) found.push(p);
  }
  return found.sort();
}

describe('project visibility: every GET route', () => {
  it('no route gives a viewer or operator outside the project the secret file; admins get it', async () => {
    expect(await leaks('viewer')).toEqual([]);
    expect(await leaks('operator')).toEqual([]);
    expect(await leaks('admin')).toEqual(
      expect.arrayContaining([
        '/api/files',
        '/api/files.csv',
        '/api/files/{id}',
        '/api/files/{id}/archives',
        '/api/metrics/series',
        '/api/archives/{id}',
        '/api/retrievals',
        '/api/search',
        '/api/qc/mzqc',
        '/api/graph',
        '/api/samples/{refcode}',
        '/api/datasets/{name}',
        '/api/datasets/{name}/export',
      ]),
    );
  });
});

describe('project visibility on files, metrics and events', () => {
  it('a viewer or operator outside a members-only project sees none of its files; a member and admins do', async () => {
    const none = {
      list: false,
      byProject: 0,
      csv: false,
      show: 404,
      names: false,
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
      names: true,
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

/**
 * Every POST/PUT/DELETE route of the OpenAPI document that takes a file, sample or data set (path
 * `{id}` of a file or of a job on one, `{refcode}`, a data set's `{name}`; body `file`, `files`,
 * `samples`, `project`), asked with the hidden project's one in each of those places in turn (the open
 * project's in the others): an operator outside the project gets 404, as for an id that does not
 * exist (not 403, which would say it does; not 2xx), and nothing in the database changes; a viewer
 * is refused by role. An admin, who sees the project, is not answered 404 — the sweep reaches the
 * routes (a new write route that forgets visibility fails here).
 */
type Slot = 'file' | 'job' | 'sample' | 'dataset' | 'files' | 'samples' | 'project';
/** The tables a write route could change. */
const WRITTEN = [
  'files',
  'jobs',
  'samples',
  'datasets',
  'catalog_relations',
  'catalog_history',
  'retrievals',
  'archive_fetches',
  'events',
  'tasks',
  'processing_reruns',
];

/** A digest of the rows of every table in WRITTEN: equal digests, nothing changed. */
async function written(): Promise<string[]> {
  return Promise.all(
    WRITTEN.map(async (t) => {
      const r = await h.db.one<{ d: string | null }>(
        `select md5(string_agg(x::text, '|' order by x::text)) as d from ${t} x`,
      );
      return `${t}:${r.d}`;
    }),
  );
}

function pathSlot(p: string, param: string): Slot | undefined {
  if (param === 'refcode') return 'sample';
  if (param === 'name' && p.startsWith('/api/datasets/')) return 'dataset';
  if (param === 'id' && p.startsWith('/api/files/')) return 'file';
  if (param === 'id' && /^\/api\/jobs\/\{id\}/.test(p)) return 'job';
  return undefined;
}
const BODY_SLOTS: Record<string, Slot> = {
  file: 'file',
  files: 'files',
  samples: 'samples',
  project: 'project',
};
/** Other body fields a route requires, filled so the call reaches its visibility check. */
const FILL: Record<string, string> = { name: 'sweepset' };

interface WriteCall {
  label: string;
  method: string;
  url: string;
  body: Record<string, unknown>;
}

/** Each write route taking a file, sample or data set, once per place, with the hidden one there. */
function writeCalls(ids: Record<'hidden' | 'open', Record<Slot, string>>): WriteCall[] {
  const calls: WriteCall[] = [];
  for (const [p, ops] of Object.entries(DOC.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (method === 'get') continue;
      const o = op as {
        parameters?: { name: string; in: string }[];
        requestBody?: { content?: { 'application/json'?: { schema?: { properties?: object } } } };
      };
      const inPath = (o.parameters ?? [])
        .filter((x) => x.in === 'path')
        .map((x) => ({ name: x.name, slot: pathSlot(p, x.name) }));
      const props = Object.keys(o.requestBody?.content?.['application/json']?.schema?.properties ?? {});
      const inBody = props.filter((k) => BODY_SLOTS[k]).map((k) => ({ name: k, slot: BODY_SLOTS[k]! }));
      const places = [
        ...inPath.map((x) => ({ ...x, at: 'path' })),
        ...inBody.map((x) => ({ ...x, at: 'body' })),
      ];
      for (const hiddenAt of places.filter((x) => x.slot)) {
        const value = (x: { name: string; slot?: Slot }, at: string) =>
          x.slot ? ids[x.name === hiddenAt.name && at === hiddenAt.at ? 'hidden' : 'open'][x.slot] : '1';
        const url = inPath.reduce(
          (u, x) => u.replace(`{${x.name}}`, encodeURIComponent(value(x, 'path'))),
          p,
        );
        const body: Record<string, unknown> = {};
        for (const k of props) if (FILL[k]) body[k] = FILL[k];
        for (const x of inBody)
          body[x.name] = x.name === 'file' || x.name === 'project' ? value(x, 'body') : [value(x, 'body')];
        calls.push({
          label: `${method.toUpperCase()} ${p} (${hiddenAt.at} ${hiddenAt.name})`,
          method,
          url,
          body,
        });
      }
    }
  }
  return calls;
}

describe('project visibility: every write route', () => {
  it("a write naming the hidden project's file, sample or data set is 404 for an operator outside it and changes nothing", async () => {
    await h.db.exec(
      `insert into samples (refcode, name, project_id, created_by, updated_by) values ('S00002', 'secret sample', 'SECRET', 'test', 'test')`,
    );
    const made = await call(h.app, '/api/datasets', {
      token: h.tokens.admin,
      body: { name: 'secretset', project: 'SECRET' },
    });
    expect(made.status).toBe(201);
    const job = await h.db.one<{ id: string }>(
      `insert into jobs (file_id, settings_name, settings_version, key, executor, state, output_dir)
       values ('secret_1.raw', 'qc', 2, 'qc-2-secret-sweep', 'slurm', 'new', '/output/qc/secret2') returning id`,
    );
    const openJob = await h.db.one<{ id: string }>(
      `insert into jobs (file_id, settings_name, settings_version, key, executor, state, output_dir)
       values ('open_1.raw', 'qc', 2, 'qc-2-open-sweep', 'slurm', 'new', '/output/qc/open2') returning id`,
    );
    const ids = {
      hidden: {
        file: SECRET,
        job: job.id,
        sample: 'S00002',
        dataset: 'secretset',
        files: SECRET,
        samples: 'S00002',
        project: 'SECRET',
      },
      open: {
        file: 'open_1.raw',
        job: openJob.id,
        sample: 'S00001',
        dataset: 'study1',
        files: 'open_1.raw',
        samples: 'S00001',
        project: 'PRJ1',
      },
    };
    const calls = writeCalls(ids);
    // the routes known today are among them (the sweep finds the document's routes)
    expect(calls.map((c) => c.label)).toEqual(
      expect.arrayContaining([
        'POST /api/files/{id}/retry (path id)',
        'POST /api/jobs/{id}/cancel (path id)',
        'POST /api/samples/{refcode}/links (path refcode)',
        'POST /api/samples/{refcode}/links (body file)',
        'POST /api/datasets/{name}/members (path name)',
        'POST /api/datasets/{name}/members (body files)',
        'POST /api/datasets/{name}/members (body samples)',
        'POST /api/retrievals (body files)',
        'POST /api/retrievals (body project)',
        'POST /api/jobs/reruns (body project)',
        'POST /api/samples/relink (body project)',
        'POST /api/datasets (body project)',
      ]),
    );
    const answers = async (role: Role) => {
      const out: string[] = [];
      for (const c of calls) {
        const before = await written();
        const res = await call(h.app, c.url, {
          token: h.tokens[role],
          method: c.method.toUpperCase(),
          body: c.body,
        });
        const t = await res.text();
        const changed = (await written()).filter((d, i) => d !== before[i]).map((d) => d.split(':')[0]);
        out.push(`${c.label}: ${res.status}${changed.length ? ` changed ${changed.join(', ')}` : ''}`);
        // a 404 repeating the project id the caller sent ("no project 'SECRET'", as for any unknown
        // id) tells nothing; anything else naming it would
        if (role !== 'admin') expect(t.replace("no project 'SECRET'", ''), c.label).not.toContain('SECRET');
      }
      return out;
    };
    expect(await answers('operator')).toEqual(calls.map((c) => `${c.label}: 404`));
    expect(await answers('viewer')).toEqual(calls.map((c) => `${c.label}: 403`));
    // a retrieval by date alone leaves the hidden project's files out
    const secretAsked = async () =>
      (
        await h.db.one<{ n: number }>(`select count(*)::int as n from retrievals where file_id = $1`, [
          SECRET,
        ])
      ).n;
    const asked = await secretAsked();
    const bySince = await call(h.app, '/api/retrievals', {
      token: h.tokens.operator,
      body: { since: '2000-01-01T00:00:00Z' },
    });
    expect(bySince.status).toBe(202);
    const since = await bySince.text();
    expect(since).toContain('open_1.raw');
    expect(since).not.toContain(SECRET);
    expect(await secretAsked()).toBe(asked);
    // an admin sees the project: none of the same calls is answered 404
    for (const a of await answers('admin')) expect(a).not.toMatch(/: 404/);
  });
});

describe('data set export over HTTP', () => {
  it('streams the zip from its temp file and removes the temp folder afterwards', async () => {
    const temps = async () =>
      (await readdir(os.tmpdir())).filter((n) => n.startsWith('sluice-export-')).length;
    const before = await temps();
    const res = await call(h.app, '/api/datasets/study1/export', { token: h.tokens.admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    const body = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    expect(body.subarray(0, 2).toString()).toBe('PK');
    // both files' bytes (stored as read from their backups) and the crate's metadata are in it
    expect(body.includes('ro-crate-metadata.json')).toBe(true);
    expect(body.includes('secret_1.raw')).toBe(true);
    await waitFor('the export temp folder removed', async () => (await temps()) === before, 10_000, 50);
  });
});

describe('a project named in a request body', () => {
  it('is checked on one read of the projects: POST /api/datasets as an operator outside the members-only one', async () => {
    // the check read the projects twice (what is hidden from the caller, then whether it exists)
    let reads = 0;
    const counting = new Proxy(h.db, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop !== 'query' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
        return (sql: string, params?: unknown[]) => {
          if (/from projects p left join project_members/.test(sql)) reads++;
          return v.call(target, sql, params);
        };
      },
    }) as Db;
    const app = createApp({ ...h.deps, db: counting });
    for (const [project, status] of [
      ['PRJ1', 201],
      ['SECRET', 404],
      ['NOSUCH', 404],
    ] as const) {
      reads = 0;
      const res = await call(app, '/api/datasets', {
        token: h.tokens.operator,
        body: { name: `one-read-${project}`, project },
      });
      expect(res.status, project).toBe(status);
      expect(reads, project).toBe(1);
    }
    expect(
      (await h.db.query<{ name: string }>("select name from datasets where name like 'one-read-%'")).map(
        (r) => r.name,
      ),
    ).toEqual(['one-read-PRJ1']);
  });
});

describe('a processing re-run without a project', () => {
  it("is facility-wide, so only operators and admins may preview or start one: it counts a members-only project's files", async () => {
    const file = h.cliEnv.SLUICE_CONFIG!;
    const yaml = `${await readFile(file, 'utf8')}${qcProcessing({ template: 'true' })}
  assignments:
    - settings: qc
      projects: ['*']
`;
    const app = createApp({ ...h.deps, config: parseConfigText(yaml, file).config });
    await h.db.exec("update files set status = 'done' where id in ('open_1.raw', $1)", [SECRET]);
    const preview = async (role: Role, body: Record<string, unknown>) => {
      const res = await call(app, '/api/jobs/reruns', {
        token: h.tokens[role],
        body: { current: true, dry_run: true, ...body },
      });
      return { status: res.status, body: (await res.json()) as { files: number } };
    };
    expect((await preview('viewer', {})).status).toBe(403);
    const open = await preview('admin', { project: 'PRJ1' });
    const hidden = await preview('admin', { project: 'SECRET' });
    expect(hidden.body.files).toBeGreaterThan(0);
    // an operator outside the members-only project cannot name it, but a re-run without a project covers it
    expect((await preview('operator', { project: 'SECRET' })).status).toBe(404);
    const all = await preview('operator', {});
    expect(all.status).toBe(200);
    expect(all.body.files).toBe(open.body.files + hidden.body.files);
  });
});
