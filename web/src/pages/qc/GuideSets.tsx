/**
 * The guide sets of the chosen instrument on the QC page: the ones in force (period, mean, sd, who,
 * when, note), a form to mark a new baseline period for a metric (operators), and retiring one.
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client.ts';
import { ActionResult, roleRefusal } from '../../components/States.tsx';
import { Table } from '../../components/Table.tsx';
import { dateTime, metricValue } from '../../lib/format.ts';
import { useAction } from '../../lib/mutation.ts';
import { can } from '../../lib/status.ts';
import { useMe } from '../../session.tsx';

const day = (iso: string) => iso.slice(0, 10);

function GuideSetForm({ instrument, metrics }: { instrument: string; metrics: string[] }) {
  const [metric, setMetric] = useState(metrics[0] ?? '');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [note, setNote] = useState('');
  const create = useAction(
    () =>
      api.createGuideSet({ instrument, metric: metric || metrics[0]!, from, to, note: note || undefined }),
    [['guide-sets', instrument], ['metric-series']],
  );
  return (
    <form
      className="filters"
      aria-label="Mark a guide set"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate(undefined);
      }}
    >
      <label>
        Metric
        <select value={metric} onChange={(e) => setMetric(e.target.value)}>
          {metrics.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      <label>
        Baseline from
        <input type="date" required value={from} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <label>
        Baseline until (before)
        <input type="date" required value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <label>
        Note
        <input
          value={note}
          maxLength={500}
          onChange={(e) => setNote(e.target.value)}
          placeholder="new column"
        />
      </label>
      <button type="submit" disabled={create.isPending}>
        Mark guide set
      </button>
      <ActionResult error={create.error} ok={create.isSuccess && 'Guide set recorded.'} />
    </form>
  );
}

export function GuideSets({ instrument, metrics }: { instrument: string; metrics: string[] }) {
  const me = useMe();
  const allowed = can(me.role, 'operator');
  const sets = useQuery({
    queryKey: ['guide-sets', instrument],
    queryFn: () => api.guideSets({ instrument }),
  });
  const retire = useAction(
    (id: string) => api.retireGuideSet(id),
    [['guide-sets', instrument], ['metric-series']],
  );
  const rows = (sets.data?.guide_sets ?? []).filter((g) => metrics.includes(g.metric));
  return (
    <section className="card" aria-labelledby="guide-sets-title">
      <h2 id="guide-sets-title">Guide sets of {instrument}</h2>
      <p className="muted small">
        A guide set is a baseline period: its mean and sd draw the limits (± 2 and 3 sd) from its start until
        the next one, and each run is checked against the Westgard rules.
      </p>
      {rows.length > 0 && (
        <Table headers={['Metric', 'Baseline', 'Points', 'Mean', 'sd', 'By', 'Note', '']}>
          {rows.map((g) => (
            <tr key={g.id}>
              <td>{g.metric}</td>
              <td>
                {day(g.from_at)} – {day(g.to_at)}
              </td>
              <td className="num">{g.points}</td>
              <td className="num">{metricValue(g.mean)}</td>
              <td className="num">{metricValue(g.sd)}</td>
              <td title={dateTime(g.created_at)}>{g.created_by}</td>
              <td>{g.note ?? ''}</td>
              <td>
                <button
                  type="button"
                  disabled={!allowed || retire.isPending}
                  onClick={() => retire.mutate(g.id)}
                  aria-label={`Retire the ${g.metric} guide set from ${day(g.from_at)}`}
                >
                  Retire
                </button>
              </td>
            </tr>
          ))}
        </Table>
      )}
      {allowed ? (
        <GuideSetForm instrument={instrument} metrics={metrics} />
      ) : (
        <p className="notice">{roleRefusal(me.role, 'mark guide sets', 'operator')}</p>
      )}
      <ActionResult error={retire.error} />
    </section>
  );
}
