/**
 * Retrievals of archived sets (issue #20): every request with its state (requested → restoring →
 * downloading → verified, or failed with why), download progress, where the set is and when the
 * copy expires; operators ask for sets back by file ids, a project and/or a date (POST
 * /api/retrievals). Requests for sets of one archive share one restore and one download.
 */
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'wouter';
import { visibleText as visible } from '../../../src/core/visible.ts';
import { QueryView } from '../components/Query.tsx';
import { ActionResult, roleRefusal } from '../components/States.tsx';
import { Table } from '../components/Table.tsx';
import { useAction } from '../lib/mutation.ts';
import { can } from '../lib/status.ts';
import { useMe } from '../session.tsx';
import { archiveApi, type FetchState, type RetrieveBody } from './archive/api.ts';
import { RequestedCells, RetrievalState } from './archive/RetrievalState.tsx';

const STATES: FetchState[] = ['requested', 'restoring', 'downloading', 'verified', 'failed', 'expired'];
const LIVE: FetchState[] = ['requested', 'restoring', 'downloading'];

/** The form's fields as the request: ids split on spaces, commas and new lines; a date as its day. */
export function retrieveBody(files: string, project: string, since: string): RetrieveBody {
  const ids = files.split(/[\s,]+/).filter(Boolean);
  return {
    ...(ids.length ? { files: ids } : {}),
    ...(project.trim() ? { project: project.trim() } : {}),
    ...(since ? { since: new Date(`${since}T00:00:00Z`).toISOString() } : {}),
  };
}

function RequestForm() {
  const me = useMe();
  const allowed = can(me.role, 'operator');
  const [files, setFiles] = useState('');
  const [project, setProject] = useState('');
  const [since, setSince] = useState('');
  // the file pages' archive sections show retrievals too
  const ask = useAction((b: RetrieveBody) => archiveApi.retrieve(b), [['retrievals'], ['file-archives']]);
  const refused = allowed ? undefined : roleRefusal(me.role, 'retrieve archived sets', 'operator');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    ask.mutate(retrieveBody(files, project, since));
  };
  const notArchived = ask.data?.not_archived ?? [];
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="request-title">
      <h2 id="request-title">Retrieve</h2>
      {refused && <p className="notice">{refused}</p>}
      <label>
        File ids (spaces, commas or lines between them)
        <textarea value={files} onChange={(e) => setFiles(e.target.value)} rows={2} disabled={!allowed} />
      </label>
      <label>
        Project
        <input value={project} onChange={(e) => setProject(e.target.value)} disabled={!allowed} />
      </label>
      <label>
        Acquired since
        <input type="date" value={since} onChange={(e) => setSince(e.target.value)} disabled={!allowed} />
      </label>
      <button type="submit" disabled={!allowed || ask.isPending}>
        Request retrieval
      </button>
      <ActionResult
        error={ask.error}
        ok={
          ask.data &&
          `Requested ${ask.data.retrievals.length} set(s)${notArchived.length ? `; not archived: ${notArchived.join(', ')}` : ''}.`
        }
      />
    </form>
  );
}

export default function RetrievalsPage() {
  const [state, setState] = useState('');
  const list = useQuery({
    queryKey: ['retrievals', state],
    queryFn: () => archiveApi.retrievals(state || undefined),
    refetchInterval: (q) => (q.state.data?.some((r) => LIVE.includes(r.state)) ? 2000 : 15_000),
  });
  return (
    <>
      <h1>Retrievals</h1>
      <p className="muted">
        Archived sets brought back into the retrieval area, every member checked against its recorded hash.
        Copies are removed when they expire; asking again extends them.
      </p>
      <RequestForm />
      <label>
        State{' '}
        <select value={state} onChange={(e) => setState(e.target.value)}>
          <option value="">all</option>
          {STATES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <QueryView query={list} loading="Loading retrievals">
        {(rows) =>
          rows.length === 0 ? (
            <p className="muted">No retrievals {state ? `in state ${state}` : 'yet'}.</p>
          ) : (
            <Table
              headers={['File', 'Archive', 'State', 'Where', 'Requested', 'Expires']}
              label={{ caption: 'Retrievals' }}
            >
              {rows.map((r) => (
                <tr key={r.id}>
                  <th scope="row">
                    <Link href={`/files/${encodeURIComponent(r.file_id)}`}>{visible(r.file_id)}</Link>
                  </th>
                  <td>
                    <a href={`/api/archives/${r.archive_id}`}>{r.archive_id}</a>
                  </td>
                  <td>
                    <RetrievalState r={r} />
                  </td>
                  <td>{r.set_path ? <code>{visible(r.set_path)}</code> : '—'}</td>
                  <RequestedCells r={r} />
                </tr>
              ))}
            </Table>
          )
        }
      </QueryView>
    </>
  );
}
