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
import { Table } from '../../components/Table.tsx';
import { When } from '../../components/When.tsx';
import { useMe } from '../../session.tsx';
import { ImportForm } from './ImportForm.tsx';
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
      <QueryView query={projects} loading="Loading projects">
        {(rows) => (
          <Table headers={['Project', 'Name', 'Visibility', 'Members']} label={{ caption: 'Projects' }}>
            {rows.map((p) => (
              <tr key={p.id}>
                <th scope="row">
                  <Link href={`/projects/${encodeURIComponent(p.id)}`}>{p.id}</Link>
                </th>
                <td>{p.name}</td>
                <td>{p.visibility}</td>
                <td>{p.members.join(', ') || '—'}</td>
              </tr>
            ))}
          </Table>
        )}
      </QueryView>
    </>
  );
}

function ProjectSamples({ id }: { id: string }) {
  const samples = useQuery({
    queryKey: ['samples', id],
    queryFn: () => request<ApiSample[]>('GET', withQuery('/api/samples', { project: id, limit: 500 })),
  });
  return (
    <section aria-labelledby="samples-h">
      <h2 id="samples-h">Samples</h2>
      <QueryView query={samples} loading="Loading samples">
        {(rows) =>
          rows.length === 0 ? (
            <p className="muted">No samples yet.</p>
          ) : (
            <Table headers={['Refcode', 'Name', 'Type', 'Attributes']} label={{ id: 'samples-h' }}>
              {rows.map((s) => (
                <tr key={s.refcode}>
                  <th scope="row">
                    <Link href={`/samples/${encodeURIComponent(s.refcode)}`}>{s.refcode}</Link>
                  </th>
                  <td>{s.name}</td>
                  <td>{s.type ?? '—'}</td>
                  <td>
                    {Object.entries(s.attributes)
                      .map(([k, v]) => `${k}: ${String(v)}`)
                      .join(', ')}
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </QueryView>
    </section>
  );
}

function ProjectFiles({ id }: { id: string }) {
  const files = useQuery({
    queryKey: ['files', 'project', id],
    queryFn: () => request<FilesPage>('GET', withQuery('/api/files', { project: id, limit: 20 })),
  });
  return (
    <section aria-labelledby="files-h">
      <h2 id="files-h">Newest files</h2>
      <QueryView query={files} loading="Loading files">
        {(page) =>
          page.items.length === 0 ? (
            <p className="muted">No files yet.</p>
          ) : (
            <Table headers={['File', 'Instrument', 'Status', 'Found']} label={{ id: 'files-h' }}>
              {page.items.map((f) => (
                <tr key={f.id}>
                  <th scope="row">
                    <Link href={`/files/${encodeURIComponent(f.id)}`}>{f.name}</Link>
                  </th>
                  <td>{f.instrument_id}</td>
                  <td>{f.status}</td>
                  <td>
                    <When at={f.created_at} />
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </QueryView>
      <p>
        <Link href={`/files?project=${encodeURIComponent(id)}`}>All files of {id}</Link> ·{' '}
        <a href={withQuery('/api/files.csv', { project: id })}>CSV</a>
      </p>
    </section>
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
