/**
 * QC metric time series for charts: per metric name, the most recent `limit` points in time
 * order, as parallel arrays (`t` in epoch milliseconds, `value`, `file`), which keeps 100,000
 * points to a few megabytes. One index range scan per name (`metrics_name_time`).
 *
 * With `window`, each series also carries Levey-Jennings bands (`src/metrics/bands.ts`): the
 * rolling mean ± k·sd of the `window` points before each point, and which points fall outside.
 */
import { z } from 'zod';
import { type Bands, rollingBands } from '../../metrics/bands.ts';
import { badInput } from '../errors.ts';
import { idFilter, intParam, isoDate, namesList } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';

const METRIC_NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** k of mean ± k·sd: a decimal from 0.5 to 10. */
const bandK = z
  .string()
  .transform((s, ctx) => {
    const k = /^\d{1,2}(\.\d{1,3})?$/.test(s) ? Number(s) : Number.NaN;
    if (!(k >= 0.5 && k <= 10)) {
      ctx.addIssue({ code: 'custom', message: `expected a number from 0.5 to 10, got '${s}'` });
      return z.NEVER;
    }
    return k;
  })
  .meta({ type: 'number', minimum: 0.5, maximum: 10 } as Record<string, unknown>);

export interface MetricSeries {
  t: number[];
  value: (number | null)[];
  file: string[];
  truncated: boolean;
  /** Present when the request asked for bands (`window`). */
  bands?: Bands;
}

export interface MetricSeriesAnswer {
  limit: number;
  /** The band parameters, when asked for. */
  window: number | null;
  k: number | null;
  series: Record<string, MetricSeries>;
}

export const metricRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/metrics/names',
    role: 'viewer',
    tag: 'metrics',
    summary: 'the names of all recorded metrics, sorted (for choosing what to chart)',
    description: 'A skip scan over the `metrics_name_time` index: one index probe per distinct name.',
    handle: async (c, { deps }) => {
      const rows = await deps.db.query<{ name: string }>(
        `with recursive n(name) as (
           (select name from metrics order by name limit 1)
           union all
           select (select m.name from metrics m where m.name > n.name order by m.name limit 1) from n
           where n.name is not null
         ) select name from n where name is not null limit 10000`,
      );
      return c.json({ names: rows.map((r) => r.name) });
    },
  }),
  route({
    method: 'GET',
    path: '/api/metrics/series',
    role: 'viewer',
    tag: 'metrics',
    summary: 'metric values over time, per metric name (for QC charts)',
    query: z.strictObject({
      names: namesList(METRIC_NAME, 20, 'metric name').meta({
        description: 'comma-separated metric names (1–20), e.g. precursors,proteins',
      }),
      instrument: idFilter.optional(),
      settings: idFilter.optional().meta({ description: 'only metrics from these processing settings' }),
      from: isoDate.optional(),
      to: isoDate.optional(),
      limit: intParam(1, 100_000, 'a number of points').optional().meta({
        description: 'most recent points per metric, 1–100000 (default 10000)',
      }),
      window: intParam(3, 500, 'a number of points').optional().meta({
        description: 'add rolling mean ± k·sd bands over this many preceding points (3–500)',
      }),
      k: bandK.optional().meta({ description: 'band half-width in standard deviations (default 2)' }),
    }),
    handle: async (c, { query, deps }) => {
      if (query.from && query.to && query.from >= query.to) throw badInput('to', 'must be later than from');
      if (query.k !== undefined && query.window === undefined)
        throw badInput('k', 'k needs window', 'ask for bands with window=20&k=2');
      const limit = query.limit ?? 10_000;
      const rows = await deps.db.query<{ name: string; t: string; value: number | null; file: string }>(
        `select n.name, x.t, x.value, x.file from unnest($1::text[]) as n(name) cross join lateral (
           select (extract(epoch from m.created_at) * 1000)::float8 as t, m.value, m.file_id as file
           from metrics m
           where m.name = n.name
             and ($2::text is null or exists (select 1 from files f where f.id = m.file_id and f.instrument_id = $2))
             and ($3::text is null or m.settings_name = $3)
             and ($4::timestamptz is null or m.created_at >= $4) and ($5::timestamptz is null or m.created_at < $5)
           order by m.created_at desc limit $6) x
         order by n.name, x.t`,
        [
          query.names,
          query.instrument ?? null,
          query.settings ?? null,
          query.from ?? null,
          query.to ?? null,
          limit + 1,
        ],
      );
      const series: Record<string, MetricSeries> = {};
      for (const n of query.names) series[n] = { t: [], value: [], file: [], truncated: false };
      for (const r of rows) {
        const s = series[r.name]!;
        s.t.push(Math.round(Number(r.t)));
        s.value.push(r.value);
        s.file.push(r.file);
      }
      // limit + 1 rows were read to tell whether older points exist; drop the oldest one
      for (const s of Object.values(series)) {
        if (s.t.length > limit) {
          s.t.shift();
          s.value.shift();
          s.file.shift();
          s.truncated = true;
        }
      }
      const k = query.k ?? 2;
      if (query.window !== undefined)
        for (const s of Object.values(series)) s.bands = rollingBands(s.value, { window: query.window, k });
      const answer: MetricSeriesAnswer = {
        limit,
        window: query.window ?? null,
        k: query.window === undefined ? null : k,
        series,
      };
      return c.json(answer);
    },
  }),
];
