/**
 * The import reads, looks up, plans and writes the sheet in steps (src/catalog/import.ts: the first
 * of 1,000 rows, then 2,000, 4,000, 8,000 …), new samples going to PostgreSQL while the rest is
 * planned: the steps before a rejected row have reached PostgreSQL when the rejection is found.
 * Nothing of them may stay, and the report must be the one a plan of the whole sheet gives (every
 * row, with its number), the same as the dry run's; with `skipRejected`, the rows after the rejected
 * one are written too. A refcode twice in the sheet is found across steps, and samples that exist
 * are found in every step. Real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSamples } from '../src/catalog/import.ts';
import { syncProjects } from '../src/catalog/projects.ts';
import { type Config, parseConfigText } from '../src/core/config/index.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

const config: Config = parseConfigText('projects:\n  PRJ1: { tokens: [prj1] }\n', '/tmp/sluice.yaml').config;
let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  await syncProjects(db, config);
});
afterAll(async () => drop());

const N = 3000;
/** N rows, the one at sheet row `bad` with no name. */
const sheetWith = (prefix: string, bad: number) => {
  const lines = ['refcode,name,project,site'];
  for (let i = 0; i < N; i++) lines.push(`${prefix}${i},${i + 2 === bad ? '' : `Name ${i}`},PRJ1,Basel`);
  return Buffer.from(`${lines.join('\n')}\n`);
};
const run = (buf: Buffer, o: { dryRun?: boolean; skipRejected?: boolean } = {}) =>
  importSamples(db, config.catalog, buf, {
    format: 'csv',
    actor: 'user:ada',
    viewer: { user: 'ada', role: 'admin' },
    ...o,
  });
/** The last id the samples' sequence gave. */
const lastId = async () =>
  (await db.one<{ v: string }>(`select last_value::text as v from samples_id_seq`)).v;
const count = async (prefix: string) =>
  (
    await db.one<{ n: number }>('select count(*)::int as n from samples where refcode like $1', [
      `${prefix}%`,
    ])
  ).n;

describe('an import that writes while it plans', () => {
  // the rejected row is in the second step, so the first step's 1,000 rows were sent before it
  it('writes nothing when a row is rejected after others were sent, and reports every row as the dry run does', async () => {
    const buf = sheetWith('ST', 1502);
    const dry = await run(buf, { dryRun: true });
    const ids = await lastId();
    const rep = await run(buf);
    // the first step's rows reached PostgreSQL (a sequence is not rolled back): then all went
    expect(Number(await lastId()) - Number(ids)).toBeGreaterThanOrEqual(1000);
    expect(rep).toEqual({ ...dry, dryRun: false });
    expect(rep.written).toBe(false);
    expect(rep.indexing).toBe(false);
    expect(rep.rejected).toEqual([{ row: 1502, refcode: 'ST1500', reasons: ["column 'name' is empty"] }]);
    expect(rep.created).toHaveLength(N - 1);
    expect(rep.created.at(-1)).toEqual({ row: N + 1, refcode: `ST${N - 1}` });
    expect(await count('ST')).toBe(0);
    const queued = await db.one<{ n: number }>('select count(*)::int as n from sample_search_queue');
    expect(queued.n).toBe(0);
    // the transaction itself went on and committed: the next import of the same refcodes works
    const fixed = await run(sheetWith('ST', 0));
    expect(fixed).toMatchObject({ written: true, rejected: [] });
    expect(fixed.created).toHaveLength(N);
    expect(await count('ST')).toBe(N);
  });

  it('with skipRejected, writes the rows before and after the rejected one', async () => {
    const rep = await run(sheetWith('SK', 40), { skipRejected: true });
    expect(rep).toMatchObject({ written: true, indexing: true });
    expect(rep.rejected.map((r) => r.row)).toEqual([40]);
    expect(rep.created).toHaveLength(N - 1);
    expect(await count('SK')).toBe(N - 1);
    const [range] = await db.query<{ n: number }>(
      `select count(s.*)::int as n from sample_search_queue q
       join samples s on s.id between q.sample_id and q.last_id and s.refcode like 'SK%'
       where q.last_id is not null group by q.sample_id`,
    );
    expect(range?.n).toBe(N - 1);
  });

  it('finds samples that exist and refcodes met before in every step', async () => {
    const M = 12_000; // steps of 1,000, 2,000, 4,000 and 5,000 rows
    // every third row's sample exists: half of them with the name the sheet gives, half another
    const first = ['refcode,name,project'];
    for (let i = 0; i < M; i += 3) first.push(`MS${i},${i % 6 === 0 ? 'Name' : 'Old'} ${i},PRJ1`);
    expect((await run(Buffer.from(first.join('\n')))).created).toHaveLength(M / 3);
    // row 9,003 (in the fourth step) repeats the refcode of row 7 (in the first)
    const lines = ['refcode,name,project'];
    for (let i = 0; i < M; i++) lines.push(`MS${i === 9001 ? 5 : i},Name ${i === 9001 ? 5 : i},PRJ1`);
    const buf = Buffer.from(lines.join('\n'));
    const dry = await run(buf, { dryRun: true });
    expect(dry.rejected).toEqual([
      { row: 9003, refcode: 'MS5', reasons: ["refcode 'MS5' is also on row 7 (each sample once per sheet)"] },
    ]);
    expect([dry.created.length, dry.updated.length, dry.unchanged.length]).toEqual([
      (2 * M) / 3 - 1,
      M / 6,
      M / 6,
    ]);
    expect(dry.updated.at(-1)).toEqual({ row: M - 1, refcode: `MS${M - 3}`, changed: ['name'] });
    // without skipRejected: nothing written, the same report
    expect(await run(buf)).toEqual({ ...dry, dryRun: false });
    expect(await count('MS')).toBe(M / 3);
    // with it: every other row written
    expect(await run(buf, { skipRejected: true })).toEqual({
      ...dry,
      dryRun: false,
      written: true,
      indexing: true,
    });
    expect(await count('MS')).toBe(M - 1);
    const old = await db.one<{ n: number }>("select count(*)::int as n from samples where name like 'Old %'");
    expect(old.n).toBe(0);
  });

  it('fails with the error of a COPY that fails in a later step, and writes nothing', async () => {
    // a trigger of this test's database refuses one row of the third step (rows 3,002–7,001)
    await db.exec(`create function refuse_fail5000() returns trigger language plpgsql as $$
      begin
        if new.refcode = 'FL5000' then raise exception 'refused %', new.refcode; end if;
        return new;
      end $$`);
    await db.exec(
      'create trigger refuse_fail5000 before insert on samples for each row execute function refuse_fail5000()',
    );
    try {
      const lines = ['refcode,name,project'];
      for (let i = 0; i < 20_000; i++) lines.push(`FL${i},Name ${i},PRJ1`);
      await expect(run(Buffer.from(lines.join('\n')))).rejects.toThrow(/refused FL5000/);
      expect(await count('FL')).toBe(0);
    } finally {
      await db.exec('drop trigger refuse_fail5000 on samples');
    }
    // the connections are sound: the same sheet imports
    const again = ['refcode,name,project', 'FL1,Name 1,PRJ1'];
    expect((await run(Buffer.from(again.join('\n')))).created).toHaveLength(1);
  });

  it('refuses a CSV broken in a later step as one broken at its start, and writes nothing', async () => {
    // quoted fields are read a record at a time: the quote left open on row 5,002 is met after the
    // first steps were sent
    const lines = ['refcode,name,project'];
    for (let i = 0; i < 6000; i++) lines.push(`QB${i},"Name ${i}${i === 5000 ? '' : '"'},PRJ1`);
    const buf = Buffer.from(lines.join('\n'));
    await expect(run(buf, { dryRun: true })).rejects.toThrow(/the CSV cannot be read: Invalid Closing Quote/);
    await expect(run(buf)).rejects.toThrow(/the CSV cannot be read: Invalid Closing Quote/);
    expect(await count('QB')).toBe(0);
  });
});
