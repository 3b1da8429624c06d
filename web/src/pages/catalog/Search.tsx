/**
 * Catalog search (issue #22): one box over sample refcodes, names and attributes, file names and
 * projects, with a project filter and the kinds to search; every result links to its page. The term
 * and filters live in the address, so a search can be shared.
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { request, withQuery } from '../../api/client.ts';
import { QueryView } from '../../components/Query.tsx';
import { CatalogNav } from './Projects.tsx';
import type { ApiSearch } from './types.ts';

const KINDS = ['samples', 'files', 'projects'] as const;

function Results({ r }: { r: ApiSearch }) {
  return (
    <>
      <h2>Samples ({r.samples.length})</h2>
      <ul>
        {r.samples.map((s) => (
          <li key={s.refcode}>
            <Link href={`/samples/${encodeURIComponent(s.refcode)}`}>{s.refcode}</Link> {s.name}{' '}
            <span className="muted">({s.project_id})</span>
          </li>
        ))}
      </ul>
      <h2>Files ({r.files.length})</h2>
      <ul>
        {r.files.map((f) => (
          <li key={f.id}>
            <Link href={`/files/${encodeURIComponent(f.id)}`}>{f.name}</Link>{' '}
            <span className="muted">({f.project_id})</span>
          </li>
        ))}
      </ul>
      <h2>Projects ({r.projects.length})</h2>
      <ul>
        {r.projects.map((p) => (
          <li key={p.id}>
            <Link href={`/projects/${encodeURIComponent(p.id)}`}>{p.id}</Link> {p.name}
          </li>
        ))}
      </ul>
    </>
  );
}

export default function SearchPage() {
  const params = new URLSearchParams(useSearch());
  const [, navigate] = useLocation();
  const q = params.get('q') ?? '';
  const project = params.get('project') ?? '';
  const kinds = params.get('kinds') ?? '';
  const [term, setTerm] = useState(q);
  const [proj, setProj] = useState(project);
  const [kind, setKind] = useState(kinds);
  const results = useQuery({
    queryKey: ['search', q, project, kinds],
    queryFn: () => request<ApiSearch>('GET', withQuery('/api/search', { q, project, kinds, limit: 50 })),
    enabled: q.length > 0,
  });
  return (
    <>
      <h1>Search</h1>
      <CatalogNav />
      <form
        aria-label="Search the catalog"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(withQuery('/search', { q: term.trim(), project: proj.trim(), kinds: kind }));
        }}
      >
        <label>
          Search <input type="search" value={term} onChange={(e) => setTerm(e.target.value)} />
        </label>{' '}
        <label>
          Project <input value={proj} onChange={(e) => setProj(e.target.value)} size={10} />
        </label>{' '}
        <label>
          Kind{' '}
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">all</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="submit">Search</button>
      </form>
      {q && (
        <QueryView query={results} loading="Searching">
          {(r) => <Results r={r} />}
        </QueryView>
      )}
    </>
  );
}
