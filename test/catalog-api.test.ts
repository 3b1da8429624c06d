/**
 * Catalog (#22) interfaces: `sluice samples|datasets|search` against a real database, and the API's
 * roles and visibility enumerated: who may read, import, link, add projects and members; a viewer
 * sees a members-only project's samples, files and data sets only once a member.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncProjects } from '../src/catalog/projects.ts';
import { indexPending } from '../src/catalog/search-index.ts';
import { type ApiHarness, call, createApiHarness } from './helpers/api.ts';
import { sluice } from './helpers/cli.ts';

let h: ApiHarness;
let dir: string;

beforeAll(async () => {
  h = await createApiHarness();
  await syncProjects(h.db, h.deps.config);
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-catalog-cli-'));
});
afterAll(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CLI', () => {
  it('imports a sheet (dry run first), lists, shows, puts samples in a data set and finds them', async () => {
    const sheet = path.join(dir, 'samples.csv');
    await writeFile(sheet, 'refcode,name,project,conc\nS00001,First,PRJ1,1.5\nS00002,Second,PRJ1,2\n');
    const dry = await sluice(['samples', 'import', sheet, '--dry-run'], { env: h.cliEnv });
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toContain(
      '2 would be created, 0 would be updated, 0 unchanged, 0 rejected\ndry run: nothing written',
    );
    const real = await sluice(['samples', 'import', sheet], { env: h.cliEnv });
    expect(real.stdout).toContain('2 created, 0 updated, 0 unchanged, 0 rejected');
    expect(real.stdout).toContain('search index updating');
    const bad = path.join(dir, 'bad.csv');
    await writeFile(bad, 'refcode,name,project\nS00003,,PRJ1\n');
    const refused = await sluice(['samples', 'import', bad], { env: h.cliEnv });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("row 2 S00003: column 'name' is empty\nnothing written");
    const noCols = await sluice(['samples', 'import', path.join(dir, 'x.txt')], { env: h.cliEnv });
    expect(noCols.code).toBe(2);
    expect(noCols.stderr).toMatch(/cannot tell the format of/);

    const show = await sluice(['samples', 'show', 'S00001', '--json'], { env: h.cliEnv });
    expect(JSON.parse(show.stdout)).toMatchObject({
      sample: { refcode: 'S00001', attributes: { conc: '1.5' } },
      history: [{ action: 'create', actor: 'cli:tester' }],
    });
    expect((await sluice(['datasets', 'create', 'study'], { env: h.cliEnv })).code).toBe(0);
    expect((await sluice(['datasets', 'add', 'study', '--sample', 'S00001'], { env: h.cliEnv })).stdout).toBe(
      '1 added to study\n',
    );
    expect((await sluice(['datasets', 'show', 'study'], { env: h.cliEnv })).stdout).toContain(
      'S00001  First',
    );
    const status = JSON.parse((await sluice(['status', '--json'], { env: h.cliEnv })).stdout);
    expect(status.search_index).toMatchObject({ queued: 2, unqueued: 0 });
    await indexPending(h.db); // what the catalog.index task does after an import commits
    expect((await sluice(['search', 'second'], { env: h.cliEnv })).stdout).toBe(
      'sample   S00002  Second  (PRJ1)\n',
    );
  });
});

describe('API roles and visibility', () => {
  const csv64 = (s: string) => Buffer.from(s).toString('base64');

  it('enumerates who may do what, and what a viewer sees of a members-only project', async () => {
    const { app, tokens } = h;
    // adding projects and members: admin only
    const project = { id: 'SECRET', visibility: 'members' };
    expect((await call(app, '/api/projects', { token: tokens.operator, body: project })).status).toBe(403);
    expect((await call(app, '/api/projects', { token: tokens.admin, body: project })).status).toBe(201);
    // import and links: operator and above
    const imp = { format: 'csv', content_base64: csv64('refcode,name,project\nX00001,Hidden,SECRET\n') };
    expect((await call(app, '/api/samples/import', { token: tokens.viewer, body: imp })).status).toBe(403);
    const done = await call(app, '/api/samples/import', { token: tokens.admin, body: imp });
    expect(await done.json()).toMatchObject({ created: [{ row: 2, refcode: 'X00001' }], written: true });
    // an operator who is not a member cannot import into it either
    const op = await call(app, '/api/samples/import', {
      token: tokens.operator,
      body: { ...imp, content_base64: csv64('refcode,name,project\nX00002,Mine,SECRET\n') },
    });
    expect(await op.json()).toMatchObject({
      written: false,
      rejected: [{ row: 2, reasons: [expect.stringMatching(/no project 'SECRET'/)] }],
    });

    await indexPending(h.db);
    const seen = async (role: 'viewer' | 'operator' | 'admin') => {
      const list = (await (await call(app, '/api/samples', { token: tokens[role] })).json()) as {
        refcode: string;
      }[];
      const one = await call(app, '/api/samples/X00001', { token: tokens[role] });
      const found = (await (await call(app, '/api/search?q=hidden', { token: tokens[role] })).json()) as {
        samples: unknown[];
      };
      const projects = (await (await call(app, '/api/projects', { token: tokens[role] })).json()) as {
        id: string;
      }[];
      return {
        list: list.some((s) => s.refcode === 'X00001'),
        one: one.status,
        search: found.samples.length,
        project: projects.some((p) => p.id === 'SECRET'),
      };
    };
    expect(await seen('viewer')).toEqual({ list: false, one: 404, search: 0, project: false });
    expect(await seen('operator')).toEqual({ list: false, one: 404, search: 0, project: false });
    expect(await seen('admin')).toEqual({ list: true, one: 200, search: 1, project: true });
    expect(
      (await call(app, '/api/projects/SECRET/members', { token: tokens.operator, body: { user: 'viewer' } }))
        .status,
    ).toBe(403);
    expect(
      (await call(app, '/api/projects/SECRET/members', { token: tokens.admin, body: { user: 'viewer' } }))
        .status,
    ).toBe(200);
    expect(await seen('viewer')).toEqual({ list: true, one: 200, search: 1, project: true });

    // data sets: operators create and fill them, viewers read
    expect((await call(app, '/api/datasets', { token: tokens.viewer, body: { name: 'd1' } })).status).toBe(
      403,
    );
    expect((await call(app, '/api/datasets', { token: tokens.operator, body: { name: 'd1' } })).status).toBe(
      201,
    );
    const add = await call(app, '/api/datasets/d1/members', {
      token: tokens.operator,
      body: { samples: ['S00002'] },
    });
    expect(await add.json()).toEqual({ added: 1 });
    const d = (await (await call(app, '/api/datasets/d1', { token: tokens.viewer })).json()) as {
      samples: { refcode: string }[];
    };
    expect(d.samples.map((s) => s.refcode)).toEqual(['S00002']);
    const g = (await (
      await call(app, '/api/graph?kind=dataset&id=2', { token: tokens.viewer })
    ).json()) as unknown[];
    expect(Array.isArray(g)).toBe(true);
    expect((await call(app, '/api/graph?kind=nope&id=1', { token: tokens.viewer })).status).toBe(400);
  });
});
