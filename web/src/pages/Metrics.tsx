/**
 * QC metrics over time, several at once, each with its Levey-Jennings band: the rolling mean ±
 * k·sd of the points before each point (computed by the server, `src/metrics/bands.ts`), and the
 * points outside it marked and listed. Long series come thinned for display (the server's `points`,
 * LTTB, flagged points kept; `points=N` in the URL sets how many); "show every point" asks for all
 * of them (`points=all`).
 */
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useMemo } from 'react';
import type uPlot from 'uplot';
import { api } from '../api/client.ts';
import type { MetricNamesAnswer, MetricSeries } from '../api/types.ts';
import { axis, Chart } from '../components/Chart.tsx';
import { DateRange, InstrumentSelect } from '../components/Filters.tsx';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { metricValue } from '../lib/format.ts';
import { useQueryParams } from '../lib/url.ts';
import { FlaggedRuns } from './qc/FlaggedRuns.tsx';
import { GuideMetric } from './qc/GuideMetric.tsx';
import { GuideSets } from './qc/GuideSets.tsx';

const MAX_METRICS = 6;
/** Points per chart when thinned: about two per pixel of a wide chart. */
const DISPLAY_POINTS = 2000;
/** The most recent points a chart covers. */
const SERIES_LIMIT = 100_000;

type NameInfo = MetricNamesAnswer['metrics'][number];

/** `fwhm_rt (min)`: the name with its unit, when one was recorded. */
const withUnit = (name: string, info: NameInfo | undefined) => (info?.unit ? `${name} (${info.unit})` : name);

function seriesChart(s: MetricSeries, name: string) {
  const b = s.bands;
  const x = s.t.map((t) => t / 1000);
  const outliers = s.value.map((v, i) => (b?.outlier[i] ? v : null));
  const data: uPlot.AlignedData = [x, s.value, b?.mean ?? [], b?.upper ?? [], b?.lower ?? [], outliers];
  const options: Omit<uPlot.Options, 'width' | 'height'> = {
    scales: { x: { time: true } },
    axes: [{}, axis(metricValue)],
    series: [
      {},
      { label: name, stroke: '#1f6fb2', width: 1, points: { show: true, size: 4 } },
      { label: 'rolling mean', stroke: '#555', width: 1, dash: [6, 4], points: { show: false } },
      { label: '+k·sd', stroke: '#e0a800', width: 1, points: { show: false } },
      { label: '−k·sd', stroke: '#e0a800', width: 1, points: { show: false } },
      {
        label: 'outlier',
        stroke: '#c0392b',
        fill: '#c0392b',
        width: 0,
        paths: () => null,
        points: { show: true, size: 10, fill: '#c0392b', stroke: '#c0392b' },
      },
    ],
    bands: [{ series: [3, 4], fill: 'rgba(224, 168, 0, 0.12)' }],
  };
  const list = s.value.flatMap((v, i) =>
    b?.outlier[i] ? [{ t: s.t[i]!, file: s.file[i]!, value: v, lower: b.lower[i]!, upper: b.upper[i]! }] : [],
  );
  return { data, options, list };
}

/** Says that a series was thinned for display, with a way to see every point. */
function ThinNote({ s, showAll }: { s: MetricSeries; showAll: () => void }) {
  if (s.total === undefined || s.total <= s.t.length) return null;
  return (
    <p className="muted small">
      Showing {s.t.length.toLocaleString()} of {s.total.toLocaleString()} points, thinned for display (every
      flagged point kept).{' '}
      <button type="button" className="link" onClick={showAll}>
        Show every point
      </button>
    </p>
  );
}

function MetricChart({
  name,
  s,
  k,
  info,
  note,
}: {
  name: string;
  s: MetricSeries;
  k: number;
  info?: NameInfo;
  note?: ReactNode;
}) {
  const c = useMemo(() => seriesChart(s, name), [s, name]);
  const withValue = s.value.filter((v) => v !== null).length;
  if (withValue === 0)
    return (
      <section className="card metric">
        <h2>{withUnit(name, info)}</h2>
        <Empty title="No values in this range">
          {s.t.length === 0
            ? 'Widen the dates or choose another instrument.'
            : `${s.t.length} runs recorded ${name}, none of them with a value (the processing output had none).`}
        </Empty>
      </section>
    );
  return (
    <section className="card metric" aria-labelledby={`m-${name}`}>
      <h2 id={`m-${name}`}>{withUnit(name, info)}</h2>
      {info?.description && <p className="small">{info.description}</p>}
      <p className="muted small">
        {s.total ?? withValue} points{s.truncated && ' (the most recent; narrow the dates for older ones)'} ·
        band: rolling mean ± {k}·sd · {c.list.length} outside
      </p>
      {note}
      <Chart
        options={c.options}
        data={c.data}
        label={`${name} over time, ${c.list.length} points outside the band`}
      />
      <FlaggedRuns
        list={c.list}
        summary={`${c.list.length} ${c.list.length === 1 ? 'point' : 'points'} outside the band`}
        why={[
          'Band',
          (o) => (
            <td className="num">
              {metricValue(o.lower)} – {metricValue(o.upper)}
            </td>
          ),
        ]}
      />
    </section>
  );
}

/** The chart choices: instrument, band window and width, dates, which metrics (all in the URL). */
function MetricControls({
  all,
  selected,
  toggle,
  instrument,
  win,
  k,
  band,
  from,
  to,
  setParams,
}: {
  band: Band;
  all: NameInfo[];
  selected: string[];
  toggle: (name: string) => void;
  instrument: string;
  win: number;
  k: number;
  from: string;
  to: string;
  setParams: ReturnType<typeof useQueryParams>[1];
}) {
  return (
    <form className="filters" aria-label="Choose metrics" onSubmit={(e) => e.preventDefault()}>
      <InstrumentSelect value={instrument} onChange={(v) => setParams({ instrument: v || undefined })} />
      <label>
        Band
        <select
          value={band}
          onChange={(e) => setParams({ band: e.target.value === 'guide' ? 'guide' : undefined })}
        >
          <option value="rolling">rolling mean ± k·sd</option>
          <option value="guide">guide set (Westgard rules)</option>
        </select>
      </label>
      <label>
        Window (points)
        <input
          disabled={band === 'guide'}
          type="number"
          min={3}
          max={500}
          value={win}
          onChange={(e) => setParams({ window: e.target.value })}
        />
      </label>
      <label>
        k (standard deviations)
        <input
          type="number"
          min={0.5}
          max={10}
          step={0.5}
          disabled={band === 'guide'}
          value={k}
          onChange={(e) => setParams({ k: e.target.value })}
        />
      </label>
      <DateRange from={from} to={to} onChange={(key, v) => setParams({ [key]: v })} />
      <fieldset className="metric-picker">
        <legend>Metrics (up to {MAX_METRICS})</legend>
        {all.map((m) => (
          <label key={m.name} className="check" title={m.description ?? undefined}>
            <input type="checkbox" checked={selected.includes(m.name)} onChange={() => toggle(m.name)} />{' '}
            {withUnit(m.name, m)}
            {!m.has_values && <span className="muted small"> (no values)</span>}
          </label>
        ))}
      </fieldset>
    </form>
  );
}

type Band = 'rolling' | 'guide';

/** `points=N` in the address: how many points a thinned chart keeps (3–100000). */
function density(raw: string | null): number {
  const n = Number(raw);
  return Number.isInteger(n) && n >= 3 && n <= SERIES_LIMIT ? n : DISPLAY_POINTS;
}

/** Download of the shown instrument and dates as mzQC (metrics with a PSI-MS term; docs/qc.md). */
function MzqcLink({ instrument, from, to }: { instrument: string; from: string; to: string }): ReactNode {
  if (!instrument) return null;
  const q = new URLSearchParams({ instrument });
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  return (
    <p className="small">
      <a href={`/api/qc/mzqc?${q}`} download="sluice-qc.mzQC">
        Export these runs as mzQC
      </a>{' '}
      <span className="muted">
        (metrics with a PSI-MS term; the others are named in the download's headers)
      </span>
    </p>
  );
}

/** What the page shows, from the address. */
interface View {
  selected: string[];
  instrument: string;
  band: Band;
  win: number;
  k: number;
  from: string;
  to: string;
  /** Every point rather than a thinned series. */
  every: boolean;
  /** Points per thinned series (`points=N` in the URL; DISPLAY_POINTS by default). */
  density: number;
}

/** The series of the chosen metrics: with the rolling band, or judged against guide sets. */
function useSeries(v: View) {
  return useQuery({
    queryKey: ['metric-series', v],
    queryFn: () =>
      api.metricSeries({
        names: v.selected,
        instrument: v.instrument || undefined,
        from: v.from || undefined,
        to: v.to || undefined,
        limit: SERIES_LIMIT,
        ...(v.every ? {} : { points: v.density }),
        ...(v.band === 'guide' ? { band: 'guide' as const } : { window: v.win, k: v.k }),
      }),
    enabled: v.selected.length > 0,
  });
}

/** A chart per chosen metric: against its guide sets, or with the rolling band. */
function Charts({
  series,
  selected,
  info,
  k,
  showAll,
}: {
  series: ReturnType<typeof useSeries>;
  selected: string[];
  info: NameInfo[];
  k: number;
  showAll: () => void;
}) {
  if (series.isPending) return <Loading what="Loading metrics" />;
  if (series.isError) return <ErrorState error={series.error} retry={() => void series.refetch()} />;
  return (
    <div className="metric-grid">
      {selected.map((n) => {
        const s = series.data.series[n];
        const about = info.find((m) => m.name === n);
        if (!s) return null;
        const note = <ThinNote s={s} showAll={showAll} />;
        if (s.guide) return <GuideMetric key={n} name={n} title={withUnit(n, about)} s={s} note={note} />;
        return <MetricChart key={n} name={n} s={s} k={series.data.k ?? k} info={about} note={note} />;
      })}
    </div>
  );
}

export default function MetricsPage() {
  const [params, setParams] = useQueryParams();
  const instruments = useQuery({ queryKey: ['instruments'], queryFn: api.instruments });
  const instrument = params.get('instrument') ?? instruments.data?.instruments[0]?.id ?? '';
  const names = useQuery({
    queryKey: ['metric-names', instrument],
    queryFn: () => api.metricNames(instrument || undefined),
    placeholderData: (previous) => previous,
  });
  const info = names.data?.metrics ?? [];
  const all = names.data?.names ?? [];
  const chosen = (params.get('names') ?? '').split(',').filter((n) => n && all.includes(n));
  // Without a choice in the address: the first two metrics this instrument has values for.
  const drawable = info.filter((m) => m.has_values).map((m) => m.name);
  const selected = chosen.length > 0 ? chosen : (drawable.length > 0 ? drawable : all).slice(0, 2);
  const view: View = {
    selected,
    instrument,
    band: params.get('band') === 'guide' && instrument ? 'guide' : 'rolling',
    win: Number(params.get('window') ?? 20),
    k: Number(params.get('k') ?? 2),
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    every: params.get('points') === 'all',
    density: density(params.get('points')),
  };
  const series = useSeries(view);
  const { win, k, band, from, to } = view;

  const toggle = (n: string) => {
    const next = selected.includes(n)
      ? selected.filter((x) => x !== n)
      : [...selected, n].slice(-MAX_METRICS);
    if (next.length === 0) return; // at least one chart
    setParams({ names: next.join(',') });
  };

  if (names.isPending) return <Loading what="Loading metric names" />;
  if (names.isError) return <ErrorState error={names.error} retry={() => void names.refetch()} />;
  if (all.length === 0)
    return (
      <>
        <h1>Metrics</h1>
        <Empty title="No metrics recorded yet">
          Metrics are read from the output of finished processing jobs (<code>metrics:</code> in the
          processing settings of <code>sluice.yaml</code>; see docs/processing.md). They appear here after the
          first job finishes.
        </Empty>
      </>
    );

  return (
    <>
      <h1>Metrics</h1>
      <MetricControls
        all={info}
        selected={selected}
        toggle={toggle}
        instrument={instrument}
        win={win}
        k={k}
        band={band}
        from={from}
        to={to}
        setParams={setParams}
      />
      <Charts
        series={series}
        selected={selected}
        info={info}
        k={k}
        showAll={() => setParams({ points: 'all' })}
      />
      <MzqcLink instrument={instrument} from={from} to={to} />
      {band === 'guide' && <GuideSets instrument={instrument} metrics={selected} />}
    </>
  );
}
