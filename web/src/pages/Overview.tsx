/** A card per instrument, the extra backup targets' progress, and new files and gigabytes per day. */
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { Link } from 'wouter';
import { api, withQuery } from '../api/client.ts';
import type { ApiInstrument, FileStatus, ThroughputAnswer } from '../api/types.ts';
import { Badge } from '../components/Badge.tsx';
import { axis, Chart, PALETTE } from '../components/Chart.tsx';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { When } from '../components/When.tsx';
import { bytes, count } from '../lib/format.ts';
import { STATUS, STATUSES } from '../lib/status.ts';
import { BackupTargets } from './overview/BackupTargets.tsx';

const NON_TERMINAL = STATUSES.filter((s) => !STATUS[s].terminal).join(',');

function Online({ i }: { i: ApiInstrument }) {
  if (i.online === null) return <Badge tone="muted">not checked yet</Badge>;
  return i.online ? <Badge tone="good">online</Badge> : <Badge tone="bad">offline</Badge>;
}

function FreeSpace({ i }: { i: ApiInstrument }) {
  if (i.free_bytes === null || !i.total_bytes) return <p className="muted">Free space not measured yet</p>;
  const used = 1 - i.free_bytes / i.total_bytes;
  const low = i.free_bytes / i.total_bytes < 0.1;
  return (
    <div className="space">
      <div className="row-between">
        <span>Free space</span>
        <strong className={low ? 'text-bad' : undefined}>
          {bytes(i.free_bytes)} of {bytes(i.total_bytes)}
        </strong>
      </div>
      <meter
        min={0}
        max={1}
        value={used}
        high={0.9}
        optimum={0}
        aria-label={`${Math.round(used * 100)}% used`}
      />
    </div>
  );
}

function InstrumentCard({ i, stuckMinutes }: { i: ApiInstrument; stuckMinutes: number }) {
  const statuses = STATUSES.filter((s) => (i.counts[s] ?? 0) > 0);
  const total = statuses.reduce((n, s) => n + (i.counts[s] ?? 0), 0);
  return (
    <article className="card instrument" aria-labelledby={`inst-${i.id}`}>
      <header className="row-between">
        <h2 id={`inst-${i.id}`}>{i.id}</h2>
        <Online i={i} />
      </header>
      <p className="muted">
        {i.type} · watching <code>{i.watch_path}</code>
      </p>
      {i.online === false && i.offline_reason && <p className="text-bad">{i.offline_reason}</p>}
      {i.backup_target_problem && <p className="text-bad">Backups wait: {i.backup_target_problem}</p>}
      <FreeSpace i={i} />
      <p>
        Last new file: <When at={i.last_new_file_at} />
      </p>
      {total === 0 ? (
        <p className="muted">
          No files yet — Sluice is watching <code>{i.watch_path}</code>. If the instrument writes there, run{' '}
          <code>sluice doctor</code> to check the folder is reachable.
        </p>
      ) : (
        <ul className="counts" aria-label={`Files of ${i.id} by status`}>
          {statuses.map((s: FileStatus) => (
            <li key={s}>
              <Link
                href={withQuery('/files', { instrument: i.id, status: s })}
                className={`badge tone-${STATUS[s].tone}`}
              >
                {STATUS[s].label} <strong>{count(i.counts[s])}</strong>
              </Link>
            </li>
          ))}
        </ul>
      )}
      {i.stuck > 0 ? (
        <p className="stuck">
          <Link href={withQuery('/files', { instrument: i.id, status: NON_TERMINAL, dir: 'asc' })}>
            {count(i.stuck)} stuck {i.stuck === 1 ? 'file' : 'files'}
          </Link>{' '}
          — unfinished for more than {stuckMinutes} minutes. Open them to see the last step and its error.
        </p>
      ) : (
        total > 0 && <p className="muted">No stuck files</p>
      )}
    </article>
  );
}

function throughputCharts(t: ThroughputAnswer) {
  const ids = Object.keys(t.instruments);
  const x = t.days.map((d) => d / 1000);
  const series: uPlot.Series[] = [
    {},
    ...ids.map((id, n) => ({
      label: id,
      stroke: PALETTE[n % PALETTE.length],
      width: 2,
      points: { show: true, size: 5 },
    })),
  ];
  const files: uPlot.AlignedData = [x, ...ids.map((id) => t.instruments[id]!.files)];
  const gb: uPlot.AlignedData = [x, ...ids.map((id) => t.instruments[id]!.bytes.map((b) => b / 1e9))];
  const totals = {
    files: ids.reduce((n, id) => n + t.instruments[id]!.files.reduce((a, b) => a + b, 0), 0),
    bytes: ids.reduce((n, id) => n + t.instruments[id]!.bytes.reduce((a, b) => a + b, 0), 0),
  };
  const opts = (unit: string, fmt: (v: number) => string): Omit<uPlot.Options, 'width' | 'height'> => ({
    series,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{}, axis(fmt, unit)],
    legend: { show: true },
  });
  return {
    files,
    gb,
    totals,
    filesOpts: opts('files', (v) => count(v)),
    gbOpts: opts('GB', (v) => `${Number(v.toFixed(2))}`),
  };
}

export default function OverviewPage() {
  const instruments = useQuery({
    queryKey: ['instruments'],
    queryFn: api.instruments,
    refetchInterval: 30_000,
  });
  const throughput = useQuery({
    queryKey: ['throughput', 30],
    queryFn: () => api.throughput(30),
    refetchInterval: 60_000,
  });
  const charts = useMemo(
    () => (throughput.data ? throughputCharts(throughput.data) : undefined),
    [throughput.data],
  );

  return (
    <>
      <h1>Overview</h1>
      <section aria-label="Instruments">
        {instruments.isPending ? (
          <Loading what="Loading instruments" />
        ) : instruments.isError ? (
          <ErrorState error={instruments.error} retry={() => void instruments.refetch()} />
        ) : instruments.data.instruments.length === 0 ? (
          <Empty title="No instruments configured">
            Add one under <code>instruments:</code> in <code>sluice.yaml</code>, check it with{' '}
            <code>sluice config check</code>, and restart Sluice.
          </Empty>
        ) : (
          <div className="cards">
            {instruments.data.instruments.map((i) => (
              <InstrumentCard key={i.id} i={i} stuckMinutes={instruments.data.stuckFileMinutes} />
            ))}
          </div>
        )}
      </section>
      <BackupTargets />
      <section aria-labelledby="throughput-title" className="throughput">
        <h2 id="throughput-title">The last 30 days</h2>
        {throughput.isPending ? (
          <Loading what="Loading daily totals" />
        ) : throughput.isError ? (
          <ErrorState error={throughput.error} retry={() => void throughput.refetch()} />
        ) : (
          charts && (
            <>
              <p>
                {count(charts.totals.files)} new files, {bytes(charts.totals.bytes)} in 30 days (UTC days).
              </p>
              <div className="chart-grid">
                <figure>
                  <figcaption>Files per day</figcaption>
                  <Chart
                    options={charts.filesOpts}
                    data={charts.files}
                    label={`New files per day over 30 days: ${charts.totals.files} in all`}
                  />
                </figure>
                <figure>
                  <figcaption>GB per day</figcaption>
                  <Chart
                    options={charts.gbOpts}
                    data={charts.gb}
                    label={`Gigabytes per day over 30 days: ${bytes(charts.totals.bytes)} in all`}
                  />
                </figure>
              </div>
            </>
          )
        )}
      </section>
    </>
  );
}
