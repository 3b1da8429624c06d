/**
 * Metric series at the edges: points that share a time stamp (to the microsecond) across the cut
 * between "fits within the limit" and "older", filters, values without a JSON form, and names
 * without points.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { displayPoints, isoMicros, seriesJson } from '../src/metrics/series-store.ts';
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

  it('writes every kind of value as valid JSON: missing, not finite, tiny, huge, negative', async () => {
    const values = ['null', "'NaN'", "'Infinity'", "'-Infinity'", "'-0'", '1e-5', '1.5e300', '-42.25', '0.1'];
    await db.exec(
      `insert into metrics (file_id, settings_name, settings_version, name, value, created_at)
       select 'f' || lpad(i::text, 3, '0'), 'qc', 1, 'odd', (array[${values.join(',')}]::float8[])[i],
         '2026-02-01T00:00:00Z'::timestamptz + i * interval '1 millisecond'
       from generate_series(1, ${values.length}) i`,
    );
    const s = await get({ names: ['odd'], limit: 100 });
    expect(s.value).toEqual([null, null, null, null, -0, 1e-5, 1.5e300, -42.25, 0.1]);
    expect(s.t).toEqual(values.map((_, i) => Date.parse('2026-02-01T00:00:00Z') + i + 1));
    expect(s.file).toEqual(values.map((_, i) => `f${String(i + 1).padStart(3, '0')}`));
  });

  it('returns every name asked for, in order, empty ones included', async () => {
    const rows = await seriesJson(db, { names: ['absent', 'precursors'], limit: 5 });
    expect(rows.map((r) => r.name)).toEqual(['absent', 'precursors']);
    expect(JSON.parse(rows[0]!.series)).toEqual({ t: [], value: [], file: [], truncated: false });
    expect(JSON.parse(rows[1]!.series).file).toEqual((await expected(5)).file);
  });

  it('display points: every time and value of the range, and the right file for any chosen point', async () => {
    for (const limit of [9, 95, 101, 249]) {
      const all = await displayPoints(db, 'precursors', { limit }, (us) => us.map((_, i) => i));
      const want = await expected(limit);
      const raw = await get({ names: ['precursors'], limit });
      expect(all.value, `limit ${limit}`).toEqual(want.value);
      expect(all.us.map((u) => Math.round(u / 1000))).toEqual(raw.t);
      expect(all.truncated).toBe(true);
      expect(all.chosen).toHaveLength(limit);
      expect(all.files).toEqual(want.file);
      // a few chosen ones, among points that share a time stamp, the oldest kept among them
      const some = [0, 3, 4, limit - 1];
      const p = await displayPoints(db, 'precursors', { limit }, () => some);
      expect(p.chosen).toEqual(some);
      expect(p.files).toEqual(some.map((i) => want.file[i]));
    }
    // the filters go into COPY as literals: an instrument, a time range, a quote in a value
    const a1 = await displayPoints(db, 'precursors', { instrument: 'a1', limit: 60 }, (us) =>
      us.map((_, i) => i),
    );
    expect(a1.files).toEqual((await expected(60, 'a1')).file);
    const from = new Date('2026-01-01T00:00:05Z');
    const to = new Date('2026-01-01T00:00:10Z');
    const ranged = await displayPoints(db, 'precursors', { from, to, limit: 1000 }, (us) =>
      us.map((_, i) => i),
    );
    const inRange = await db.query<{ file_id: string }>(
      `select file_id from metrics where name = 'precursors' and created_at >= $1 and created_at < $2
        order by created_at, file_id`,
      [from, to],
    );
    expect(ranged.files).toEqual(inRange.map((r) => r.file_id));
    expect(ranged.truncated).toBe(false);
    const quoted = await displayPoints(db, "pre'cursors", { instrument: "a'1", limit: 10 }, () => []);
    expect(quoted).toMatchObject({ us: [], truncated: false });
    const none = await displayPoints(db, 'precursors', { instrument: 'nope', limit: 10 }, () => []);
    expect(none).toMatchObject({ us: [], value: [], truncated: false, files: [] });
    const every = await displayPoints(db, 'precursors', { limit: 250 }, () => [0]);
    expect(every.truncated).toBe(false);
    expect(every.files).toEqual((await expected(250)).file.slice(0, 1));
  });

  it('display points: values without a number come back as null, -0 and extremes exactly', async () => {
    const p = await displayPoints(db, 'odd', { limit: 100 }, (us) => us.map((_, i) => i));
    expect(p.value).toEqual([null, null, null, null, -0, 1e-5, 1.5e300, -42.25, 0.1]);
    expect(p.files).toEqual(p.us.map((_, i) => `f${String(i + 1).padStart(3, '0')}`));
  });

  it('microsecond stamps round-trip exactly', async () => {
    const rows = await db.query<{ us: string; iso: string }>(
      `select ((date_part('epoch', created_at) * 1000000)::bigint)::text as us,
              to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as iso
         from metrics where name = 'precursors' limit 30`,
    );
    for (const r of rows) expect(isoMicros(Number(r.us))).toBe(r.iso);
  });
});
