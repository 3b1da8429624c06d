/**
 * The metrics store: with `series-store.ts` (chart series), the one module that reads and writes the
 * `metrics` table (QC values that extractors read from a job's output). Writers: `recordMetrics`
 * (processing). Readers: one file's metrics (`metricsOfFile`, for the file detail), the recorded
 * names (`metricNames`, with unit and whether they have values: `metricNameInfo`), guide-set
 * statistics, recent points for the QC watch and digest, and the mzQC export's rows.
 */
import type { Queryable } from '../core/db/db.ts';
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

/** A file's metric rows with the job that recorded each (archived as `metrics.json`: src/archive/). */
export async function metricRowsForArchive(
  q: Queryable,
  fileId: string,
): Promise<(FileMetricRow & { job_row_id: string | null })[]> {
  return q.query(
    `select settings_name, settings_version, name, value, unit, created_at, job_row_id from metrics
     where file_id = $1 order by settings_name, settings_version, name`,
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

/** A metric value with the file and processing settings it belongs to, for an export. */
export interface ExportMetricRow {
  file_id: string;
  settings_name: string;
  settings_version: number;
  name: string;
  value: number | null;
}

/**
 * The metrics of the chosen files (or of an instrument's files whose metrics were recorded in
 * [from, to)), newest settings version per file and settings name only, at most `maxFiles` files
 * (the newest); `truncated` says whether more matched.
 */
export async function metricsForExport(
  q: Queryable,
  f: { files?: readonly string[]; instrument?: string; from?: Date; to?: Date; maxFiles: number },
): Promise<{ rows: ExportMetricRow[]; truncated: boolean }> {
  const picked = await q.query<{ file_id: string }>(
    `select file_id from metrics
      where ($1::text[] is null or file_id = any($1)) and ($2::text is null or instrument_id = $2)
        and ($3::timestamptz is null or created_at >= $3) and ($4::timestamptz is null or created_at < $4)
      group by file_id order by max(created_at) desc, file_id limit $5`,
    [f.files ?? null, f.instrument ?? null, f.from ?? null, f.to ?? null, f.maxFiles + 1],
  );
  const ids = picked.slice(0, f.maxFiles).map((r) => r.file_id);
  const rows = await q.query<ExportMetricRow>(
    `select m.file_id, m.settings_name, m.settings_version, m.name, m.value from metrics m
      where m.file_id = any($1::text[])
        and m.settings_version = (select max(x.settings_version) from metrics x
                                   where x.file_id = m.file_id and x.settings_name = m.settings_name)
      order by m.file_id, m.settings_name, m.name`,
    [ids],
  );
  return { rows, truncated: picked.length > f.maxFiles };
}
