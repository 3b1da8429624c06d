/**
 * The Health page's tables of where data goes: backup and archive targets, streams and the outbox,
 * the database's own backups, and the alerts that hold now.
 */
import { Link } from 'wouter';
import { Badge } from '../../components/Badge.tsx';
import { Empty } from '../../components/States.tsx';
import { Table } from '../../components/Table.tsx';
import { When } from '../../components/When.tsx';
import { count } from '../../lib/format.ts';
import { duration, type Health, LevelBadge, Named, Problem } from './parts.tsx';

export function Targets({ h }: { h: Health }) {
  return (
    <Table
      label={{ id: 'targets-title' }}
      headers={['Target', 'Kind', 'State', 'Pending', 'Last verified', 'Oldest re-read', 'Detail']}
    >
      {h.targets.map((t) => (
        <tr key={`${t.role}:${t.name}`}>
          <Named row={t}>{t.name}</Named>
          <td>
            {t.role} · {t.type}
          </td>
          <td>
            <LevelBadge level={t.level} ok={t.state} />{' '}
            {t.problem && <span className="problem">{t.problem}</span>}
          </td>
          <td>{count(t.pending)}</td>
          <td>
            <When at={t.last_verified_at} />
          </td>
          <td>{t.role === 'backup' ? <When at={t.oldest_read_at} /> : '—'}</td>
          <td>{t.detail ?? '—'}</td>
        </tr>
      ))}
    </Table>
  );
}

export function Streams({ h }: { h: Health }) {
  const o = h.outbox;
  return (
    <>
      {h.streams.length === 0 ? (
        <p className="muted">No stream sources are configured (streams.sources).</p>
      ) : (
        <Table
          label={{ id: 'streams-health-title' }}
          headers={['Source', 'Stream', 'Lag', 'Dead letters', 'State']}
        >
          {h.streams.map((s) => (
            <tr key={s.source}>
              <Named row={s}>{s.source}</Named>
              <td>{s.stream}</td>
              <td>{s.nats_error ? '—' : count(s.lag)}</td>
              <td>{count(s.dead_letters)}</td>
              <Problem row={s} />
            </tr>
          ))}
        </Table>
      )}
      <p>
        Outbox of Sluice's events:{' '}
        {o.configured ? (
          <>
            {o.enabled ? 'publishing' : 'paused'}, {count(o.pending)} pending
            {o.oldest_pending_s !== null && `, the oldest ${duration(o.oldest_pending_s)}`}{' '}
            <LevelBadge level={o.level} /> {o.problem} <Link href="/streams">streams page</Link>
          </>
        ) : (
          'off (streams.publish is not configured)'
        )}
      </p>
    </>
  );
}

export function DbBackups({ h }: { h: Health }) {
  if (h.db_backups.length === 0)
    return (
      <p className="notice">
        No backup strategy for Sluice's database is configured (<code>database.backups</code>); see
        docs/backups.md.
      </p>
    );
  return (
    <Table
      label={{ id: 'db-backups-title' }}
      headers={['Strategy', 'Last success', 'Age', 'Last run', 'State']}
    >
      {h.db_backups.map((b) => (
        <tr key={b.strategy}>
          <Named row={b}>{b.strategy}</Named>
          <td>
            <When at={b.last_success_at} />
          </td>
          <td>{duration(b.age_s)}</td>
          <td>{b.enabled ? (b.last_state ?? 'not run yet') : <Badge tone="muted">disabled</Badge>}</td>
          <Problem row={b} />
        </tr>
      ))}
    </Table>
  );
}

export function Alerts({ h }: { h: Health }) {
  if (h.alerts.length === 0) return <Empty title="No alert rule holds now" />;
  return (
    <Table label={{ id: 'alerts-title' }} headers={['Alert', 'Rule', 'Severity', 'Last sent']}>
      {h.alerts.map((a) => (
        <tr key={`${a.rule}:${a.subject}`}>
          <Named row={a}>{a.title}</Named>
          <td>
            <code>{a.rule}</code>
          </td>
          <td>
            {a.suppressed ? (
              <Badge tone="muted">suppressed</Badge>
            ) : (
              <Badge tone={a.severity === 'critical' ? 'bad' : 'warn'}>{a.severity}</Badge>
            )}
          </td>
          <td>
            <When at={a.last_sent_at} never="not sent yet" />
          </td>
        </tr>
      ))}
    </Table>
  );
}
