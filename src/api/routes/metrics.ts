/**
 * QC metric time series for charts: per metric name, the most recent `limit` points in time
 * order, as parallel arrays (`t` in epoch milliseconds, `value`, `file`), which keeps 100,000
 * points to a few megabytes. One index range scan per name (`metrics_name_time`, or
 * `metrics_instrument_name_time` with an instrument), and the JSON is built by PostgreSQL.
 */
import { z } from 'zod';
import { badInput } from '../errors.ts';
import { idFilter, intParam, isoDate, namesList } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';

const METRIC_NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** The points of series `n.name` that match the query's filters ($2 instrument … $5 to). */
function pointFilter(m: string): string {
  return `${m}.name = n.name and ($2::text is null or ${m}.instrument_id = $2)
    and ($3::text is null or ${m}.settings_name = $3)
    and ($4::timestamptz is null or ${m}.created_at >= $4) and ($5::timestamptz is null or ${m}.created_at < $5)`;
}

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
      // PostgreSQL builds each series' JSON itself (json_agg), so 100,000 points cost no row
      // parsing here. `cut` is the newest point that does NOT fit (the limit+1-th newest): it
      // tells whether older points exist, and the series is every point after it, read forward
      // along the index in time order (no sort).
      const rows = await deps.db.query<{ name: string; series: string }>(
        `select n.name, coalesce((
           select json_build_object(
             't', json_agg((date_part('epoch', x.created_at) * 1000)::bigint), 'value', json_agg(x.value),
             'file', json_agg(x.file_id), 'truncated', cut.created_at is not null)
           from (select m.created_at, m.value, m.file_id from metrics m
                 where ${pointFilter('m')}
                   and (m.created_at, m.file_id) > (coalesce(cut.created_at, '-infinity'), coalesce(cut.file_id, ''))
                 order by m.created_at, m.file_id) x
           having count(*) > 0
         )::text, '{"t":[],"value":[],"file":[],"truncated":false}') as series
         from unnest($1::text[]) with ordinality as n(name, ord)
         left join lateral (select c.created_at, c.file_id from metrics c where ${pointFilter('c')}
                            order by c.created_at desc, c.file_id desc offset $6 limit 1) cut on true
         order by n.ord`,
        [
          query.names,
          query.instrument ?? null,
          query.settings ?? null,
          query.from ?? null,
          query.to ?? null,
          limit,
        ],
      );
      // names are validated against METRIC_NAME, so JSON.stringify is all the escaping needed
      const series = rows.map((r) => `${JSON.stringify(r.name)}:${r.series}`).join(',');
      return c.body(`{"limit":${limit},"series":{${series}}}`, 200, {
        'content-type': 'application/json; charset=utf-8',
      });
    },
  }),
];
