/** The `workers` table: every running Sluice process, its role, tags and last heartbeat. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Queryable } from '../core/db/db.ts';

export interface ProcessInfo {
  id: string;
  role: string;
  tags: string[];
  kinds: string[];
  version: string;
  /** The instance mode (`normal`, `fallback`); default `normal`. */
  mode?: string;
}

export function newProcessId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export async function registerProcess(q: Queryable, p: ProcessInfo): Promise<void> {
  await q.exec(
    `insert into workers (id, host, pid, role, tags, kinds, version, mode) values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (id) do update set last_heartbeat_at = now(), stopped_at = null`,
    [p.id, hostname(), process.pid, p.role, p.tags, p.kinds, p.version, p.mode ?? 'normal'],
  );
}

export async function heartbeatProcess(q: Queryable, id: string): Promise<void> {
  await q.exec('update workers set last_heartbeat_at = now(), stopped_at = null where id = $1', [id]);
}

export async function markProcessStopped(q: Queryable, id: string): Promise<void> {
  await q.exec('update workers set stopped_at = now() where id = $1', [id]);
}

export interface ProcessRow {
  id: string;
  host: string;
  pid: number;
  role: string;
  tags: string[];
  kinds: string[];
  version: string;
  mode: string;
  started_at: Date;
  last_heartbeat_at: Date;
  stopped_at: Date | null;
  running: string;
}

/** Processes seen within `withinMs` (default 10 min), newest heartbeat first. */
export async function listProcesses(q: Queryable, withinMs = 600_000): Promise<ProcessRow[]> {
  return q.query<ProcessRow>(
    `select w.*, (select count(*) from tasks t where t.lease_owner = w.id and t.state = 'running') as running
     from workers w where w.last_heartbeat_at > now() - $1 * interval '1 millisecond' and w.stopped_at is null
     order by w.last_heartbeat_at desc`,
    [withinMs],
  );
}
