/** One metric's charts against its guide sets: Levey-Jennings with ± 2/3 sd, rule breaks, CUSUM, moving range. */
import { useMemo } from 'react';
import { Link } from 'wouter';
import { visibleText as visible } from '../../../../src/core/visible.ts';
import type { MetricSeries } from '../../api/types.ts';
import { Chart } from '../../components/Chart.tsx';
import { Table } from '../../components/Table.tsx';
import { dateTime, metricValue } from '../../lib/format.ts';
import { cusumChart, guideChart, movingRangeChart } from './guide-charts.ts';

const SHOWN = 25;

export function GuideMetric({ title, name, s }: { title: string; name: string; s: MetricSeries }) {
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
      <Chart
        options={lj.options}
        data={lj.data}
        label={`${name} against its guide sets, ${lj.list.length} rule breaks`}
      />
      {lj.list.length > 0 && (
        <details open={lj.list.length <= 5}>
          <summary>
            {lj.list.length} {lj.list.length === 1 ? 'run' : 'runs'} broke a rule
          </summary>
          <Table className="outliers" headers={['When', 'File', 'Value', 'Rules']}>
            {lj.list
              .slice(-SHOWN)
              .reverse()
              .map((o) => (
                <tr key={`${o.file}-${o.t}`}>
                  <td>{dateTime(new Date(o.t).toISOString())}</td>
                  <td>
                    <Link href={`/files/${encodeURIComponent(o.file)}`}>{visible(o.file)}</Link>
                  </td>
                  <td className="num text-bad">{metricValue(o.value)}</td>
                  <td>{o.rules.join(', ')}</td>
                </tr>
              ))}
          </Table>
        </details>
      )}
      <details>
        <summary>CUSUM and moving range</summary>
        <Chart options={cusum.options} data={cusum.data} height={160} label={`CUSUM of ${name}`} />
        <Chart options={mr.options} data={mr.data} height={160} label={`moving range of ${name}`} />
      </details>
    </section>
  );
}
