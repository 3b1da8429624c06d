/**
 * The metrics store: the one module that reads and writes the `metrics` table (QC values that
 * extractors read from a job's output). Writers: `recordMetrics` (processing). Readers: one file's
 * metrics (`metricsOfFile`, for the file detail), the recorded names (`metricNames`, with unit and
 * whether they have values: `metricNameInfo`) and the
 * chart series (`seriesJson`, built by PostgreSQL as JSON text).
 */
import type { Db, Queryable } from '../core/db/db.ts';
import type { MetricValue } from './types.ts';

/** One recorded metric of a file. */
export interface FileMetricRow {
  settings_name: string;
  settings_version: number;
  name: string;
  value: number | null;
  unit: string | null;
  created_at: Date;
}

/** A file's metrics, by settings then name. */
export async function metricsOfFile(q: Queryable, fileId: string): Promise<FileMetricRow[]> {
  return q.query<FileMetricRow>(
    `select settings_name, settings_version, name, value, unit, created_at from metrics where file_id = $1
     order by settings_name, name`,
    [fileId],
  );
}

/** Stores the values a job's output gave (a value read again replaces the earlier one). */
export async function recordMetrics(
  q: Queryable,
  m: { fileId: string; settingsName: string; settingsVersion: number; jobRowId: string },
  values: readonly MetricValue[],
): Promise<void> {
  for (const v of values) {
    await q.exec(
      `insert into metrics (file_id, settings_name, settings_version, name, value, job_row_id, unit) values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (file_id, settings_name, settings_version, name) do update set value = excluded.value, job_row_id = excluded.job_row_id, unit = excluded.unit, created_at = now()`,
      [m.fileId, m.settingsName, m.settingsVersion, v.name, v.value, m.jobRowId, v.unit ?? null],
    );
  }
}

/** Every recorded metric name, sorted: a skip scan over `metrics_name_time_file` (one probe per name). */
export async function metricNames(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ name: string }>(
    `with recursive n(name) as (
       (select name from metrics order by name limit 1)
       union all
       select (select m.name from metrics m where m.name > n.name order by m.name limit 1) from n
       where n.name is not null
     ) select name from n where name is not null limit 10000`,
  );
  return rows.map((r) => r.name);
}

/** What the QC page shows about one metric name: its unit and whether it has any value to chart. */
export interface MetricNameInfo {
  name: string;
  /** The unit of its most recent value that has one; null when none was recorded. */
  unit: string | null;
  /** Whether any point (of the instrument, when one is given) has a value rather than null. */
  has_values: boolean;
}

/**
 * Each recorded name with its unit and whether it has values (of `instrument`, when given): one
 * probe of `metrics_instrument_name_time_file` (or `metrics_name_time_file`) per name, newest first,
 * stopping at the first non-null value.
 */
export async function metricNameInfo(q: Queryable, instrument?: string): Promise<MetricNameInfo[]> {
  const names = await metricNames(q);
  if (names.length === 0) return [];
  return q.query<MetricNameInfo>(
    `select n.name,
       (select m.unit from metrics m where m.name = n.name and m.unit is not null
          and ($2::text is null or m.instrument_id = $2) order by m.created_at desc limit 1) as unit,
       exists (select 1 from metrics m where m.name = n.name and m.value is not null
          and ($2::text is null or m.instrument_id = $2)) as has_values
     from unnest($1::text[]) with ordinality as n(name, i) order by n.i`,
    [names, instrument ?? null],
  );
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

/** Mean, sample sd and mean moving range of one instrument's points of a metric in [from, to). */
export interface PeriodStats {
  points: number;
  mean: number | null;
  sd: number | null;
  mean_mr: number | null;
}

export async function periodStats(
  q: Queryable,
  p: { instrument: string; metric: string; from: Date; to: Date },
): Promise<PeriodStats> {
  return q.one<PeriodStats>(
    `select count(*)::int as points, avg(value) as mean, stddev_samp(value) as sd, avg(abs(value - prev)) as mean_mr
     from (select value, lag(value) over (order by created_at, file_id) as prev from metrics
           where instrument_id = $1 and name = $2 and created_at >= $3 and created_at < $4 and value is not null) s`,
    [p.instrument, p.metric, p.from, p.to],
  );
}

/** One point of a metric, for judging the newest runs (`qc-watch.ts`). */
export interface RecentPoint {
  file_id: string;
  value: number | null;
  created_at: Date;
}

/** The newest `n` points of one instrument's metric, oldest first. */
export async function recentPoints(
  q: Queryable,
  p: { instrument: string; metric: string; n: number },
): Promise<RecentPoint[]> {
  const rows = await q.query<RecentPoint>(
    `select file_id, value, created_at from metrics where instrument_id = $1 and name = $2
     order by created_at desc, file_id desc limit $3`,
    [p.instrument, p.metric, p.n],
  );
  return rows.reverse();
}

/** A metric value with where it comes from, for a QC digest (`t`: ms since the epoch). */
export interface DigestPoint {
  instrument_id: string;
  name: string;
  file_id: string;
  t: number;
  value: number | null;
}

/** Every value recorded from `from` to `to` (of the given instruments and names; undefined: all). */
export async function metricPointsBetween(
  q: Queryable,
  f: { from: Date; to: Date; instruments?: string[]; names?: string[] },
): Promise<DigestPoint[]> {
  return q.query<DigestPoint>(
    `select instrument_id, name, file_id, (extract(epoch from created_at) * 1000)::float8 as t, value
       from metrics where created_at >= $1 and created_at < $2
        and ($3::text[] is null or instrument_id = any($3)) and ($4::text[] is null or name = any($4))
      order by created_at, file_id`,
    [f.from, f.to, f.instruments ?? null, f.names ?? null],
  );
}
