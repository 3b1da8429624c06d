/**
 * The import writes new samples while it plans the sheet (src/catalog/import.ts): rows planned before
 * a rejected one have reached PostgreSQL when the rejection is found. Nothing of them may stay, and
 * the report must be the one a plan of the whole sheet gives (every row, with its number), the same
 * as the dry run's; with `skipRejected`, the rows after the rejected one are written too. Real
 * PostgreSQL.
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
const count = async (prefix: string) =>
  (
    await db.one<{ n: number }>('select count(*)::int as n from samples where refcode like $1', [
      `${prefix}%`,
    ])
  ).n;

describe('an import that writes while it plans', () => {
  it('writes nothing when a row is rejected after others were sent, and reports every row as the dry run does', async () => {
    const buf = sheetWith('ST', 1502);
    const dry = await run(buf, { dryRun: true });
    const rep = await run(buf);
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
});
