/**
 * A sample's creation is derived from its row (migration 0045, src/catalog/history.ts): no history
 * row is written for it, and `historyOf` shows the entry the creation row used to hold (who, when,
 * before nothing, after the row as created), however often the sample changed since; creation rows
 * stored before 0045 are shown as stored. An import's created samples are queued for the search
 * index as one range of ids (src/catalog/search-index.ts). Real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HistoryRow, historyOf } from '../src/catalog/history.ts';
import { importSamples } from '../src/catalog/import.ts';
import { syncProjects } from '../src/catalog/projects.ts';
import { getSample } from '../src/catalog/samples.ts';
import { indexBacklog, indexPending } from '../src/catalog/search-index.ts';
import { type Config, parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
let config: Config;

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  config = parseConfigText(
    'projects:\n  PRJ1: { tokens: [prj1] }\n  PRJ2: { tokens: [prj2] }\n',
    '/tmp/sluice.yaml',
  ).config;
  await syncProjects(db, config);
});
afterAll(async () => drop());

const run = (sheet: string, actor: string) =>
  importSamples(db, config.catalog, Buffer.from(sheet), {
    format: 'csv',
    actor,
    viewer: { user: 'ada', role: 'admin' },
  });

const storedRows = async (refcode: string) =>
  db.query<{ action: string }>(
    `select action from catalog_history where entity = 'sample' and entity_id = $1 order by id`,
    [refcode],
  );

describe('derived creation history', () => {
  it('says what the creation row said: who, when, nothing before, the row as created; after one and two updates too', async () => {
    await run('refcode,name,project,site\nD0,Zero,PRJ1,Basel\n', 'user:ada');
    // one import that updates D0 and creates D1: its update row's `at` is the import transaction's
    // time, which the creation row of D1 held before 0045 (both were `now()` of that transaction)
    const rep = await run(
      'refcode,name,project,site\nD0,Zero again,PRJ1,Basel\nD1,One,PRJ1,Bern\n',
      'user:bob',
    );
    expect(rep.created.map((c) => c.refcode)).toEqual(['D1']);
    expect(rep.updated.map((c) => c.refcode)).toEqual(['D0']);
    const [d0Create, d0Update] = await historyOf(db, 'sample', ['D0']);
    expect(d0Create?.actor).toBe('user:ada');
    const asCreated = await getSample(db, 'D1', []);
    const oldRow = {
      entity: 'sample',
      entity_id: 'D1',
      action: 'create',
      actor: 'user:bob',
      at: d0Update?.at,
      before: null,
      after: { refcode: 'D1', name: 'One', project_id: 'PRJ1', type: null, attributes: { site: 'Bern' } },
    };
    const [created] = await historyOf(db, 'sample', ['D1']);
    expect(created).toMatchObject(oldRow);
    expect(created?.after).toEqual(oldRow.after);
    expect(created?.at).toEqual(asCreated.created_at);
    expect(typeof created?.id).toBe('string');
    expect(await storedRows('D1')).toEqual([]); // derived, not stored

    // one update: the creation entry is unchanged, the update's before is what the creation made
    await run('refcode,name,project,site\nD1,One renamed,PRJ2,Bern\n', 'user:cy');
    const h1 = await historyOf(db, 'sample', ['D1']);
    expect(h1.map((h) => [h.action, h.actor])).toEqual([
      ['create', 'user:bob'],
      ['update', 'user:cy'],
    ]);
    expect(h1[0]).toEqual(created);
    expect(h1[1]?.before).toEqual(oldRow.after);
    expect(h1[1]?.after).toMatchObject({ name: 'One renamed', project_id: 'PRJ2' });

    // two updates: still the same creation entry; each update's before is the one before's after
    await run('refcode,name,project,site\nD1,One renamed,PRJ2,Zurich\n', 'user:dee');
    const h2 = await historyOf(db, 'sample', ['D1']);
    expect(h2.map((h) => h.action)).toEqual(['create', 'update', 'update']);
    expect(h2[0]).toEqual(created);
    expect(h2[2]?.before).toEqual(h2[1]?.after);
    expect(h2[2]?.after).toMatchObject({ attributes: { site: 'Zurich' } });
    expect((await storedRows('D1')).map((r) => r.action)).toEqual(['update', 'update']);
    // ids are unique and the entries come oldest first
    expect(new Set(h2.map((h) => h.id)).size).toBe(3);
  });

  it('shows a creation row stored before migration 0045 as stored, and derives none beside it', async () => {
    await run('refcode,name,project\nOLD1,Old,PRJ1\n', 'user:ada');
    // what the import wrote for a creation before 0045
    await db.exec(
      `insert into catalog_history (entity, entity_id, action, actor, before, after)
       values ('sample', 'OLD1', 'create', 'user:legacy', null, '{"refcode": "OLD1", "name": "Old", "project_id": "PRJ1", "type": null, "attributes": {}}')`,
    );
    const h = await historyOf(db, 'sample', ['OLD1']);
    expect(h.map((x) => [x.action, x.actor])).toEqual([['create', 'user:legacy']]);
    expect(Number(h[0]?.id)).toBeGreaterThan(0);
  });

  it('orders the entries of several samples: derived creations, then the stored changes', async () => {
    await run('refcode,name,project\nM1,A,PRJ1\nM2,B,PRJ1\n', 'user:ada');
    await run('refcode,name,project\nM2,B2,PRJ1\n', 'user:ada');
    const h: HistoryRow[] = await historyOf(db, 'sample', ['M1', 'M2']);
    expect(h.map((x) => [x.entity_id, x.action])).toEqual([
      ['M1', 'create'],
      ['M2', 'create'],
      ['M2', 'update'],
    ]);
  });
});

describe("an import's created samples queued as one range", () => {
  it('queues one row for all the samples an import creates, and the index pass takes them in batches', async () => {
    await indexPending(db);
    const sheet = ['refcode,name,project', ...Array.from({ length: 7 }, (_, i) => `R${i},Ranged ${i},PRJ1`)];
    await run(`${sheet.join('\n')}\n`, 'user:ada');
    const queue = await db.query<{ refcodes: string[] }>(
      `select array(select s.refcode from samples s where s.id between q.sample_id and q.last_id order by s.id)
         as refcodes from sample_search_queue q`,
    );
    expect(queue).toEqual([{ refcodes: ['R0', 'R1', 'R2', 'R3', 'R4', 'R5', 'R6'] }]);
    expect(await indexBacklog(db)).toMatchObject({ queued: 7, unqueued: 0 });
    expect(await indexPending(db, 3)).toBe(7);
    expect(await indexBacklog(db)).toEqual({ queued: 0, unqueued: 0, oldest_s: null });
    const indexed = await db.query<{ refcode: string }>(
      `select refcode from sample_search where refcode like 'R%' order by refcode`,
    );
    expect(indexed.map((r) => r.refcode)).toEqual(['R0', 'R1', 'R2', 'R3', 'R4', 'R5', 'R6']);
  });

  it('skips ids of a range with no sample (taken by an import rolled back) and indexes the rest', async () => {
    await db.exec(`delete from sample_search where refcode in ('R1', 'R5')`);
    const [r] = await db.query<{ lo: string; hi: string }>(
      `select min(id)::text as lo, (max(id) + 5)::text as hi from samples where refcode like 'R%'`,
    );
    await db.exec('insert into sample_search_queue (sample_id, last_id) values ($1, $2)', [r?.lo, r?.hi]);
    expect(await indexBacklog(db)).toMatchObject({ queued: 7, unqueued: 0 });
    expect(await indexPending(db, 4)).toBe(7);
    expect(await indexBacklog(db)).toEqual({ queued: 0, unqueued: 0, oldest_s: null });
    const [n] = await db.query<{ n: number }>(
      `select count(*)::int as n from sample_search where refcode in ('R1', 'R5')`,
    );
    expect(n?.n).toBe(2);
  });
});
