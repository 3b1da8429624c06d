/**
 * The file page's archive section (issue #20): the file's archive state per target, each archive
 * holding it with its members by kind (raw, job output, metrics; offset, size, sha256) and when it was verified, its retrievals, and
 * for operators a Retrieve button (POST /api/retrievals).
 */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { visibleText as visible } from '../../../../src/core/visible.ts';
import { ActionResult, Empty, roleRefusal } from '../../components/States.tsx';
import { Table } from '../../components/Table.tsx';
import { When } from '../../components/When.tsx';
import { bytes } from '../../lib/format.ts';
import { useAction } from '../../lib/mutation.ts';
import { can } from '../../lib/status.ts';
import { useMe } from '../../session.tsx';
import { type ApiArchive, type ApiMember, archiveApi, type FileArchivesAnswer } from './api.ts';
import { RequestedCells, RetrievalState } from './RetrievalState.tsx';

const LIVE = ['requested', 'restoring', 'downloading'];

function ArchiveCard({ a, members }: { a: ApiArchive; members: ApiMember[] }) {
  return (
    <article className="card copy">
      <h3>
        <a href={`/api/archives/${a.id}`}>archive {a.id}</a> on {a.target}{' '}
        <span
          className={`badge tone-${a.state === 'archived' ? 'good' : a.state === 'failed' ? 'bad' : 'working'}`}
        >
          {a.state}
        </span>
      </h3>
      <p>
        <code>{visible(a.location)}</code>
        {a.storage_class && <span className="muted"> · {a.storage_class}</span>}
      </p>
      <p className="muted">
        verified <When at={a.verified_at} never="not yet" />
        {a.last_fixity_at && ` · last read back ${a.last_fixity_ok ? 'matching' : 'NOT matching'} its hashes`}
        {a.reason && ` · ${visible(a.reason)}`}
      </p>
      <Table
        className="hashes"
        label={{ caption: `Members of this file in archive ${a.id}` }}
        headers={['Kind', 'Member', 'Size', 'Offset', 'sha256']}
      >
        {members.map((m) => (
          <tr key={m.path}>
            <td>{m.kind === 'output' ? `output (job ${m.job_row_id})` : (m.kind ?? 'raw')}</td>
            <td>{visible(m.path)}</td>
            <td className="num">{bytes(Number(m.size))}</td>
            <td className="num">{m.data_offset}</td>
            <td>
              <code className="hash">{m.sha256}</code>
            </td>
          </tr>
        ))}
      </Table>
    </article>
  );
}

function Retrieve({ id, d }: { id: string; d: FileArchivesAnswer }) {
  const me = useMe();
  const allowed = can(me.role, 'operator');
  const retrieve = useAction(
    () => archiveApi.retrieve({ files: [id] }),
    [['file-archives', id], ['retrievals']],
  );
  if (!d.archives.some((a) => a.state === 'archived')) return null;
  const refused = allowed ? undefined : roleRefusal(me.role, 'retrieve archived sets', 'operator');
  return (
    <div className="buttons">
      <button
        type="button"
        disabled={!allowed || retrieve.isPending}
        title={refused}
        onClick={() => retrieve.mutate(undefined)}
      >
        Retrieve
      </button>
      {refused && <p className="notice">{refused}</p>}
      <ActionResult
        error={retrieve.error}
        ok={retrieve.isSuccess ? 'Requested: its state is shown below.' : undefined}
      />
    </div>
  );
}

function Content({ id, d }: { id: string; d: FileArchivesAnswer }) {
  if (d.items.length === 0 && d.archives.length === 0)
    return <Empty title="Not archived">No archive policy chose this file (archive.policies).</Empty>;
  return (
    <>
      <ul className="plain">
        {d.items.map((i) => (
          <li key={i.target}>
            {i.target}:{' '}
            <span className={`badge tone-${i.state === 'archived' ? 'good' : 'waiting'}`}>{i.state}</span>
            {i.state === 'due' && (
              <span className="muted">
                {' '}
                due <When at={i.due_at} />
              </span>
            )}
            {i.last_error && <span className="reason"> {visible(i.last_error)}</span>}
          </li>
        ))}
      </ul>
      {d.archives.map((a) => (
        <ArchiveCard key={a.id} a={a} members={a.file_members} />
      ))}
      <Retrieve id={id} d={d} />
      {d.retrievals.length > 0 && (
        <Table
          headers={['Retrieval', 'State', 'Requested', 'Expires']}
          label={{ caption: 'Retrievals of this file' }}
        >
          {d.retrievals.map((r) => (
            <tr key={r.id}>
              <th scope="row">
                <Link href="/retrievals">{r.id}</Link>
              </th>
              <td>
                <RetrievalState r={r} />
              </td>
              <RequestedCells r={r} />
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}

export function FileArchives({ id }: { id: string }) {
  const q = useQuery({
    queryKey: ['file-archives', id],
    queryFn: () => archiveApi.ofFile(id),
    refetchInterval: (query) =>
      query.state.data?.retrievals.some((r) => LIVE.includes(r.state)) ? 2000 : false,
  });
  return (
    <section aria-labelledby="archive-title">
      <h2 id="archive-title">Archive</h2>
      {q.isPending ? (
        <p className="muted">Loading the archive state…</p>
      ) : q.isError ? (
        <ActionResult error={q.error} />
      ) : (
        <Content id={id} d={q.data} />
      )}
    </section>
  );
}
