/**
 * Data sets (issue #22): the list, and one data set with its samples and raw data (its own files and
 * those that measured its samples), with the RO-Crate export buttons (zip with the files, or the
 * metadata alone).
 */
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { request } from '../../api/client.ts';
import { QueryView } from '../../components/Query.tsx';
import { Table } from '../../components/Table.tsx';
import { When } from '../../components/When.tsx';
import { CatalogNav } from './Projects.tsx';
import type { ApiDataset, ApiDatasetContents } from './types.ts';

function DatasetList() {
  const sets = useQuery({
    queryKey: ['datasets'],
    queryFn: () => request<ApiDataset[]>('GET', '/api/datasets'),
  });
  return (
    <>
      <h1>Data sets</h1>
      <CatalogNav />
      <QueryView query={sets} loading="Loading data sets">
        {(rows) =>
          rows.length === 0 ? (
            <p className="muted">No data sets yet (`sluice datasets create`).</p>
          ) : (
            <Table
              headers={['Data set', 'Project', 'Description', 'Created']}
              label={{ caption: 'Data sets' }}
            >
              {rows.map((d) => (
                <tr key={d.id}>
                  <th scope="row">
                    <Link href={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>
                  </th>
                  <td>{d.project_id ?? '—'}</td>
                  <td>{d.description}</td>
                  <td>
                    <When at={d.created_at} />
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

function DatasetPage({ name }: { name: string }) {
  const d = useQuery({
    queryKey: ['dataset', name],
    queryFn: () => request<ApiDatasetContents>('GET', `/api/datasets/${encodeURIComponent(name)}`),
  });
  const exportUrl = (format: string) => `/api/datasets/${encodeURIComponent(name)}/export?format=${format}`;
  return (
    <>
      <p>
        <Link href="/datasets">← Data sets</Link>
      </p>
      <h1>Data set {name}</h1>
      <p>
        <a className="button" href={exportUrl('zip')} download>
          Export RO-Crate (zip)
        </a>{' '}
        <a className="button" href={exportUrl('metadata')} download>
          Export metadata (ro-crate-metadata.json)
        </a>
      </p>
      <QueryView query={d} loading="Loading the data set">
        {(c) => (
          <>
            <p>{c.dataset.description}</p>
            <h2 id="ds-samples">Samples</h2>
            <Table headers={['Refcode', 'Name', 'Project']} label={{ id: 'ds-samples' }}>
              {c.samples.map((s) => (
                <tr key={s.refcode}>
                  <th scope="row">
                    <Link href={`/samples/${encodeURIComponent(s.refcode)}`}>{s.refcode}</Link>
                  </th>
                  <td>{s.name}</td>
                  <td>{s.project_id}</td>
                </tr>
              ))}
            </Table>
            <h2 id="ds-files">Raw data</h2>
            <Table headers={['File', 'Instrument', 'Status', 'Measured']} label={{ id: 'ds-files' }}>
              {c.files.map((f) => (
                <tr key={f.id}>
                  <th scope="row">
                    <Link href={`/files/${encodeURIComponent(f.id)}`}>{f.name}</Link>
                  </th>
                  <td>{f.instrument_id}</td>
                  <td>{f.status}</td>
                  <td>{c.measured[f.id]?.join(', ') ?? '—'}</td>
                </tr>
              ))}
            </Table>
          </>
        )}
      </QueryView>
    </>
  );
}

export default function DatasetsPage() {
  const params = useParams<{ name?: string }>();
  return params.name ? <DatasetPage name={params.name} /> : <DatasetList />;
}
