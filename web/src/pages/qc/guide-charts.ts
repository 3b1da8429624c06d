/**
 * Chart data for a metric judged against guide sets (`band=guide`): the Levey-Jennings chart with
 * the guide set's mean and ± 2/3 sd lines and the points that broke a Westgard rule, and the CUSUM
 * (mean and variability, with the ± h decision limit) and moving-range charts beside it.
 */
import type uPlot from 'uplot';
import type { MetricSeries } from '../../api/types.ts';
import { axis } from '../../components/Chart.tsx';
import { metricValue } from '../../lib/format.ts';

type Guide = NonNullable<MetricSeries['guide']>;
type Options = Omit<uPlot.Options, 'width' | 'height'>;

const line = (label: string, stroke: string, dash?: number[]): uPlot.Series => ({
  label,
  stroke,
  width: 1,
  dash,
  points: { show: false },
});

const marked = (label: string): uPlot.Series => ({
  label,
  stroke: '#c0392b',
  fill: '#c0392b',
  width: 0,
  paths: () => null,
  points: { show: true, size: 10, fill: '#c0392b', stroke: '#c0392b' },
});

export interface RuleBreak {
  t: number;
  file: string;
  value: number | null;
  rules: string[];
}

export function guideChart(s: MetricSeries, g: Guide, name: string) {
  const x = s.t.map((t) => t / 1000);
  const flagged = s.value.map((v, i) => (g.rules[i]!.length > 0 ? v : null));
  const b = s.bands;
  const data: uPlot.AlignedData = [
    x,
    s.value,
    b?.mean ?? [],
    b?.upper ?? [],
    b?.lower ?? [],
    g.upper3,
    g.lower3,
    flagged,
  ];
  const options: Options = {
    scales: { x: { time: true } },
    axes: [{}, axis(metricValue)],
    series: [
      {},
      { label: name, stroke: '#1f6fb2', width: 1, points: { show: true, size: 4 } },
      line('guide mean', '#555', [6, 4]),
      line('+2 sd', '#e0a800'),
      line('−2 sd', '#e0a800'),
      line('+3 sd', '#c0392b', [2, 3]),
      line('−3 sd', '#c0392b', [2, 3]),
      marked('rule broken'),
    ],
    bands: [{ series: [3, 4], fill: 'rgba(224, 168, 0, 0.12)' }],
  };
  const list: RuleBreak[] = s.value.flatMap((v, i) =>
    g.rules[i]!.length > 0 ? [{ t: s.t[i]!, file: s.file[i]!, value: v, rules: g.rules[i]! }] : [],
  );
  return { data, options, list };
}

const CUSUM_H = 5;

export function cusumChart(s: MetricSeries, g: Guide) {
  const x = s.t.map((t) => t / 1000);
  const h = s.t.map(() => CUSUM_H);
  const data: uPlot.AlignedData = [x, g.cusum.mean_hi, g.cusum.mean_lo, g.cusum.var_hi, g.cusum.var_lo, h];
  const options: Options = {
    scales: { x: { time: true } },
    axes: [{}, axis(metricValue)],
    series: [
      {},
      line('CUSUM mean +', '#1f6fb2'),
      line('CUSUM mean −', '#5dade2'),
      line('CUSUM variability +', '#8e44ad'),
      line('CUSUM variability −', '#c39bd3'),
      line('limit h = 5', '#c0392b', [2, 3]),
    ],
  };
  return { data, options };
}

export function movingRangeChart(s: MetricSeries, g: Guide) {
  const x = s.t.map((t) => t / 1000);
  const data: uPlot.AlignedData = [x, g.mr, g.mr_ucl];
  const options: Options = {
    scales: { x: { time: true } },
    axes: [{}, axis(metricValue)],
    series: [
      {},
      { label: 'moving range', stroke: '#1f6fb2', width: 1, points: { show: true, size: 3 } },
      line('upper limit', '#c0392b', [2, 3]),
    ],
  };
  return { data, options };
}
