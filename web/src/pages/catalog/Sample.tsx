/**
 * One sample (issue #22): its attributes, the raw data that measured it (acquisitions) with the
 * processing runs (outputs: settings and version, state) and QC metric values of each, its relations
 * and the history of every change (who, when, before, after).
 */
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { request } from '../../api/client.ts';
import { QueryView } from '../../components/Query.tsx';
import { When } from '../../components/When.tsx';
import { jsonText, metricValue } from '../../lib/format.ts';
import { ListTable } from './ListCard.tsx';
import type { ApiSampleDetail } from './types.ts';

function Runs({ files }: { files: ApiSampleDetail['files'] }) {
  if (files.length === 0) return <p className="muted">No raw data linked to this sample yet.</p>;
  return (
    <>
      {files.map((f) => (
        <section key={f.id} aria-label={`Run ${f.name}`} className="run">
          <h3>
            <Link href={`/files/${encodeURIComponent(f.id)}`}>{f.name}</Link>{' '}
            <span className="muted">
              {f.instrument_id} · {f.status} · <When at={f.created_at} />
            </span>
          </h3>
          {f.jobs.length > 0 && (
            <p>
              Processing:{' '}
              {f.jobs
                .map((j) => `${j.settings_name} v${j.settings_version} (${j.outcome ?? j.state})`)
                .join(', ')}
            </p>
          )}
          {f.metrics.length === 0 ? (
            <p className="muted">No QC values.</p>
          ) : (
            <ListTable
              rows={f.metrics}
              rowKey={(m) => `${m.settings_name}/${m.settings_version}/${m.name}`}
              label={{ caption: `QC values of ${f.name}` }}
              columns={[
                { header: 'Metric', cell: (m) => m.name },
                {
                  header: 'Value',
                  cell: (m) => `${metricValue(m.value)}${m.unit ? ` ${m.unit}` : ''}`,
                  className: 'num',
                },
                { header: 'Settings', cell: (m) => `${m.settings_name} v${m.settings_version}` },
              ]}
            />
          )}
        </section>
      ))}
    </>
  );
}

export default function SamplePage() {
  const { refcode } = useParams<{ refcode: string }>();
  const detail = useQuery({
    queryKey: ['sample', refcode],
    queryFn: () => request<ApiSampleDetail>('GET', `/api/samples/${encodeURIComponent(refcode)}`),
  });
  return (
    <>
      <h1>Sample {refcode}</h1>
      <QueryView query={detail} loading="Loading the sample">
        {(d) => (
          <>
            <p>
              <Link href={`/projects/${encodeURIComponent(d.sample.project_id)}`}>
                ← Project {d.sample.project_id}
              </Link>
            </p>
            <dl>
              <dt>Name</dt>
              <dd>{d.sample.name}</dd>
              <dt>Type</dt>
              <dd>{d.sample.type ?? '—'}</dd>
              {Object.entries(d.sample.attributes).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{String(v)}</dd>
                </div>
              ))}
            </dl>
            <h2>Runs</h2>
            <Runs files={d.files} />
            <h2 id="rel-h">Relations</h2>
            <ListTable
              rows={d.relations}
              rowKey={(e) =>
                `${e.subject_kind}:${e.subject_id}:${e.relation}:${e.object_kind}:${e.object_id}`
              }
              label={{ id: 'rel-h' }}
              rowHeader={false}
              columns={[
                { header: 'Subject', cell: (e) => `${e.subject_kind} ${e.subject_id}` },
                { header: 'Relation', cell: (e) => e.relation },
                { header: 'Object', cell: (e) => `${e.object_kind} ${e.object_id}` },
                { header: 'Via', cell: (e) => e.via },
              ]}
            />
            <h2 id="hist-h">History</h2>
            <ListTable
              rows={d.history}
              rowKey={(h) => h.id}
              label={{ id: 'hist-h' }}
              rowHeader={false}
              columns={[
                { header: 'When', cell: (h) => <When at={h.at} /> },
                { header: 'Who', cell: (h) => h.actor },
                { header: 'Change', cell: (h) => h.action },
                {
                  header: 'Before',
                  cell: (h) => <code>{h.before === null ? '—' : jsonText(h.before)}</code>,
                },
                { header: 'After', cell: (h) => <code>{jsonText(h.after)}</code> },
              ]}
            />
          </>
        )}
      </QueryView>
    </>
  );
}
