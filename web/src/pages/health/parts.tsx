/**
 * The pieces of the Health page: the level badge, the version-mismatch banner, the "needs action"
 * list, and one table per part (workers, pools, queues, instruments). Targets, streams, database
 * backups and alerts are in ./stores.tsx. Each row's first cell links to where to act on it.
 */
import type { ReactNode } from 'react';
import { Link } from 'wouter';
import type { HealthPage } from '../../../../src/views/health.ts';
import type { Json } from '../../api/types.ts';
import { Badge } from '../../components/Badge.tsx';
import { Empty } from '../../components/States.tsx';
import { Table } from '../../components/Table.tsx';
import { When } from '../../components/When.tsx';
import { bytes, count } from '../../lib/format.ts';
import type { Tone } from '../../lib/status.ts';

export type Health = Json<HealthPage>;
type Level = Health['summary']['level'];
export interface Row {
  level: Level;
  problem: string | null;
  link: string | null;
}

const TONE: Record<Level, Tone> = { ok: 'good', warning: 'warn', critical: 'bad' };

export function LevelBadge({ level, ok = 'ok' }: { level: Level; ok?: string }) {
  return <Badge tone={TONE[level]}>{level === 'ok' ? ok : level}</Badge>;
}

/** 95 → "1 min 35 s", 7300 → "2 h 1 min". */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** The row's name, linked to where to act on it when there is such a place. */
export function Named({ row, children }: { row: Row; children: ReactNode }) {
  return <th scope="row">{row.link ? <Link href={row.link}>{children}</Link> : children}</th>;
}

export function Problem({ row }: { row: Row }) {
  return (
    <td>
      <LevelBadge level={row.level} /> {row.problem && <span className="problem">{row.problem}</span>}
    </td>
  );
}

export function VersionBanner({ h }: { h: Health }) {
  const v = h.versions;
  if (!v.mismatch) return null;
  return (
    <div className="notice health-versions" role="alert" aria-labelledby="versions-title">
      <strong id="versions-title">Sluice versions differ across workers</strong>
      <ul className="health-list">
        {v.versions.map((x) => (
          <li key={x.version}>
            <code>{x.version}</code> on {x.hosts.join(', ')} ({count(x.processes)}{' '}
            {x.processes === 1 ? 'process' : 'processes'}){x.version === v.expected ? ' — most run this' : ''}
          </li>
        ))}
      </ul>
      <p>
        Upgrade (or roll back) the workers marked below so that every process runs the same version; a worker
        on another version may handle tasks differently.
      </p>
    </div>
  );
}

/** Every row that is not ok, worst first, each linked: what to look at now. */
export function NeedsAction({ items }: { items: { part: string; name: string; row: Row }[] }) {
  const bad = items
    .filter((i) => i.row.level !== 'ok')
    .sort((a, b) => (a.row.level === b.row.level ? 0 : a.row.level === 'critical' ? -1 : 1));
  if (bad.length === 0) return <p className="health-ok">Everything checked is well.</p>;
  return (
    <ul className="health-list health-problems" aria-label="Needs action">
      {bad.map((i) => (
        <li key={`${i.part}:${i.name}`}>
          <LevelBadge level={i.row.level} /> <strong>{i.part}</strong>{' '}
          {i.row.link ? <Link href={i.row.link}>{i.name}</Link> : i.name}: {i.row.problem}
        </li>
      ))}
    </ul>
  );
}

export function Workers({ h }: { h: Health }) {
  if (h.workers.length === 0)
    return (
      <Empty title="No Sluice process has reported in the last 10 minutes">
        Start one with <code>sluice run</code>.
      </Empty>
    );
  return (
    <Table
      className="health-workers"
      label={{ id: 'workers-title' }}
      headers={['Process', 'Host', 'Role', 'Version', 'Tags', 'Heartbeat', 'Running', 'State']}
    >
      {h.workers.map((w) => (
        <tr key={w.id} className={w.state === 'alive' ? undefined : 'dead'}>
          <Named row={w}>{w.id}</Named>
          <td>{w.host}</td>
          <td>{w.role}</td>
          <td>
            <code>{w.version}</code> {w.version_differs && <Badge tone="warn">other version</Badge>}
          </td>
          <td>{w.tags.join(', ') || '—'}</td>
          <td>{duration(w.heartbeat_age_s)} ago</td>
          <td>{count(w.running)}</td>
          <td>
            <Badge tone={w.state === 'alive' ? 'good' : 'bad'}>{w.state}</Badge>{' '}
            {w.state !== 'alive' && <span className="problem">{w.problem}</span>}
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function Pools({ h }: { h: Health }) {
  return (
    <Table label={{ id: 'pools-title' }} headers={['Pool', 'Size', 'Busy', 'Waiting', 'State']}>
      {h.pools.map((p) => (
        <tr key={p.name}>
          <Named row={p}>{p.name}</Named>
          <td>
            {count(p.size)}
            {p.override !== null && <span className="muted"> (configured {count(p.configured)})</span>}
          </td>
          <td>{count(p.busy)}</td>
          <td>{count(p.waiting)}</td>
          <td>
            {p.paused ? <Badge tone="warn">paused</Badge> : <LevelBadge level={p.level} />} {p.problem}
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function Queues({ h }: { h: Health }) {
  if (h.queues.length === 0) return <Empty title="No task waits or runs" />;
  return (
    <Table
      label={{ id: 'queues-title' }}
      headers={['Kind', 'Pool', 'Waiting', 'Running', 'Oldest waiting', 'Workers that take it', 'State']}
    >
      {h.queues.map((q) => (
        <tr key={`${q.kind}/${q.pool}`}>
          <Named row={q}>{q.kind}</Named>
          <td>{q.pool}</td>
          <td>{count(q.queued)}</td>
          <td>{count(q.running)}</td>
          <td>
            {q.oldest ? (
              <>
                {q.oldest.subject ?? `task ${q.oldest.id}`}, {duration(q.oldest.waiting_s)}
                {q.oldest.tags.length > 0 && (
                  <span className="muted"> (tags {q.oldest.tags.join(', ')})</span>
                )}
              </>
            ) : (
              '—'
            )}
          </td>
          <td>{q.oldest ? count(q.takers) : '—'}</td>
          <Problem row={q} />
        </tr>
      ))}
    </Table>
  );
}

export function Instruments({ h }: { h: Health }) {
  if (h.instruments.length === 0) return <Empty title="No instruments configured" />;
  return (
    <Table
      label={{ id: 'instruments-health-title' }}
      headers={['Instrument', 'Online', 'Free space', 'Last new file', 'State']}
    >
      {h.instruments.map((i) => (
        <tr key={i.id}>
          <Named row={i}>{i.id}</Named>
          <td>
            {i.online === null ? (
              <Badge tone="muted">not checked yet</Badge>
            ) : (
              <Badge tone={i.online ? 'good' : 'bad'}>{i.online ? 'online' : 'offline'}</Badge>
            )}
          </td>
          <td>
            {bytes(i.free_bytes)}
            {i.total_bytes ? ` of ${bytes(i.total_bytes)}` : ''}
          </td>
          <td>
            <When at={i.last_new_file_at} />
          </td>
          <Problem row={i} />
        </tr>
      ))}
    </Table>
  );
}
