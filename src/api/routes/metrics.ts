/**
 * QC metric time series for charts: per metric name, the most recent `limit` points in time
 * order, as parallel arrays (`t` in epoch milliseconds, `value`, `file`), which keeps 100,000
 * points to a few megabytes. The series are read by `src/metrics/series-store.ts` (one index
 * range scan per name, the JSON built by PostgreSQL); this module parses and checks the parameters
 * and shapes the answer. With `points`, each series is thinned for display (`src/metrics/lttb.ts`).
 *
 * With `window`, each series also carries Levey-Jennings bands (`src/metrics/bands.ts`): the
 * rolling mean ± k·sd of the `window` points before each point, and which points fall outside.
 */
import { z } from 'zod';
import type { Db } from '../../core/db/db.ts';
import { type Bands, rollingBands } from '../../metrics/bands.ts';
import { metricDescription } from '../../metrics/descriptions.ts';
import { type GuideSetRow, guideFor, listGuideSets } from '../../metrics/guide-sets.ts';
import { lttb, pickPoints } from '../../metrics/lttb.ts';
import {
  displayPoints,
  namesWithVisiblePoints,
  type SeriesQuery,
  seriesJson,
} from '../../metrics/series-store.ts';
import { type MetricNameInfo, metricNameInfo } from '../../metrics/store.ts';
import { evaluateQc, type QcEvaluation } from '../../metrics/westgard.ts';
import { badInput } from '../errors.ts';
import { idFilter, intParam, isoDate, namesList } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';
import { hiddenFor, seriesWithoutHidden } from '../visibility.ts';

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
  /** With `points`: how many points the series had before it was thinned for display. */
  total?: number;
  /** Present when the request asked for bands (`window`, or `band=guide`). */
  bands?: Bands;
  /** Present with `band=guide`: each point judged against the guide set in force at its time. */
  guide?: GuideAnswer;
}

/** A series judged against guide sets (`src/metrics/westgard.ts` says what each part means). */
export interface GuideAnswer extends QcEvaluation {
  /** Per point, the id of the guide set in force (null before the first one). */
  set: (string | null)[];
  sd: (number | null)[];
  /** mean ± 3·sd (the ± 2·sd lines are `bands.lower`/`bands.upper`). */
  lower3: (number | null)[];
  upper3: (number | null)[];
}

export interface MetricNamesAnswer {
  names: string[];
  metrics: (MetricNameInfo & { description: string | null })[];
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
    summary:
      'the names of all recorded metrics, sorted, each with its unit, description and whether it has values',
    description:
      'A skip scan over the `metrics_name_time_file` index: one index probe per distinct name; a name whose ' +
      'points are all of files in projects hidden from the caller is left out. `metrics` says ' +
      'per name its unit (as its extractor gave it), a description (built-in extractors) and `has_values`: ' +
      'whether any point (of `instrument`, when given) has a value, so a chart page can start with names that draw.',
    query: z.strictObject({ instrument: idFilter.optional() }),
    handle: async (c, { query, principal, deps }) => {
      let info = await metricNameInfo(deps.db, query.instrument);
      // names whose every point is of a file in a project hidden from the caller are left out
      const hidden = await hiddenFor(deps.db, principal);
      if (hidden.length > 0) {
        const seen = await namesWithVisiblePoints(
          deps.db,
          info.map((m) => m.name),
          hidden,
        );
        info = info.filter((m) => seen.has(m.name));
      }
      const answer: MetricNamesAnswer = {
        names: info.map((m) => m.name),
        metrics: info.map((m) => ({ ...m, description: metricDescription(m.name) })),
      };
      return c.json(answer);
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
      band: z.enum(['rolling', 'guide']).optional().meta({
        description:
          'guide: bands (mean ± 2 and 3 sd) from the guide sets of `instrument`, with Westgard rules, CUSUM and moving range per point; rolling (the default with `window`): the rolling band',
      }),
      window: intParam(3, 500, 'a number of points').optional().meta({
        description: 'add rolling mean ± k·sd bands over this many preceding points (3–500)',
      }),
      k: bandK.optional().meta({ description: 'band half-width in standard deviations (default 2)' }),
      points: intParam(3, 100_000, 'a number of points').optional().meta({
        description:
          'thin each series to about this many points for display (LTTB: peaks, dips and flagged points are kept; `total` says how many there were); leave out for every point',
      }),
    }),
    handle: async (c, { query, principal, deps }) => {
      if (query.from && query.to && query.from >= query.to) throw badInput('to', 'must be later than from');
      if (query.k !== undefined && query.window === undefined)
        throw badInput('k', 'k needs window', 'ask for bands with window=20&k=2');
      const limit = query.limit ?? 10_000;
      // PostgreSQL builds each series' JSON itself (json_agg), so 100,000 points cost no row
      // parsing here. `cut` is the newest point that does NOT fit (the limit+1-th newest): it
      // tells whether older points exist, and the series is every point after it, read forward
      // along the index in time order (no sort).
      // points of files in projects the caller may not see are left out (catalog.project_visibility)
      const hidden = await hiddenFor(deps.db, principal);
      if (query.points !== undefined && query.band !== 'guide' && query.window === undefined) {
        // the chart's request: times and values only (of files the caller may see), the files of
        // the kept points looked up
        const series: Record<string, MetricSeries> = {};
        const sq = { ...query, limit };
        const all = await Promise.all(
          query.names.map((n) => displaySeries(deps.db, n, sq, query.points!, hidden)),
        );
        query.names.forEach((n, i) => {
          series[n] = all[i]!;
        });
        const answer: MetricSeriesAnswer = { limit, window: null, k: null, series };
        return c.json(answer);
      }
      const rows = await seriesWithoutHidden(deps.db, await seriesJson(deps.db, { ...query, limit }), hidden);
      if (query.band === 'guide') {
        if (!query.instrument)
          throw badInput('instrument', 'band=guide needs an instrument', 'guide sets are per instrument');
        if (query.window !== undefined) throw badInput('window', 'band=guide takes no window');
        const series: Record<string, MetricSeries> = {};
        for (const r of rows) {
          const s = JSON.parse(r.series) as MetricSeries;
          const sets = await listGuideSets(deps.db, { instrument: query.instrument, metric: r.name });
          Object.assign(s, judgeSeries(s, sets));
          series[r.name] = thin(s, query.points);
        }
        const answer: MetricSeriesAnswer = { limit, window: null, k: 2, series };
        return c.json(answer);
      }
      if (query.window !== undefined) {
        // bands are computed here, so this path parses the points
        const k = query.k ?? 2;
        const series: Record<string, MetricSeries> = {};
        for (const r of rows) {
          const s = JSON.parse(r.series) as MetricSeries;
          s.bands = rollingBands(s.value, { window: query.window, k });
          series[r.name] = thin(s, query.points);
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

/** A series thinned to about `points` for display (flagged points kept); as it is without `points`. */
function thin(s: MetricSeries, points: number | undefined): MetricSeries {
  if (points === undefined) return s;
  const n = s.t.length;
  const idx = lttb(s.t, s.value, points, s.bands?.outlier);
  return { ...pickPoints(s, idx, n), truncated: s.truncated, total: n };
}

/** One series thinned for display without reading every point's file (only the kept ones'). */
async function displaySeries(
  db: Db,
  name: string,
  sq: Omit<SeriesQuery, 'names'>,
  points: number,
  hidden: readonly string[],
): Promise<MetricSeries> {
  const p = await displayPoints(db, name, sq, (us, value) => lttb(us, value, points), hidden);
  return {
    t: p.chosen.map((i) => Math.round(p.us[i]! / 1000)),
    value: p.chosen.map((i) => p.value[i]!),
    file: p.files,
    truncated: p.truncated,
    total: p.us.length,
  };
}

/** The guide-set bands and QC rules of one series (points in time order). */
function judgeSeries(s: MetricSeries, sets: GuideSetRow[]): { bands: Bands; guide: GuideAnswer } {
  const guides = guideFor(s.t, sets);
  const e = evaluateQc(s.value, guides);
  const line = (k: number) => guides.map((g) => (g ? g.mean + k * g.sd : null));
  return {
    bands: {
      mean: guides.map((g) => g?.mean ?? null),
      lower: line(-2),
      upper: line(2),
      outlier: e.rules.map((r) => r.length > 0),
    },
    guide: {
      ...e,
      set: guides.map((g) => g?.id ?? null),
      sd: guides.map((g) => g?.sd ?? null),
      lower3: line(-3),
      upper3: line(3),
    },
  };
}
