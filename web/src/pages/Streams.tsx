/**
 * Streams (issue #21): each stream source with its items, rates, lag, unacknowledged and redelivered
 * messages and dead letters (`GET /api/streams`, the figures of `sluice streams status`), the units
 * with their results and rejections, the outbox of Sluice's own file events, and the newest dead
 * letters with their reason (`GET /api/streams/dead-letters`). Viewers and up.
 */
import { useQuery } from '@tanstack/react-query';
import type { StreamsOverview } from '../../../src/streams/overview.ts';
import type { DeadLetterRow } from '../../../src/streams/repo.ts';
import { request } from '../api/client.ts';
import { Badge } from '../components/Badge.tsx';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { Table } from '../components/Table.tsx';
import { count, dateTime } from '../lib/format.ts';

const get = <T,>(path: string) => request<T>('GET', path);

function Sources({ o }: { o: StreamsOverview }) {
  if (o.sources.length === 0) return <Empty title="No stream sources are configured (streams.sources)" />;
  return (
    <Table
      className="streams"
      label={{ id: 'sources-title' }}
      headers={[
        'Source',
        'Items',
        'Last 5 min / hour',
        'Lag',
        'Unacknowledged',
        'Redelivered',
        'Dead letters',
      ]}
    >
      {o.sources.map((s) => (
        <tr key={s.source}>
          <th scope="row">{s.source}</th>
          <td>{count(s.items)}</td>
          <td>
            {count(s.items_last_5m)} / {count(s.items_last_1h)}
          </td>
          {s.nats_error ? (
            <td colSpan={3} title={s.nats_error}>
              <Badge tone="bad">NATS unreachable</Badge>
            </td>
          ) : (
            <>
              <td>{count(s.lag)}</td>
              <td>{count(s.unacknowledged)}</td>
              <td>{count(s.redelivered)}</td>
            </>
          )}
          <td>{count(s.dead_letters)}</td>
        </tr>
      ))}
    </Table>
  );
}

function Units({ o }: { o: StreamsOverview }) {
  if (o.units.length === 0) return <Empty title="No units are configured (streams.units)" />;
  return (
    <Table label={{ id: 'units-title' }} headers={['Unit', 'Kind', 'Config hash', 'Results', 'Rejections']}>
      {o.units.map((u) => (
        <tr key={u.name}>
          <th scope="row">{u.name}</th>
          <td>{u.kind}</td>
          <td>
            <code>{u.config_hash}</code>
          </td>
          <td>{count(u.results)}</td>
          <td>{count(u.rejections)}</td>
        </tr>
      ))}
    </Table>
  );
}

function Outbox({ o }: { o: StreamsOverview }) {
  const b = o.outbox;
  if (!b.configured) return <p className="notice">Off: streams.publish is not configured.</p>;
  return (
    <dl className="facts" aria-label="Outbox">
      <dt>Stream</dt>
      <dd>
        {b.stream} (subjects <code>{b.subject_prefix}.file.&gt;</code>)
      </dd>
      <dt>Waiting to be published</dt>
      <dd>
        {count(b.pending)}
        {b.oldest_pending_seconds !== null ? ` (oldest ${Math.round(b.oldest_pending_seconds)} s)` : ''}
      </dd>
      <dt>Published, kept</dt>
      <dd>{count(b.published)}</dd>
    </dl>
  );
}

function DeadLetters() {
  const q = useQuery({
    queryKey: ['streams', 'dead-letters'],
    queryFn: () => get<DeadLetterRow[]>('/api/streams/dead-letters?limit=50'),
    refetchInterval: 30_000,
  });
  if (q.isError) return <ErrorState error={q.error} retry={() => void q.refetch()} />;
  if (!q.data) return <Loading />;
  if (q.data.length === 0) return <Empty title="No dead letters" />;
  return (
    <Table
      label={{ id: 'dead-title' }}
      headers={['Source', 'Sequence', 'Subject', 'Deliveries', 'Reason', 'When']}
    >
      {q.data.map((d) => (
        <tr key={d.id}>
          <th scope="row">{d.source}</th>
          <td>{d.stream_seq}</td>
          <td>
            <code>{d.subject}</code>
          </td>
          <td>{d.deliveries}</td>
          <td title={d.data}>{d.reason}</td>
          <td>{dateTime(d.at)}</td>
        </tr>
      ))}
    </Table>
  );
}

export default function StreamsPage() {
  const q = useQuery({
    queryKey: ['streams'],
    queryFn: () => get<StreamsOverview>('/api/streams'),
    refetchInterval: 10_000,
  });
  return (
    <>
      <h1>Streams</h1>
      {q.isError ? (
        <ErrorState error={q.error} retry={() => void q.refetch()} />
      ) : !q.data ? (
        <Loading />
      ) : (
        <>
          <section aria-labelledby="sources-title">
            <h2 id="sources-title">Stream sources</h2>
            <Sources o={q.data} />
          </section>
          <section aria-labelledby="units-title">
            <h2 id="units-title">Units</h2>
            <Units o={q.data} />
          </section>
          <section aria-labelledby="outbox-title">
            <h2 id="outbox-title">Outbox of file events</h2>
            <Outbox o={q.data} />
          </section>
        </>
      )}
      <section aria-labelledby="dead-title">
        <h2 id="dead-title">Dead letters</h2>
        <DeadLetters />
      </section>
    </>
  );
}
