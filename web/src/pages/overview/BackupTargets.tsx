/**
 * The overview's backup targets panel: each extra target's catch-up progress, the same figures as
 * `sluice status` (verified copies of the files backed up, queued/running, failing copies, copies
 * waiting for an unusable target).
 * Shown only when `backup.targets` names a target.
 */
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client.ts';
import type { ApiTargetProgress } from '../../api/types.ts';
import { Badge } from '../../components/Badge.tsx';
import { ErrorState } from '../../components/States.tsx';
import { Table } from '../../components/Table.tsx';
import { count } from '../../lib/format.ts';

function State({ t }: { t: ApiTargetProgress }) {
  if (t.failing > 0) return <Badge tone="bad">{`${count(t.failing)} failing`}</Badge>;
  if (t.waiting > 0)
    return (
      <span title="the target is not usable (not mounted, or its marker is missing): see sluice doctor">
        <Badge tone="warn">{`waiting for the target: ${count(t.waiting)}`}</Badge>
      </span>
    );
  if (t.copied < t.files)
    return <Badge tone="muted">{`catching up: ${count(t.files - t.copied)} to copy`}</Badge>;
  return <Badge tone="good">complete</Badge>;
}

export function BackupTargets() {
  const status = useQuery({ queryKey: ['status'], queryFn: api.status, refetchInterval: 30_000 });
  if (status.isError) return <ErrorState error={status.error} retry={() => void status.refetch()} />;
  const targets = status.data?.targets ?? [];
  if (targets.length === 0) return null;
  return (
    <section aria-labelledby="targets-title">
      <h2 id="targets-title">Backup targets</h2>
      <Table
        className="targets"
        label={{ id: 'targets-title' }}
        headers={['Target', 'Verified copies', 'Queued / running', 'Failing', 'State']}
      >
        {targets.map((t) => (
          <tr key={t.target}>
            <th scope="row">{t.target}</th>
            <td>
              {count(t.copied)} / {count(t.files)}
            </td>
            <td>
              {count(t.queued)} / {count(t.running)}
            </td>
            <td title={t.last_error ?? undefined}>{count(t.failing)}</td>
            <td>
              <State t={t} />
            </td>
          </tr>
        ))}
      </Table>
    </section>
  );
}
