/** The runs a QC chart flags (outside the band, or breaking a rule), newest first, each linking to its file. */
import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { visibleText as visible } from '../../../../src/core/visible.ts';
import { Table } from '../../components/Table.tsx';
import { dateTime, metricValue } from '../../lib/format.ts';

const SHOWN = 25;

export interface FlaggedRun {
  t: number;
  file: string;
  value: number | null;
}

export function FlaggedRuns<R extends FlaggedRun>({
  list,
  summary,
  why,
}: {
  list: R[];
  summary: string;
  /** The last column: its header, and what it says of one run. */
  why: [string, (r: R) => ReactNode];
}) {
  if (list.length === 0) return null;
  return (
    <details open={list.length <= 5}>
      <summary>{summary}</summary>
      <Table className="outliers" headers={['When', 'File', 'Value', why[0]]}>
        {list
          .slice(-SHOWN)
          .reverse()
          .map((o) => (
            <tr key={`${o.file}-${o.t}`}>
              <td>{dateTime(new Date(o.t).toISOString())}</td>
              <td>
                <Link href={`/files/${encodeURIComponent(o.file)}`}>{visible(o.file)}</Link>
              </td>
              <td className="num text-bad">{metricValue(o.value)}</td>
              {why[1](o)}
            </tr>
          ))}
      </Table>
    </details>
  );
}
