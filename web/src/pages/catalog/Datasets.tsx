/**
 * Data sets (issue #22): the list, and one data set with its samples and raw data (its own files and
 * those that measured its samples), with the RO-Crate export buttons (zip with the files, or the
 * metadata alone).
 */
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { request } from '../../api/client.ts';
import { QueryView } from '../../components/Query.tsx';
import { When } from '../../components/When.tsx';
import { ListCard, ListTable } from './ListCard.tsx';
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
      <ListCard
        query={sets}
        loading="Loading data sets"
        rows={(rows) => rows}
        title={{ caption: 'Data sets' }}
        empty="No data sets yet (`sluice datasets create`)."
        rowKey={(d) => String(d.id)}
        columns={[
          {
            header: 'Data set',
            cell: (d) => <Link href={`/datasets/${encodeURIComponent(d.name)}`}>{d.name}</Link>,
          },
          { header: 'Project', cell: (d) => d.project_id ?? '—' },
          { header: 'Description', cell: (d) => d.description },
          { header: 'Created', cell: (d) => <When at={d.created_at} /> },
        ]}
      />
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
            <ListTable
              rows={c.samples}
              rowKey={(x) => x.refcode}
              label={{ id: 'ds-samples' }}
              columns={[
                {
                  header: 'Refcode',
                  cell: (x) => <Link href={`/samples/${encodeURIComponent(x.refcode)}`}>{x.refcode}</Link>,
                },
                { header: 'Name', cell: (x) => x.name },
                { header: 'Project', cell: (x) => x.project_id },
              ]}
            />
            <h2 id="ds-files">Raw data</h2>
            <ListTable
              rows={c.files}
              rowKey={(f) => f.id}
              label={{ id: 'ds-files' }}
              columns={[
                {
                  header: 'File',
                  cell: (f) => <Link href={`/files/${encodeURIComponent(f.id)}`}>{f.name}</Link>,
                },
                { header: 'Instrument', cell: (f) => f.instrument_id },
                { header: 'Status', cell: (f) => f.status },
                { header: 'Measured', cell: (f) => c.measured[f.id]?.join(', ') ?? '—' },
              ]}
            />
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
