/**
 * Metric series at the edges: points that share a time stamp (to the microsecond) across the cut
 * between "fits within the limit" and "older", filters, and the agreement of the three-query build
 * with the one-query build it falls back to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriesJson } from '../src/api/routes/metrics.ts';
import type { Db } from '../src/core/db/db.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  // 250 files on two instruments; their metrics come in groups of 10 sharing one time stamp
  await db.exec(
    `insert into files (id, instrument_id, name, kind, source_path, project_id, status, size_bytes, mtime)
     select 'f' || lpad(g::text, 3, '0'), case when g % 2 = 0 then 'a1' else 'a2' end, 'n' || g, 'file', '/x', 'P',
       'done', 1, now() from generate_series(1, 250) g`,
  );
  await db.exec(
    `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
     select id, 'qc', 1, 'precursors', row_number() over (order by id),
       '2026-01-01T00:00:00.000001Z'::timestamptz + (row_number() over (order by id) / 10) * interval '1.000003 second'
     from files`,
  );
});
afterAll(async () => drop());

type Series = { t: number[]; value: number[]; file: string[]; truncated: boolean };
const get = async (q: Parameters<typeof seriesJson>[1]) =>
  JSON.parse((await seriesJson(db, q))[0]!.series) as Series;

/** The expected newest `limit` points, straight from SQL. */
async function expected(limit: number, instrument?: string) {
  const rows = await db.query<{ file_id: string; value: number }>(
    `select * from (select m.file_id, m.value, m.created_at from metrics m join files f on f.id = m.file_id
       where m.name = 'precursors' and ($2::text is null or f.instrument_id = $2)
       order by m.created_at desc, m.file_id desc limit $1) x order by created_at, file_id`,
    [limit, instrument ?? null],
  );
  return { file: rows.map((r) => r.file_id), value: rows.map((r) => r.value) };
}

describe('metric series', () => {
  it('cuts between points of the same time stamp without losing or repeating one', async () => {
    for (const limit of [1, 9, 95, 101, 249]) {
      const s = await get({ names: ['precursors'], limit });
      const want = await expected(limit);
      expect(s.file, `limit ${limit}`).toEqual(want.file);
      expect(s.value).toEqual(want.value);
      expect(s.t).toHaveLength(limit);
      expect(s.t).toEqual([...s.t].sort((a, b) => a - b));
      expect(s.truncated).toBe(true);
    }
  });

  it('is not truncated when every point fits, and filters by instrument', async () => {
    const all = await get({ names: ['precursors'], limit: 250 });
    expect(all.truncated).toBe(false);
    expect(all.file).toHaveLength(250);
    const a1 = await get({ names: ['precursors'], instrument: 'a1', limit: 60 });
    expect(a1.file).toEqual((await expected(60, 'a1')).file);
    expect(a1.truncated).toBe(true);
    expect(await get({ names: ['precursors'], instrument: 'nope', limit: 60 })).toEqual({
      t: [],
      value: [],
      file: [],
      truncated: false,
    });
  });

  it('returns every name asked for, in order, empty ones included', async () => {
    const rows = await seriesJson(db, { names: ['absent', 'precursors'], limit: 5 });
    expect(rows.map((r) => r.name)).toEqual(['absent', 'precursors']);
    expect(JSON.parse(rows[0]!.series)).toEqual({ t: [], value: [], file: [], truncated: false });
    expect(JSON.parse(rows[1]!.series).file).toEqual((await expected(5)).file);
  });
});
