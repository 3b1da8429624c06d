/** One metric's charts against its guide sets: Levey-Jennings with ± 2/3 sd, rule breaks, CUSUM, moving range. */
import { type ReactNode, useMemo } from 'react';
import type { MetricSeries } from '../../api/types.ts';
import { Chart } from '../../components/Chart.tsx';
import { FlaggedRuns } from './FlaggedRuns.tsx';
import { cusumChart, guideChart, movingRangeChart } from './guide-charts.ts';

export function GuideMetric({
  title,
  name,
  s,
  note,
}: {
  title: string;
  name: string;
  s: MetricSeries;
  /** Shown under the summary (e.g. that the series was thinned for display). */
  note?: ReactNode;
}) {
  const g = s.guide!;
  const lj = useMemo(() => guideChart(s, g, name), [s, g, name]);
  const cusum = useMemo(() => cusumChart(s, g), [s, g]);
  const mr = useMemo(() => movingRangeChart(s, g), [s, g]);
  const judged = g.z.filter((z) => z !== null).length;
  return (
    <section className="card metric" aria-labelledby={`m-${name}`}>
      <h2 id={`m-${name}`}>{title}</h2>
      <p className="muted small">
        {judged === 0
          ? 'No guide set covers these runs: mark a baseline period below.'
          : `${judged} runs judged against their guide set · ${lj.list.length} broke a Westgard rule`}
      </p>
      {note}
      <Chart
        options={lj.options}
        data={lj.data}
        label={`${name} against its guide sets, ${lj.list.length} rule breaks`}
      />
      <FlaggedRuns
        list={lj.list}
        summary={`${lj.list.length} ${lj.list.length === 1 ? 'run' : 'runs'} broke a rule`}
        why={['Rules', (o) => <td>{o.rules.join(', ')}</td>]}
      />
      <details>
        <summary>CUSUM and moving range</summary>
        <Chart options={cusum.options} data={cusum.data} height={160} label={`CUSUM of ${name}`} />
        <Chart options={mr.options} data={mr.data} height={160} label={`moving range of ${name}`} />
      </details>
    </section>
  );
}
