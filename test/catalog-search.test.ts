/**
 * Catalog search stages (src/catalog/search.ts) on real PostgreSQL: refcode prefix (any case) first,
 * then words of names, types and attribute values, and a substring only when both find nothing.
 * The search index is written after an import commits (src/catalog/search-index.ts): before, only
 * the exact refcode finds a sample; a re-import's changes reach the index at the next pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSamples } from '../src/catalog/import.ts';
import { syncProjects } from '../src/catalog/projects.ts';
import { mergeStages, search } from '../src/catalog/search.ts';
import { indexBacklog, indexPending } from '../src/catalog/search-index.ts';
import { type Config, parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
let config: Config;

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  config = parseConfigText('projects:\n  PRJ1: { tokens: [prj1] }\n', '/tmp/sluice.yaml').config;
  await syncProjects(db, config);
  const sheet = `refcode,name,project,type,site
S00012,Liver twelve,PRJ1,tissue,Basel
S00120,Kidney,PRJ1,tissue,Bern
AS00012,Plasma S00012 again,PRJ1,plasma,Zurich
X9,Serum,PRJ1,plasma,
`;
  const r = await importSamples(db, config.catalog, Buffer.from(sheet), {
    format: 'csv',
    actor: 'test',
    viewer: { user: 'test', role: 'admin' },
  });
  expect(r).toMatchObject({ written: true, indexing: true });
  expect(r.created).toHaveLength(4);
  // committed, not yet indexed: the exact refcode finds it, words do not (yet)
  expect(await indexBacklog(db)).toMatchObject({ queued: 4, unqueued: 0 });
  expect(await refcodes('S00120')).toEqual(['S00120']);
  expect(await refcodes('kidney')).toEqual([]);
  const [task] = await db.query<{ kind: string; state: string }>(
    `select kind, state from tasks where kind = 'catalog.index'`,
  );
  expect(task).toEqual({ kind: 'catalog.index', state: 'queued' });
  expect(await indexPending(db)).toBe(4);
  expect(await indexBacklog(db)).toEqual({ queued: 0, unqueued: 0, oldest_s: null });
});
afterAll(async () => drop());

const refcodes = async (term: string, limit = 10) =>
  (await search(db, term, { hidden: [], limit, kinds: ['samples'] })).samples.map((s) => s.refcode);

describe('sample search', () => {
  it('puts refcodes starting with the term first (any case), then samples holding it as a word', async () => {
    expect(await refcodes('s0')).toEqual(['S00012', 'S00120']);
    expect(await refcodes('S00012')).toEqual(['S00012', 'AS00012']);
    expect(await refcodes('s0', 1)).toEqual(['S00012']);
  });

  it('finds words of names, types and attribute values', async () => {
    expect(await refcodes('basel')).toEqual(['S00012']);
    expect(await refcodes('plasma')).toEqual(['AS00012', 'X9']);
    expect(await refcodes('kidney')).toEqual(['S00120']);
  });

  it("lists a project's samples in refcode order when the term is its id or name (any case)", async () => {
    expect(await refcodes('prj1')).toEqual(['AS00012', 'S00012', 'S00120', 'X9']);
    expect(await refcodes('PRJ1', 2)).toEqual(['AS00012', 'S00012']);
    expect(await refcodes('prj')).toEqual(['AS00012', 'S00012', 'S00120', 'X9']);
  });

  it('looks for a substring only when neither stage finds anything', async () => {
    expect(await refcodes('0012')).toEqual(['AS00012', 'S00012', 'S00120']);
    expect(await refcodes('idne')).toEqual(['S00120']);
    expect(await refcodes('zzz')).toEqual([]);
    // attribute values are words, not substrings
    expect(await refcodes('ase')).toEqual([]);
  });

  it('keeps out hidden projects in every stage', async () => {
    for (const t of ['S0001', 'basel', '0012', 'PRJ1']) {
      expect((await search(db, t, { hidden: ['PRJ1'], limit: 10 })).samples).toEqual([]);
    }
  });

  it('merges stages in order, each sample once, up to the limit', () => {
    const s = (refcode: string) => ({
      id: refcode,
      refcode,
      name: '',
      project_id: 'P',
      type: null,
      attributes: {},
    });
    expect(
      mergeStages(
        [
          [s('A'), s('B')],
          [s('B'), s('C'), s('D')],
        ],
        3,
      ).map((x) => x.refcode),
    ).toEqual(['A', 'B', 'C']);
  });

  it('takes a re-import into the index at the next pass; unchanged rows queue nothing', async () => {
    const sheet = 'refcode,name,project,type,site\nS00120,Spleen,PRJ1,tissue,Bern\nX9,Serum,PRJ1,plasma,\n';
    const r = await importSamples(db, config.catalog, Buffer.from(sheet), {
      format: 'csv',
      actor: 'test',
      viewer: { user: 'test', role: 'admin' },
    });
    expect(r.updated.map((u) => u.refcode)).toEqual(['S00120']);
    expect(r.unchanged.map((u) => u.refcode)).toEqual(['X9']);
    expect(await indexBacklog(db)).toMatchObject({ queued: 1 });
    expect(await refcodes('spleen')).toEqual([]);
    expect(await indexPending(db)).toBe(1);
    expect(await refcodes('spleen')).toEqual(['S00120']);
    expect(await refcodes('kidney')).toEqual([]);
    // an import that changes nothing asks for no pass
    const again = await importSamples(db, config.catalog, Buffer.from(sheet), {
      format: 'csv',
      actor: 'test',
      viewer: { user: 'test', role: 'admin' },
    });
    expect(again).toMatchObject({ written: true, indexing: false });
    expect(await indexBacklog(db)).toMatchObject({ queued: 0 });
  });

  it('indexes samples that have no search row and were never queued (those from before migration 0038)', async () => {
    await db.exec(`delete from sample_search where refcode in ('S00012', 'X9')`);
    expect(await indexBacklog(db)).toMatchObject({ queued: 0, unqueued: 2 });
    expect(await refcodes('basel')).toEqual([]);
    expect(await indexPending(db, 1)).toBe(2);
    expect(await refcodes('basel')).toEqual(['S00012']);
    expect(await indexBacklog(db)).toMatchObject({ unqueued: 0 });
  });
});
