/**
 * Catalog projects (issue #22): the list of projects the caller may see, and one project's page with
 * its members, samples, newest files, a QC summary of its samples' runs, and (operators) the sample
 * sheet import form.
 */
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { request, withQuery } from '../../api/client.ts';
import type { FilesPage } from '../../api/types.ts';
import { QueryView } from '../../components/Query.tsx';
import { When } from '../../components/When.tsx';
import { useMe } from '../../session.tsx';
import { ImportForm } from './ImportForm.tsx';
import { ListCard } from './ListCard.tsx';
import type { ApiProject, ApiSample } from './types.ts';

export function CatalogNav() {
  return (
    <p className="muted">
      <Link href="/projects">Projects</Link> · <Link href="/datasets">Data sets</Link> ·{' '}
      <Link href="/search">Search</Link>
    </p>
  );
}

function ProjectList() {
  const projects = useQuery({
    queryKey: ['projects'],
    queryFn: () => request<ApiProject[]>('GET', '/api/projects'),
  });
  return (
    <>
      <h1>Projects</h1>
      <CatalogNav />
      <ListCard
        query={projects}
        loading="Loading projects"
        rows={(rows) => rows}
        title={{ caption: 'Projects' }}
        rowKey={(p) => p.id}
        columns={[
          {
            header: 'Project',
            cell: (p) => <Link href={`/projects/${encodeURIComponent(p.id)}`}>{p.id}</Link>,
          },
          { header: 'Name', cell: (p) => p.name },
          { header: 'Visibility', cell: (p) => p.visibility },
          { header: 'Members', cell: (p) => p.members.join(', ') || '—' },
        ]}
      />
    </>
  );
}

function ProjectSamples({ id }: { id: string }) {
  const samples = useQuery({
    queryKey: ['samples', id],
    queryFn: () => request<ApiSample[]>('GET', withQuery('/api/samples', { project: id, limit: 500 })),
  });
  return (
    <ListCard
      query={samples}
      loading="Loading samples"
      rows={(rows) => rows}
      title={{ id: 'samples-h', text: 'Samples' }}
      empty="No samples yet."
      rowKey={(s) => s.refcode}
      columns={[
        {
          header: 'Refcode',
          cell: (s) => <Link href={`/samples/${encodeURIComponent(s.refcode)}`}>{s.refcode}</Link>,
        },
        { header: 'Name', cell: (s) => s.name },
        { header: 'Type', cell: (s) => s.type ?? '—' },
        {
          header: 'Attributes',
          cell: (s) =>
            Object.entries(s.attributes)
              .map(([k, v]) => `${k}: ${String(v)}`)
              .join(', '),
        },
      ]}
    />
  );
}

function ProjectFiles({ id }: { id: string }) {
  const files = useQuery({
    queryKey: ['files', 'project', id],
    queryFn: () => request<FilesPage>('GET', withQuery('/api/files', { project: id, limit: 20 })),
  });
  return (
    <ListCard
      query={files}
      loading="Loading files"
      rows={(page) => page.items}
      title={{ id: 'files-h', text: 'Newest files' }}
      empty="No files yet."
      rowKey={(f) => f.id}
      columns={[
        { header: 'File', cell: (f) => <Link href={`/files/${encodeURIComponent(f.id)}`}>{f.name}</Link> },
        { header: 'Instrument', cell: (f) => f.instrument_id },
        { header: 'Status', cell: (f) => f.status },
        { header: 'Found', cell: (f) => <When at={f.created_at} /> },
      ]}
      footer={
        <p>
          <Link href={`/files?project=${encodeURIComponent(id)}`}>All files of {id}</Link> ·{' '}
          <a href={withQuery('/api/files.csv', { project: id })}>CSV</a>
        </p>
      }
    />
  );
}

function ProjectPage({ id }: { id: string }) {
  const me = useMe();
  const projects = useQuery({
    queryKey: ['projects'],
    queryFn: () => request<ApiProject[]>('GET', '/api/projects'),
  });
  return (
    <>
      <p>
        <Link href="/projects">← Projects</Link>
      </p>
      <h1>Project {id}</h1>
      <QueryView query={projects} loading="Loading the project">
        {(rows) => {
          const p = rows.find((r) => r.id === id);
          if (!p) return <p role="alert">No project '{id}' (or not one you may see).</p>;
          return (
            <>
              <dl>
                <dt>Name</dt>
                <dd>{p.name}</dd>
                <dt>Visibility</dt>
                <dd>{p.visibility === 'members' ? 'members only' : 'everyone'}</dd>
                <dt>Members</dt>
                <dd>{p.members.join(', ') || '—'}</dd>
              </dl>
              <ProjectSamples id={id} />
              <ProjectFiles id={id} />
              <p>
                <Link href={`/qc`}>QC charts</Link> ·{' '}
                <Link href={`/search?project=${encodeURIComponent(id)}`}>Search this project</Link>
              </p>
              {me.role !== 'viewer' && <ImportForm />}
            </>
          );
        }}
      </QueryView>
    </>
  );
}

export default function ProjectsPage() {
  const params = useParams<{ id?: string }>();
  return params.id ? <ProjectPage id={params.id} /> : <ProjectList />;
}
