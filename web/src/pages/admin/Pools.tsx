/** The admin page's pools: size, use and queue of each, resized, drained or restored by admins. */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type { ApiPool, Role } from '../../api/types.ts';
import { Badge } from '../../components/Badge.tsx';
import { ConfirmButton } from '../../components/Confirm.tsx';
import { QueryView } from '../../components/Query.tsx';
import { ActionResult, roleRefusal } from '../../components/States.tsx';
import { Table } from '../../components/Table.tsx';
import { useAction } from '../../lib/mutation.ts';

/** One pool: its size (with the override, if any), use, queue, and the controls to change it. */
function PoolRow({
  p,
  admin,
  setPool,
}: {
  p: ApiPool;
  admin: boolean;
  setPool: (change: { name: string; size: number | null }) => void;
}) {
  const [size, setSize] = useState<string>();
  return (
    <tr>
      <th scope="row">{p.name}</th>
      <td className="num">
        {p.size === 0 ? <Badge tone="warn">drained</Badge> : p.size}
        {p.override !== null && (
          <div className="muted small">
            configured {p.configured}; override by {p.updated_by}
          </div>
        )}
      </td>
      <td className="num">
        {p.running} / {p.size}
      </td>
      <td className="num">{p.queued}</td>
      <td className="row-actions">
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setPool({ name: p.name, size: Number(size ?? p.size) });
          }}
        >
          <label>
            <span className="sr-only">New size of {p.name}</span>
            <input
              type="number"
              min={0}
              className="short"
              disabled={!admin}
              value={size ?? String(p.size)}
              onChange={(e) => setSize(e.target.value)}
            />
          </label>
          <button type="submit" disabled={!admin}>
            Set
          </button>
        </form>
        {p.size > 0 ? (
          <ConfirmButton
            label="Drain"
            title={`Drain pool ${p.name}?`}
            danger
            disabled={!admin}
            onConfirm={() => setPool({ name: p.name, size: 0 })}
          >
            Work running in {p.name} finishes; nothing new starts until you restore it.
          </ConfirmButton>
        ) : null}
        {p.override !== null && (
          <button type="button" disabled={!admin} onClick={() => setPool({ name: p.name, size: null })}>
            Restore {p.configured}
          </button>
        )}
      </td>
    </tr>
  );
}

export function Pools({ admin, role }: { admin: boolean; role: Role }) {
  const pools = useQuery({ queryKey: ['pools'], queryFn: api.pools, refetchInterval: 10_000 });
  const setPool = useAction(
    ({ name, size }: { name: string; size: number | null }) => api.setPool(name, size),
    [['pools']],
  );
  return (
    <section aria-labelledby="pools-title">
      <h2 id="pools-title">Pools</h2>
      <p className="muted">
        Limits on concurrent work across all machines. Size 0 drains a pool: running work finishes, nothing
        new starts.
      </p>
      {!admin && <p className="notice">{roleRefusal(role, 'change pool sizes', 'admin')}</p>}
      <QueryView query={pools} loading="Loading pools">
        {(list) => (
          <Table className="pools" headers={['Pool', 'Size', 'In use', 'Queued', 'Change']}>
            {list.map((p) => (
              <PoolRow key={p.name} p={p} admin={admin} setPool={setPool.mutate} />
            ))}
          </Table>
        )}
      </QueryView>
      <ActionResult error={setPool.error} />
    </section>
  );
}
