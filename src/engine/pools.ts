/**
 * Pools: named limits on concurrent work across every process. Sizes come from the config file
 * (`syncPools` at start: the config is the source of truth for `size`); an operator's runtime
 * override (`setPoolSize`) wins until unset, and is audited.
 */
import type { Queryable } from '../core/db/db.ts';
import { UsageError } from '../core/errors.ts';

export interface PoolUsage {
  name: string;
  size: number;
  configured: number;
  override: number | null;
  running: number;
  queued: number;
  updated_by: string | null;
  updated_at: Date;
}

export async function syncPools(q: Queryable, pools: Record<string, number>): Promise<void> {
  const names = Object.keys(pools);
  if (names.length === 0) return;
  await q.exec(
    `insert into pools (name, size) select * from unnest($1::text[], $2::int[])
     on conflict (name) do update set size = excluded.size where pools.size <> excluded.size`,
    [names, names.map((n) => pools[n])],
  );
}

export async function setPoolSize(
  q: Queryable,
  name: string,
  size: number | null,
  actor: string,
): Promise<void> {
  if (size !== null && (!Number.isInteger(size) || size < 0)) {
    throw new UsageError(
      `pool size must be a whole number ≥ 0, got ${size}`,
      'use 0 to drain a pool, or `unset` to return to the configured size',
    );
  }
  const old = await q.maybeOne<{ size: number; override_size: number | null }>(
    'select size, override_size from pools where name = $1',
    [name],
  );
  if (!old) {
    const known = (await q.query<{ name: string }>('select name from pools order by name')).map(
      (r) => r.name,
    );
    throw new UsageError(
      `unknown pool '${name}'`,
      `known pools: ${known.join(', ')}; add new pools under \`pools:\` in sluice.yaml`,
    );
  }
  await q.exec('update pools set override_size = $2, updated_by = $3, updated_at = now() where name = $1', [
    name,
    size,
    actor,
  ]);
  await q.exec('insert into pool_audit (pool, old_size, new_size, actor) values ($1, $2, $3, $4)', [
    name,
    old.override_size ?? old.size,
    size ?? old.size,
    actor,
  ]);
}

/** A pool's size in force (the override, else the configured size); undefined when there is no such pool. */
export async function poolSize(q: Queryable, name: string): Promise<number | null | undefined> {
  const row = await q.maybeOne<{ size: number | null }>(
    'select coalesce(override_size, size) as size from pools where name = $1',
    [name],
  );
  return row?.size;
}

/** Whether a pool of this name exists (configured, or made by `ensurePool`). */
export async function poolExists(q: Queryable, name: string): Promise<boolean> {
  return (await q.maybeOne('select 1 from pools where name = $1', [name])) !== undefined;
}

export async function listPools(q: Queryable): Promise<PoolUsage[]> {
  const rows = await q.query<{
    name: string;
    size: number;
    override_size: number | null;
    running: string;
    queued: string;
    updated_by: string | null;
    updated_at: Date;
  }>(
    `select p.name, p.size, p.override_size, p.updated_by, p.updated_at,
       (select count(*) from tasks t where t.pool = p.name and t.state = 'running' and t.lease_expires_at >= now()) as running,
       (select count(*) from tasks t where t.pool = p.name and t.state = 'queued') as queued
     from pools p order by p.name`,
  );
  return rows.map((r) => ({
    name: r.name,
    size: r.override_size ?? r.size,
    configured: r.size,
    override: r.override_size,
    running: Number(r.running),
    queued: Number(r.queued),
    updated_by: r.updated_by,
    updated_at: r.updated_at,
  }));
}

/** Tasks are only claimed from pools that exist; make sure `name` does (size of `default`). */
export async function ensurePool(q: Queryable, name: string): Promise<void> {
  await q.exec(
    `insert into pools (name, size) select $1, coalesce((select size from pools where name = 'default'), 10)
     on conflict (name) do nothing`,
    [name],
  );
}

/** Each pool's effective size and how many tasks run in it under a live lease (running as text). */
export async function poolsRunning(q: Queryable): Promise<{ name: string; size: number; running: string }[]> {
  return q.query<{ name: string; size: number; running: string }>(
    `select p.name, coalesce(p.override_size, p.size) as size, count(t.id) as running
       from pools p left join tasks t
         on t.pool = p.name and t.state = 'running' and t.lease_expires_at >= now()
       group by p.name, p.size, p.override_size`,
  );
}
