/**
 * Health (issue #23): is Sluice well, and where to act if not — workers and their Sluice versions
 * (a mismatch shown on top), pools, queues with the oldest waiting task, instruments, backup and
 * archive targets, streams, the database's own backups and the alerts that hold now, from
 * `GET /api/health/overview`. Refreshed every 10 seconds while open; viewers and up.
 */
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { request } from '../api/client.ts';
import { ErrorState, Loading } from '../components/States.tsx';
import { When } from '../components/When.tsx';
import {
  type Health,
  Instruments,
  LevelBadge,
  NeedsAction,
  Pools,
  Queues,
  VersionBanner,
  Workers,
} from './health/parts.tsx';
import { Alerts, DbBackups, Streams, Targets } from './health/stores.tsx';

export const HEALTH_REFRESH_MS = 10_000;

/** Every judged row with the part it belongs to and its name, for the "needs action" list. */
function allRows(h: Health) {
  return [
    ...h.workers.map((r) => ({ part: 'Worker', name: r.id, row: r })),
    ...h.pools.map((r) => ({ part: 'Pool', name: r.name, row: r })),
    ...h.queues.map((r) => ({ part: 'Queue', name: `${r.kind} in ${r.pool}`, row: r })),
    ...h.instruments.map((r) => ({ part: 'Instrument', name: r.id, row: r })),
    ...h.targets.map((r) => ({
      part: r.role === 'backup' ? 'Backup target' : 'Archive target',
      name: r.name,
      row: r,
    })),
    ...h.streams.map((r) => ({ part: 'Stream', name: r.source, row: r })),
    { part: 'Outbox', name: 'events', row: h.outbox },
    ...h.db_backups.map((r) => ({ part: 'Database backup', name: r.strategy, row: r })),
    ...h.alerts.map((r) => ({ part: 'Alert', name: r.rule, row: r })),
  ];
}

/** The parts in page order: heading id (each table is named by its heading), title, table. */
const SECTIONS: [string, string, (p: { h: Health }) => ReactNode][] = [
  ['workers-title', 'Workers', Workers],
  ['queues-title', 'Queues', Queues],
  ['pools-title', 'Pools', Pools],
  ['instruments-health-title', 'Instruments', Instruments],
  ['targets-title', 'Backup and archive targets', Targets],
  ['streams-health-title', 'Streams', Streams],
  ['db-backups-title', 'Database backups', DbBackups],
  ['alerts-title', 'Alerts firing', Alerts],
];

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export default function HealthPage() {
  const q = useQuery({
    queryKey: ['health'],
    queryFn: () => request<Health>('GET', '/api/health/overview'),
    refetchInterval: HEALTH_REFRESH_MS,
  });
  if (q.isPending) return <Loading what="Checking Sluice's health" />;
  if (q.isError) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  const h = q.data;
  const s = h.summary;
  return (
    <>
      <h1>Health</h1>
      <p className="health-summary" role="status">
        <LevelBadge level={s.level} ok="all well" />{' '}
        {s.level === 'ok'
          ? 'Nothing needs action.'
          : `${s.critical} critical, ${s.warning} ${s.warning === 1 ? 'warning' : 'warnings'}.`}{' '}
        <span className="muted">
          Sluice {h.version}; checked <When at={h.generated_at} />, every {HEALTH_REFRESH_MS / 1000} s.
        </span>
      </p>
      <VersionBanner h={h} />
      <Section id="needs-title" title="Needs action">
        <NeedsAction items={allRows(h)} />
      </Section>
      {SECTIONS.map(([id, title, Part]) => (
        <Section key={id} id={id} title={title}>
          <Part h={h} />
        </Section>
      ))}
    </>
  );
}
