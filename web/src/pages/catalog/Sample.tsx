/**
 * One sample (issue #22): its attributes, the raw data that measured it (acquisitions) with the
 * processing runs (outputs: settings and version, state) and QC metric values of each, its relations
 * and the history of every change (who, when, before, after).
 */
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { request } from '../../api/client.ts';
import { QueryView } from '../../components/Query.tsx';
import { Table } from '../../components/Table.tsx';
import { When } from '../../components/When.tsx';
import { jsonText, metricValue } from '../../lib/format.ts';
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
            <Table headers={['Metric', 'Value', 'Settings']} label={{ caption: `QC values of ${f.name}` }}>
              {f.metrics.map((m) => (
                <tr key={`${m.settings_name}/${m.settings_version}/${m.name}`}>
                  <th scope="row">{m.name}</th>
                  <td className="num">
                    {metricValue(m.value)}
                    {m.unit ? ` ${m.unit}` : ''}
                  </td>
                  <td>
                    {m.settings_name} v{m.settings_version}
                  </td>
                </tr>
              ))}
            </Table>
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
            <Table headers={['Subject', 'Relation', 'Object', 'Via']} label={{ id: 'rel-h' }}>
              {d.relations.map((e) => (
                <tr key={`${e.subject_kind}:${e.subject_id}:${e.relation}:${e.object_kind}:${e.object_id}`}>
                  <td>
                    {e.subject_kind} {e.subject_id}
                  </td>
                  <td>{e.relation}</td>
                  <td>
                    {e.object_kind} {e.object_id}
                  </td>
                  <td>{e.via}</td>
                </tr>
              ))}
            </Table>
            <h2 id="hist-h">History</h2>
            <Table headers={['When', 'Who', 'Change', 'Before', 'After']} label={{ id: 'hist-h' }}>
              {d.history.map((h) => (
                <tr key={h.id}>
                  <td>
                    <When at={h.at} />
                  </td>
                  <td>{h.actor}</td>
                  <td>{h.action}</td>
                  <td>
                    <code>{h.before === null ? '—' : jsonText(h.before)}</code>
                  </td>
                  <td>
                    <code>{jsonText(h.after)}</code>
                  </td>
                </tr>
              ))}
            </Table>
          </>
        )}
      </QueryView>
    </>
  );
}
