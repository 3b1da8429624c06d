/**
 * QC metric time series for charts: per metric name, the most recent `limit` points in time
 * order, as parallel arrays (`t` in epoch milliseconds, `value`, `file`), which keeps 100,000
 * points to a few megabytes. One index range scan per name (`metrics_name_time`).
 */
import { z } from 'zod';
import { badInput } from '../errors.ts';
import { idFilter, intParam, isoDate, namesList } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';

const METRIC_NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

export const metricRoutes: AnyRoute[] = [
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
    }),
    handle: async (c, { query, deps }) => {
      if (query.from && query.to && query.from >= query.to) throw badInput('to', 'must be later than from');
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
      const series: Record<
        string,
        { t: number[]; value: (number | null)[]; file: string[]; truncated: boolean }
      > = {};
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
      return c.json({ limit, series });
    },
  }),
];
