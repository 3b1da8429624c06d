/**
 * Stream items (issue #21): the newest items with their channels and numbers of results, and one
 * item with its payload, rejections and every result row (its history: unit, version, config hash).
 */
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { request, withQuery } from '../api/client.ts';
import { QueryView } from '../components/Query.tsx';
import { Table } from '../components/Table.tsx';
import { When } from '../components/When.tsx';

interface ApiItem {
  id: string;
  source: string;
  stream_seq: number;
  subject: string;
  payload: unknown;
  channels: string[];
  received_at: string;
}
interface ApiListedItem extends ApiItem {
  results: number;
  rejections: number;
}
interface ApiItemDetail extends ApiItem {
  results: {
    id: string;
    unit: string;
    unit_version: string;
    config_hash: string;
    result: unknown;
    at: string;
  }[];
  rejections: { channel: string; unit: string; unit_version: string; reason: string; at: string }[];
}

function ItemList() {
  const items = useQuery({
    queryKey: ['items'],
    queryFn: () => request<ApiListedItem[]>('GET', withQuery('/api/items', { limit: 200 })),
    refetchInterval: 10_000,
  });
  return (
    <>
      <h1>Items</h1>
      <QueryView query={items} loading="Loading items">
        {(rows) =>
          rows.length === 0 ? (
            <p className="muted">No stream items stored yet (streams.sources in the config).</p>
          ) : (
            <Table
              headers={['Item', 'Source', 'Seq', 'Subject', 'Channels', 'Results', 'Rejections', 'Received']}
              label={{ caption: 'Stream items' }}
            >
              {rows.map((i) => (
                <tr key={i.id}>
                  <th scope="row">
                    <Link href={`/items/${i.id}`}>{i.id}</Link>
                  </th>
                  <td>{i.source}</td>
                  <td className="num">{i.stream_seq}</td>
                  <td>{i.subject}</td>
                  <td>{i.channels.join(', ') || '—'}</td>
                  <td className="num">{i.results}</td>
                  <td className="num">{i.rejections}</td>
                  <td>
                    <When at={i.received_at} />
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </QueryView>
    </>
  );
}

function ItemDetail({ id }: { id: string }) {
  const item = useQuery({
    queryKey: ['item', id],
    queryFn: () => request<ApiItemDetail>('GET', `/api/items/${encodeURIComponent(id)}`),
  });
  return (
    <>
      <p>
        <Link href="/items">← Items</Link>
      </p>
      <h1>Item {id}</h1>
      <QueryView query={item} loading="Loading the item">
        {(it) => (
          <>
            <p>
              {it.source} · seq {it.stream_seq} · {it.subject} · received <When at={it.received_at} /> ·
              channels {it.channels.join(', ') || '—'}
            </p>
            <pre className="payload">{JSON.stringify(it.payload, null, 2)}</pre>
            <h2 id="results-title">Results (history)</h2>
            <Table
              headers={['Unit', 'Version', 'Config hash', 'Result', 'At']}
              label={{ id: 'results-title' }}
            >
              {it.results.map((r) => (
                <tr key={r.id}>
                  <th scope="row">{r.unit}</th>
                  <td>{r.unit_version}</td>
                  <td>
                    <code>{r.config_hash}</code>
                  </td>
                  <td>
                    <code>{JSON.stringify(r.result)}</code>
                  </td>
                  <td>
                    <When at={r.at} />
                  </td>
                </tr>
              ))}
            </Table>
            {it.rejections.length > 0 && (
              <>
                <h2 id="rejections-title">Rejected by</h2>
                <Table headers={['Channel', 'Unit', 'Version', 'Reason']} label={{ id: 'rejections-title' }}>
                  {it.rejections.map((r) => (
                    <tr key={r.channel}>
                      <th scope="row">{r.channel}</th>
                      <td>{r.unit}</td>
                      <td>{r.unit_version}</td>
                      <td>{r.reason}</td>
                    </tr>
                  ))}
                </Table>
              </>
            )}
          </>
        )}
      </QueryView>
    </>
  );
}

export default function ItemsPage() {
  const params = useParams<{ id?: string }>();
  return params.id ? <ItemDetail id={params.id} /> : <ItemList />;
}
