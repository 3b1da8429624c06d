/** One file: what it is, what happened to it (timeline), its copies, jobs and metrics, and actions. */
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { Link } from 'wouter';
import { visibleText as visible, visibleLines } from '../../../src/core/visible.ts';
import { api } from '../api/client.ts';
import type { ApiCopy, ApiJob, FileDetail } from '../api/types.ts';
import { JobBadge, StatusBadge } from '../components/Badge.tsx';
import { ConfirmButton } from '../components/Confirm.tsx';
import { ActionResult, Empty, ErrorState, Loading, roleRefusal } from '../components/States.tsx';
import { Table } from '../components/Table.tsx';
import { When } from '../components/When.tsx';
import { bytes, count, dateTime, metricValue, relative } from '../lib/format.ts';
import { useAction } from '../lib/mutation.ts';
import { can } from '../lib/status.ts';
import { useMe } from '../session.tsx';
import { FileArchives } from './archive/FileArchives.tsx';

const ACTIVE_JOB = ['new', 'submitting', 'PENDING', 'RUNNING'];
/** Work on the file is under way: no retry (src/files/actions.ts). */
const BUSY = ['discovered', 'acquiring', 'backing_up', 'processing'];
const MANIFEST_SHOWN = 20;

/** The id from the address bar, decoded once (ids may contain `%`, `#`, `?`). */
function fileIdFromPath(): string {
  const raw = window.location.pathname.replace(/^\/files\//, '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Facts({ d }: { d: FileDetail }) {
  const f = d.file;
  return (
    <dl className="facts">
      <Fact label="Instrument">{f.instrument_id}</Fact>
      <Fact label="Project">{f.project_id}</Fact>
      <Fact label="Size">{bytes(f.size_bytes)}</Fact>
      <Fact label="Kind">
        {f.kind === 'files' ? `main file + ${f.companions.length} companions` : f.kind}
      </Fact>
      <Fact label="Discovered">
        <When at={f.created_at} />
      </Fact>
      <Fact label="Acquired">
        <When at={f.acquired_at} never="—" />
      </Fact>
      <Fact label="Last change">
        <When at={f.updated_at} />
      </Fact>
      <Fact label="On the instrument">{f.instrument_copy}</Fact>
      <Fact label="Found at">
        <code>{visible(f.source_path)}</code>
      </Fact>
      <Fact label="Now at">{f.current_path ? <code>{visible(f.current_path)}</code> : '—'}</Fact>
      <Fact label="Hash">{f.hash_algorithm ?? '—'}</Fact>
      <Fact label="Files inside">{f.manifest_entries === null ? '—' : count(f.manifest_entries)}</Fact>
    </dl>
  );
}

/** The file's metrics, each linking to its QC chart on this instrument. */
function FileMetrics({ d }: { d: FileDetail }) {
  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics</h2>
      {d.metrics.length === 0 ? (
        <Empty title="No metrics">Metrics are read from a finished processing job's output.</Empty>
      ) : (
        <Table headers={['Metric', 'Value', 'Settings']}>
          {d.metrics.map((m) => (
            <tr key={`${m.settings_name}/${m.settings_version}/${m.name}`}>
              <td>
                <Link href={`/qc?names=${encodeURIComponent(m.name)}&instrument=${d.file.instrument_id}`}>
                  {m.name}
                </Link>
              </td>
              <td className="num">
                {metricValue(m.value)}
                {m.unit && m.value !== null ? ` ${m.unit}` : ''}
              </td>
              <td>
                {m.settings_name} v{m.settings_version}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

function Actions({ d }: { d: FileDetail }) {
  const me = useMe();
  const allowed = can(me.role, 'operator');
  const id = d.file.id;
  const refresh = [['file', id], ['files']];
  const retry = useAction(() => api.retry(id), refresh);
  const ignore = useAction((reason: string) => api.ignore(id, reason || undefined), refresh);
  const overwrite = useAction(() => api.acceptOverwrite(id), refresh);
  const [reason, setReason] = useState('');
  const last = [retry, ignore, overwrite].find((m) => m.isError || m.isSuccess);
  const refused = allowed ? undefined : roleRefusal(me.role, 'act on files', 'operator');
  // what the file's state allows, as src/files/actions.ts decides (a 409 with the reason otherwise)
  const offers = {
    retry: !BUSY.includes(d.file.status),
    ignore: d.file.status !== 'ignored',
    overwrite: d.file.status === 'error' && /differs from the source/.test(d.file.status_reason ?? ''),
  };
  return (
    <section aria-labelledby="actions-title" className="card actions">
      <h2 id="actions-title">Actions</h2>
      {refused && <p className="notice">{refused}</p>}
      <div className="buttons">
        {offers.retry && (
          <ConfirmButton
            label="Retry"
            title={`Retry ${visible(d.file.name)}?`}
            disabled={!allowed}
            disabledReason={refused}
            onConfirm={() => retry.mutate(undefined)}
          >
            It runs again from its verified backup when there is one, otherwise from the instrument.
          </ConfirmButton>
        )}
        {offers.ignore && (
          <ConfirmButton
            label="Ignore"
            title={`Ignore ${visible(d.file.name)}?`}
            danger
            disabled={!allowed}
            disabledReason={refused}
            onConfirm={() => ignore.mutate(reason)}
          >
            <p>All work on it stops. Retry undoes this.</p>
            <label>
              Reason (shown in the timeline)
              <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
            </label>
          </ConfirmButton>
        )}
        {offers.overwrite && (
          <ConfirmButton
            label="Accept overwrite"
            title="Replace the differing backup?"
            danger
            disabled={!allowed}
            disabledReason={refused}
            onConfirm={() => overwrite.mutate(undefined)}
          >
            The existing backup differs from this file. It is kept, renamed, and the file is backed up again.
          </ConfirmButton>
        )}
      </div>
      <ActionResult
        error={last?.error}
        ok={last?.isSuccess ? 'Done: the timeline below shows the change.' : undefined}
      />
    </section>
  );
}

function Timeline({ d }: { d: FileDetail }) {
  if (d.events.length === 0) return <Empty title="No events recorded for this file" />;
  return (
    <ol className="timeline">
      {d.events.map((e) => (
        <li key={e.id}>
          <time dateTime={e.at} title={dateTime(e.at)}>
            {dateTime(e.at)}
          </time>
          <div>
            {e.to_state ? (
              <span className="transition">
                {e.from_state ? <StatusBadge status={e.from_state} /> : <span className="muted">new</span>}
                <span aria-hidden="true"> → </span>
                <span className="sr-only">to</span>
                <StatusBadge status={e.to_state} />
              </span>
            ) : (
              <span className="muted">note</span>
            )}{' '}
            <span className="actor">by {e.actor}</span>
            {e.reason && <p className="reason">{visible(e.reason)}</p>}
            {e.data && Object.keys(e.data).length > 0 && (
              <details>
                <summary>Details</summary>
                <pre>{JSON.stringify(e.data, null, 2)}</pre>
              </details>
            )}
          </div>
        </li>
      ))}
    </ol>
  );
}

/** A released backup: removed from the backup area on purpose; where the data is now. */
function Released({ c }: { c: ApiCopy }) {
  const held = c.held_by ?? [];
  return (
    <p className="released">
      released {c.released_at ? relative(c.released_at) : ''}{' '}
      {held.length === 0
        ? '(no verified archive holds it now: see the alerts)'
        : `(archived in ${held.map((h) => `${h.archive} on ${h.target}, verified ${h.verified_at ?? '?'}`).join('; ')})`}{' '}
      — <code>sluice retrieve</code> brings it back
    </p>
  );
}

function Copy({ c }: { c: ApiCopy }) {
  const entries = c.manifest?.entries ?? [];
  return (
    <article className="card copy">
      <h3>
        {c.target}{' '}
        <span
          className={`badge tone-${c.state === 'verified' ? 'good' : c.state === 'released' ? 'muted' : 'bad'}`}
        >
          {c.state}
        </span>
        {c.associated && <span className="muted small"> (an identical copy was already there)</span>}
      </h3>
      {c.state === 'released' && <Released c={c} />}
      <p>
        <code>{visible(c.location)}</code>
      </p>
      <p className="muted">
        {bytes(c.bytes)} · {c.hash_algorithm} · verified {relative(c.verified_at)}
        {c.seconds !== null && ` · copied in ${c.seconds.toFixed(1)} s`}
      </p>
      <p className="muted fixity">
        {c.last_fixity_at === null ? (
          'not re-read from storage yet (fixity audit)'
        ) : (
          <>
            re-read from storage {relative(c.last_fixity_at)}:{' '}
            <span className={`badge tone-${c.last_fixity_ok ? 'good' : 'bad'}`}>
              {c.last_fixity_ok ? 'matches its hashes' : 'does not match its hashes'}
            </span>
          </>
        )}
      </p>
      {entries.length > 0 && (
        <div>
          <Table
            className="hashes"
            label={{ caption: 'Hashes of the files in this copy' }}
            headers={['File', 'Size', c.hash_algorithm]}
          >
            {entries.slice(0, MANIFEST_SHOWN).map((e) => (
              <tr key={e.rel}>
                <td>{visible(e.rel)}</td>
                <td className="num">{bytes(e.size)}</td>
                <td>
                  <code className="hash">{e.hash}</code>
                </td>
              </tr>
            ))}
          </Table>
          {entries.length > MANIFEST_SHOWN && (
            <p className="muted">
              and {count(entries.length - MANIFEST_SHOWN)} more (all of them:{' '}
              <code>sluice files show {visible(c.file_id)}</code>)
            </p>
          )}
        </div>
      )}
    </article>
  );
}

function Job({ j }: { j: ApiJob }) {
  const me = useMe();
  const cancel = useAction(() => api.cancelJob(j.id), [['file', j.file_id]]);
  const active = ACTIVE_JOB.includes(j.state);
  return (
    <article className="card job">
      <h3>
        {j.settings_name} v{j.settings_version} <JobBadge state={j.state} />
      </h3>
      <p className="muted">
        attempt {j.attempt} · {j.executor}
        {j.job_id && ` job ${j.job_id}`}
        {j.exit_code !== null && ` · exit ${j.exit_code}`}
        {j.elapsed_s !== null && ` · ${Math.round(j.elapsed_s)} s`}
        {j.outcome && ` · ${j.outcome.replace('_', ' ')}`}
      </p>
      {j.reason && <p className="reason">{visible(j.reason)}</p>}
      <p className="muted small">
        submitted {relative(j.submitted_at)} · finished {j.finished_at ? relative(j.finished_at) : 'not yet'}{' '}
        · output <code>{j.output_dir}</code>
      </p>
      {j.log_tail ? (
        <details open={j.outcome !== 'success'}>
          <summary>Log tail</summary>
          <pre className="log">{visibleLines(j.log_tail)}</pre>
        </details>
      ) : (
        <p className="muted small">No log yet.</p>
      )}
      {active && (
        <>
          <ConfirmButton
            label="Cancel job"
            title={`Cancel job ${j.job_id ?? j.id}?`}
            danger
            disabled={!can(me.role, 'operator')}
            disabledReason={roleRefusal(me.role, 'cancel jobs', 'operator')}
            onConfirm={() => cancel.mutate(undefined)}
          >
            The scheduler stops it; the file ends as processing failed (cancelled by you).
          </ConfirmButton>
          <ActionResult error={cancel.error} ok={cancel.isSuccess ? 'Cancel requested.' : undefined} />
        </>
      )}
    </article>
  );
}

export default function FileDetailPage() {
  const id = fileIdFromPath();
  const q = useQuery({ queryKey: ['file', id], queryFn: () => api.file(id) });
  const me = useMe();
  if (q.isPending) return <Loading what={`Loading ${visible(id)}`} />;
  if (q.isError)
    return (
      <>
        <p>
          <Link href="/files">← Files</Link>
        </p>
        <ErrorState error={q.error} retry={() => void q.refetch()} role={me.role} />
      </>
    );
  const d = q.data;
  return (
    <>
      <p>
        <Link href="/files">← Files</Link>
      </p>
      <header className="file-head">
        <h1>{visible(d.file.name)}</h1>
        <StatusBadge status={d.file.status} />
        {d.file.status_reason && <p className="reason">{visible(d.file.status_reason)}</p>}
      </header>
      <div className="detail-grid">
        <section aria-labelledby="facts-title" className="card">
          <h2 id="facts-title">Details</h2>
          <Facts d={d} />
        </section>
        <Actions d={d} />
      </div>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <Timeline d={d} />
      </section>
      <section aria-labelledby="copies-title">
        <h2 id="copies-title">Backup copies</h2>
        {d.copies.length === 0 ? (
          <Empty title="No backup copy yet">A copy is made and verified after the acquisition ends.</Empty>
        ) : (
          d.copies.map((c) => <Copy key={c.id} c={c} />)
        )}
      </section>
      <FileArchives id={d.file.id} />
      <section aria-labelledby="jobs-title">
        <h2 id="jobs-title">Processing jobs</h2>
        {d.jobs.length === 0 ? (
          <Empty title="No processing jobs">
            Jobs start after a verified backup, when processing settings apply.
          </Empty>
        ) : (
          d.jobs.map((j) => <Job key={j.id} j={j} />)
        )}
      </section>
      <FileMetrics d={d} />
    </>
  );
}
