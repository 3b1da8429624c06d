/**
 * QC guide sets through the API on real PostgreSQL: an operator marks a baseline period, the series
 * is then judged against it (mean ± 2/3 sd, Westgard rules named on the points, CUSUM, moving range),
 * a later guide set takes over from its start, retiring one hands its time back, and bad requests
 * say what was wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentQcViolations } from '../src/metrics/qc-watch.ts';
import { type ApiHarness, call, createApiHarness, insertFile } from './helpers/api.ts';

let h: ApiHarness;
const json = async <T>(res: Response) => (await res.json()) as T;
const DAY0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;
const iso = (h: number) => new Date(DAY0 + h * HOUR).toISOString();

// 10 baseline runs around 100 (sd ≈ 1.6), then a run at 110 (beyond 3 sd), two at 104 (2_2s),
// and four at 102 (4_1s) — then a new baseline at 200 from hour 30 on.
const POINTS: [number, number][] = [
  [100, 0],
  [102, 1],
  [98, 2],
  [101, 3],
  [99, 4],
  [100, 5],
  [103, 6],
  [97, 7],
  [101, 8],
  [99, 9],
  [110, 12],
  [104, 13],
  [104, 14],
  [102, 15],
  [102, 16],
  [102, 17],
  [102, 18],
  [200, 30],
  [201, 31],
  [199, 32],
  [202, 33],
  [198, 34],
];

beforeAll(async () => {
  h = await createApiHarness();
  for (const [i, [v, at]] of POINTS.entries()) {
    const id = `gs-${String(i).padStart(2, '0')}.raw`;
    await insertFile(h.db, { id, instrument: 'astral1' });
    await h.db.exec(
      `insert into metrics (file_id, settings_name, settings_version, name, value, created_at) values ($1, 'qc', 1, 'precursors', $2, $3)`,
      [id, v, iso(at)],
    );
  }
});
afterAll(() => h?.close());

type Series = {
  value: (number | null)[];
  bands: { mean: (number | null)[]; upper: (number | null)[]; outlier: boolean[] };
  guide: {
    rules: string[][];
    set: (string | null)[];
    cusum: { mean_hi: (number | null)[] };
    mr: (number | null)[];
    upper3: (number | null)[];
  };
};
async function series(): Promise<Series> {
  const res = await call(h.app, '/api/metrics/series?names=precursors&instrument=astral1&band=guide', {
    token: h.tokens.viewer,
  });
  expect(res.status).toBe(200);
  return (await json<{ series: Record<string, Series> }>(res)).series.precursors!;
}

describe('guide sets', () => {
  it('without a guide set, band=guide draws no band and flags nothing', async () => {
    const s = await series();
    expect(s.bands.mean.every((m) => m === null)).toBe(true);
    expect(s.guide.rules.flat()).toEqual([]);
  });

  it('an operator marks the baseline; the points after it are judged by the Westgard rules', async () => {
    const res = await call(h.app, '/api/qc/guide-sets', {
      token: h.tokens.operator,
      body: { instrument: 'astral1', metric: 'precursors', from: iso(0), to: iso(10), note: 'new column' },
    });
    expect(res.status).toBe(201);
    const gs = await json<{ id: string; points: number; mean: number; sd: number; created_by: string }>(res);
    expect(gs).toMatchObject({ points: 10, mean: 100, created_by: expect.stringContaining('operator') });
    expect(gs.sd).toBeCloseTo(1.826, 2);

    const s = await series();
    const ruleAt = (h: number) => s.guide.rules[POINTS.findIndex(([, at]) => at === h)];
    expect(s.bands.mean[0]).toBe(100);
    expect(s.bands.upper[0]).toBeCloseTo(100 + 2 * gs.sd);
    expect(s.guide.upper3[0]).toBeCloseTo(100 + 3 * gs.sd);
    expect(ruleAt(12)).toContain('1_3s'); // 110
    expect(ruleAt(14)).toContain('2_2s'); // 104, 104
    expect(ruleAt(16)).toContain('4_1s'); // 104, 104, 102, 102
    // all baseline points pass
    expect(s.guide.rules.slice(0, 10).flat()).toEqual([]);
    expect(s.bands.outlier.slice(0, 10).every((o) => !o)).toBe(true);
    expect(s.bands.outlier[10]).toBe(true);
    expect(s.guide.mr[1]).toBe(2);
    // the mean CUSUM climbs over the run of high points
    expect(s.guide.cusum.mean_hi[16]!).toBeGreaterThan(5);
  });

  it('a later guide set takes over from its start; retiring it hands the time back', async () => {
    const before = await series();
    expect(before.guide.rules[17]).toContain('1_3s'); // 200 against the old baseline
    const res = await call(h.app, '/api/qc/guide-sets', {
      token: h.tokens.operator,
      body: { instrument: 'astral1', metric: 'precursors', from: iso(30), to: iso(35) },
    });
    expect(res.status).toBe(201);
    const { id } = await json<{ id: string }>(res);
    const after = await series();
    expect(after.guide.set.slice(17)).toEqual(Array(5).fill(id));
    expect(after.guide.rules.slice(17).flat()).toEqual([]);

    const list = await json<{ guide_sets: { id: string }[] }>(
      await call(h.app, '/api/qc/guide-sets?instrument=astral1&metric=precursors', {
        token: h.tokens.viewer,
      }),
    );
    expect(list.guide_sets.map((g) => g.id)).toContain(id);
    const del = await call(h.app, `/api/qc/guide-sets/${id}`, { method: 'DELETE', token: h.tokens.operator });
    expect(del.status).toBe(200);
    expect((await series()).guide.rules[17]).toContain('1_3s');
    const again = await call(h.app, `/api/qc/guide-sets/${id}`, {
      method: 'DELETE',
      token: h.tokens.operator,
    });
    expect(again.status).toBe(404);
    const all = await json<{ guide_sets: { id: string; retired_by: string }[] }>(
      await call(h.app, '/api/qc/guide-sets?retired=true', { token: h.tokens.viewer }),
    );
    expect(all.guide_sets.find((g) => g.id === id)?.retired_by).toContain('operator');
  });

  it('reports the newest run when it broke a rule and was recorded after the look-back start (the alert)', async () => {
    // the newest run (hour 34, 198) judged against the first baseline (100 ± 1.8): far beyond 3 sd
    const all = await recentQcViolations(h.db, new Date(DAY0));
    expect(all).toEqual([
      expect.objectContaining({
        instrument: 'astral1',
        metric: 'precursors',
        file_id: 'gs-21.raw',
        value: 198,
      }),
    ]);
    expect(all[0]!.rules).toContain('1_3s');
    // recorded before the look-back start: nothing to report
    expect(await recentQcViolations(h.db, new Date(DAY0 + 40 * HOUR))).toEqual([]);
    // against its own baseline (a guide set from hour 30) the newest run is fine
    const res = await call(h.app, '/api/qc/guide-sets', {
      token: h.tokens.operator,
      body: { instrument: 'astral1', metric: 'precursors', from: iso(30), to: iso(35) },
    });
    const { id } = await json<{ id: string }>(res);
    expect(await recentQcViolations(h.db, new Date(DAY0))).toEqual([]);
    await call(h.app, `/api/qc/guide-sets/${id}`, { method: 'DELETE', token: h.tokens.operator });
  });

  it('refuses what cannot make a guide set, and a viewer, with reasons', async () => {
    const few = await call(h.app, '/api/qc/guide-sets', {
      token: h.tokens.operator,
      body: { instrument: 'astral1', metric: 'precursors', from: iso(0), to: iso(3) },
    });
    expect(few.status).toBe(422);
    expect(await json(few)).toMatchObject({
      code: 'qc.too_few_points',
      message: expect.stringMatching(/3 value/),
    });
    const order = await call(h.app, '/api/qc/guide-sets', {
      token: h.tokens.operator,
      body: { instrument: 'astral1', metric: 'precursors', from: iso(5), to: iso(1) },
    });
    expect(order.status).toBe(400);
    expect(await json(order)).toMatchObject({ field: 'to' });
    const viewer = await call(h.app, '/api/qc/guide-sets', {
      token: h.tokens.viewer,
      body: { instrument: 'astral1', metric: 'precursors', from: iso(0), to: iso(10) },
    });
    expect(viewer.status).toBe(403);
    const noInstrument = await call(h.app, '/api/metrics/series?names=precursors&band=guide', {
      token: h.tokens.viewer,
    });
    expect(noInstrument.status).toBe(400);
    expect(await json(noInstrument)).toMatchObject({ field: 'instrument' });
  });

  it('thins a series for display: real points with their files, flagged ones always kept', async () => {
    type Thin = {
      t: number[];
      value: number[];
      file: string[];
      total: number;
      guide?: { rules: string[][] };
    };
    const get = async (q: string) =>
      (
        await json<{ series: Record<string, Thin> }>(
          await call(h.app, `/api/metrics/series?names=precursors&instrument=astral1${q}`, {
            token: h.tokens.viewer,
          }),
        )
      ).series.precursors!;
    const raw = await get('');
    const triples = new Set(raw.t.map((t, i) => `${t}|${raw.value[i]}|${raw.file[i]}`));
    const plain = await get('&points=5');
    expect(plain.total).toBe(POINTS.length);
    expect(plain.t).toHaveLength(5);
    expect(plain.t[0]).toBe(raw.t[0]);
    expect(plain.t.at(-1)).toBe(raw.t.at(-1));
    for (const [i, t] of plain.t.entries())
      expect(triples).toContain(`${t}|${plain.value[i]}|${plain.file[i]}`);

    const full = await get('&band=guide');
    const flagged = full.t.filter((_, i) => full.guide!.rules[i]!.length > 0);
    expect(flagged.length).toBeGreaterThan(3);
    const judged = await get('&band=guide&points=5');
    expect(judged.total).toBe(POINTS.length);
    expect(judged.t.length).toBeLessThan(POINTS.length);
    for (const t of flagged) expect(judged.t).toContain(t);
    // each kept point keeps its own rules
    for (const [i, t] of judged.t.entries())
      expect(judged.guide!.rules[i]).toEqual(full.guide!.rules[full.t.indexOf(t)]);
  });
});
