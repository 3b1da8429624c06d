/**
 * QC metric time series for charts: per metric name, the most recent `limit` points in time
 * order, as parallel arrays (`t` in epoch milliseconds, `value`, `file`), which keeps 100,000
 * points to a few megabytes. One index range scan per name (`metrics_name_time_file`, or
 * `metrics_instrument_name_time_file` with an instrument), and the JSON is built by PostgreSQL.
 *
 * With `window`, each series also carries Levey-Jennings bands (`src/metrics/bands.ts`): the
 * rolling mean ± k·sd of the `window` points before each point, and which points fall outside.
 */
import { z } from 'zod';
import type { Db, Queryable } from '../../core/db/db.ts';
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

/** The points of series $1 that match the filters ($2 instrument … $5 to). */
function pointFilter(m: string): string {
  return `${m}.name = $1 and ($2::text is null or ${m}.instrument_id = $2)
    and ($3::text is null or ${m}.settings_name = $3)
    and ($4::timestamptz is null or ${m}.created_at >= $4) and ($5::timestamptz is null or ${m}.created_at < $5)`;
}

export interface SeriesQuery {
  names: string[];
  instrument?: string;
  settings?: string;
  from?: Date;
  to?: Date;
  limit: number;
}

const EMPTY_SERIES = '{"t":[],"value":[],"file":[],"truncated":false}';

/**
 * Each series as JSON text, built by PostgreSQL (one row per name, in the order asked).
 *
 * Building the JSON of 100,000 points is most of the cost, so each series' three arrays are built
 * by three queries at once (on separate connections, so on separate cores), over the same range
 * of points: from just after `cut` (the newest point that does not fit, which also tells whether
 * older points exist) to the newest point, fixed before the three start. Points are only ever
 * added after the newest one, so the three agree; should they not (rows deleted meanwhile), the
 * same queries run again one after the other in one snapshot (REPEATABLE READ).
 */
export async function seriesJson(db: Db, q: SeriesQuery): Promise<{ name: string; series: string }[]> {
  const parallel: RunAll = (fns) => Promise.all(fns.map((f) => f()));
  return Promise.all(
    q.names.map(async (name) => {
      const series =
        (await buildSeries(db, name, q, parallel)) ??
        (await db.tx(async (tx) => {
          await tx.exec('set transaction isolation level repeatable read');
          return buildSeries(tx, name, q, inSequence);
        }));
      // in one snapshot the three always agree
      return { name, series: series ?? EMPTY_SERIES };
    }),
  );
}

type RunAll = <T>(fns: (() => Promise<T>)[]) => Promise<T[]>;
const inSequence: RunAll = async (fns) => {
  const out = [];
  for (const f of fns) out.push(await f());
  return out;
};

/** A point's key: the time as exact text (a JS Date would drop the microseconds) and the file. */
type Key = { created_at: string; file_id: string };
const KEY = `to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at, m.file_id`;

/** One series' JSON, or undefined when its three arrays came out of different lengths. */
async function buildSeries(
  q: Queryable,
  name: string,
  sq: SeriesQuery,
  runAll: RunAll,
): Promise<string | undefined> {
  const base = [name, sq.instrument ?? null, sq.settings ?? null, sq.from ?? null, sq.to ?? null];
  const where = pointFilter('m');
  const [cut, newest] = await runAll([
    () =>
      q.maybeOne<Key>(
        // the key is formatted outside: with OFFSET, PostgreSQL computes the output of skipped rows too
        `select ${KEY} from (select m.created_at, m.file_id from metrics m where ${where}
         order by m.created_at desc, m.file_id desc offset $6 limit 1) m`,
        [...base, sq.limit],
      ),
    () =>
      q.maybeOne<Key>(
        `select ${KEY} from metrics m where ${where} order by m.created_at desc, m.file_id desc limit 1`,
        base,
      ),
  ]);
  if (!newest) return EMPTY_SERIES;
  const range = [
    ...base,
    cut?.created_at ?? '-infinity',
    cut?.file_id ?? '',
    newest.created_at,
    newest.file_id,
  ];
  // `json` is the array's JSON text. Numbers go through string_agg of their text form, which is
  // valid JSON for integers and finite floats and cheaper than json_agg; file ids need its quoting.
  const column = (expr: string, json: string) => () =>
    q.one<{ json: string; n: number }>(
      `select ${json} as json, count(*)::int as n from (
         select ${expr} as v from metrics m
         where ${where} and (m.created_at, m.file_id) > ($6::timestamptz, $7::text)
           and (m.created_at, m.file_id) <= ($8::timestamptz, $9::text)
         order by m.created_at, m.file_id) x`,
      range,
    );
  const numbers = `'[' || string_agg(x.v, ',') || ']'`;
  const [t, value, file] = await runAll([
    column(`((date_part('epoch', m.created_at) * 1000)::bigint)::text`, numbers),
    // NaN and ±Infinity have no JSON form (extractors store them as null anyway)
    column(
      `case when m.value > '-Infinity' and m.value < 'Infinity' then m.value::text else 'null' end`,
      numbers,
    ),
    column('m.file_id', 'json_agg(x.v)::text'),
  ]);
  if (t!.n !== value!.n || t!.n !== file!.n) return undefined;
  if (t!.n === 0) return EMPTY_SERIES;
  return `{"t":${t!.json},"value":${value!.json},"file":${file!.json},"truncated":${cut !== undefined}}`;
}

export const metricRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/metrics/names',
    role: 'viewer',
    tag: 'metrics',
    summary: 'the names of all recorded metrics, sorted (for choosing what to chart)',
    description: 'A skip scan over the `metrics_name_time_file` index: one index probe per distinct name.',
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
      // PostgreSQL builds each series' JSON itself (json_agg), so 100,000 points cost no row
      // parsing here. `cut` is the newest point that does NOT fit (the limit+1-th newest): it
      // tells whether older points exist, and the series is every point after it, read forward
      // along the index in time order (no sort).
      const rows = await seriesJson(deps.db, { ...query, limit });
      if (query.window !== undefined) {
        // bands are computed here, so this path parses the points
        const k = query.k ?? 2;
        const series: Record<string, MetricSeries> = {};
        for (const r of rows) {
          const s = JSON.parse(r.series) as MetricSeries;
          s.bands = rollingBands(s.value, { window: query.window, k });
          series[r.name] = s;
        }
        const answer: MetricSeriesAnswer = { limit, window: query.window, k, series };
        return c.json(answer);
      }
      // names are validated against METRIC_NAME, so JSON.stringify is all the escaping needed
      const series = rows.map((r) => `${JSON.stringify(r.name)}:${r.series}`).join(',');
      return c.body(`{"limit":${limit},"window":null,"k":null,"series":{${series}}}`, 200, {
        'content-type': 'application/json; charset=utf-8',
      });
    },
  }),
];
