/**
 * The `workers` table: every running Sluice process, its role, tags and last heartbeat, and how
 * to tell for certain that one is gone.
 *
 * Same-host recovery (issue 16): a worker that starts (and every heartbeat after) looks at the other
 * workers registered on its host. One whose process is gone — its pid no longer exists, or belongs
 * to a process that started at another time (a recycled pid) — is marked dead and the leases of its
 * running tasks expire at once, so they are taken over now instead of after `worker.lease_seconds`.
 * Only the tasks whose `lease_owner` is that worker are touched; a live worker's lease never is.
 *
 * Assumption, and why it is safe: a pid names the same process only within one kernel boot and one
 * pid namespace. The check runs only for rows with the same host name AND the same boot id
 * (/proc/sys/kernel/random/boot_id) AND the same pid namespace (/proc/self/ns/pid). Containers that
 * share a host name but not a pid namespace, a host that rebooted, and another machine with the
 * same name all fail that test and fall back to lease expiry: never a false "dead" (which would let
 * two workers run the same task), at worst the old, slower recovery. Without /proc (not Linux)
 * nothing is judged.
 *
 * A worker that sent no heartbeat for `DEAD_AFTER_LEASES` lease periods is marked dead by anyone (a
 * presumption, said so in `death`); a heartbeat from it clears the mark.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Db, Queryable } from '../core/db/db.ts';

export interface ProcessInfo {
  id: string;
  role: string;
  tags: string[];
  kinds: string[];
  version: string;
  /** The instance mode (`normal`, `fallback`); default `normal`. */
  mode?: string;
}

/** Where a process runs, as far as pids mean anything: host name, kernel boot, pid namespace. */
export interface HostIdentity {
  host: string;
  bootId: string | null;
  pidNs: string | null;
}

/** No heartbeat for this many lease periods: the worker is presumed dead (shown so in status). */
export const DEAD_AFTER_LEASES = 3;

export function newProcessId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

function readOr(read: () => string): string | null {
  try {
    return read().trim() || null;
  } catch {
    return null;
  }
}

export function hostIdentity(): HostIdentity {
  return {
    host: hostname(),
    bootId: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidNs: readOr(() => readlinkSync('/proc/self/ns/pid')),
  };
}

/**
 * Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), or null when there is no
 * such process (or no /proc). The command name (field 2) may hold spaces and parentheses: the
 * fields are counted after its last `)`.
 */
export function parseProcStart(stat: string): string | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' '); // fields[0] is field 3 (state)
  const v = fields[19];
  return v && /^\d+$/.test(v) ? v : null;
}

export function procStart(pid: number): string | null {
  const stat = readOr(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return stat ? parseProcStart(stat) : null;
}

export async function registerProcess(q: Queryable, p: ProcessInfo): Promise<void> {
  const me = hostIdentity();
  await q.exec(
    `insert into workers (id, host, pid, role, tags, kinds, version, mode, proc_start, boot_id, pid_ns)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     on conflict (id) do update set last_heartbeat_at = now(), stopped_at = null, died_at = null, death = null`,
    [
      p.id,
      me.host,
      process.pid,
      p.role,
      p.tags,
      p.kinds,
      p.version,
      p.mode ?? 'normal',
      procStart(process.pid),
      me.bootId,
      me.pidNs,
    ],
  );
}

export async function heartbeatProcess(q: Queryable, id: string): Promise<void> {
  await q.exec(
    'update workers set last_heartbeat_at = now(), stopped_at = null, died_at = null, death = null where id = $1',
    [id],
  );
}

export async function markProcessStopped(q: Queryable, id: string): Promise<void> {
  await q.exec('update workers set stopped_at = now() where id = $1', [id]);
}

/** A registered worker as the same-host check sees it. */
export interface SiblingRow {
  id: string;
  host: string;
  pid: number;
  proc_start: string | null;
  boot_id: string | null;
  pid_ns: string | null;
}

/**
 * Is the worker `row` gone, judged from `here`? `probe` is what /proc says about its pid now (the
 * start time of the process with that pid, null: no such process). 'unknown' whenever the pid
 * cannot be trusted to mean the same process here (see the module comment).
 */
export function judgeSibling(
  row: SiblingRow,
  here: HostIdentity,
  probe: string | null,
): { verdict: 'alive' | 'dead' | 'unknown'; why?: string } {
  if (row.host !== here.host || !here.bootId || !here.pidNs) return { verdict: 'unknown' };
  if (row.boot_id !== here.bootId || row.pid_ns !== here.pidNs || !row.proc_start)
    return { verdict: 'unknown' };
  if (probe === null) return { verdict: 'dead', why: `process ${row.pid} on ${row.host} is gone` };
  if (probe !== row.proc_start)
    return {
      verdict: 'dead',
      why: `process ${row.pid} on ${row.host} is gone (the pid now belongs to another process)`,
    };
  return { verdict: 'alive' };
}

export interface ReapResult {
  /** Workers found dead by this call. */
  dead: { id: string; why: string; tasks: number }[];
}

/**
 * The same-host check (see the module comment): marks dead every other worker of this host whose
 * process is gone and expires the leases of its running tasks, in one transaction per worker.
 * Also marks dead (presumed) any worker silent for `DEAD_AFTER_LEASES` × `leaseMs`.
 */
export async function reapDeadWorkers(db: Db, selfId: string, leaseMs: number): Promise<ReapResult> {
  const here = hostIdentity();
  const out: ReapResult = { dead: [] };
  const rows = await db.query<SiblingRow>(
    `select id, host, pid, proc_start, boot_id, pid_ns from workers
     where host = $1 and id <> $2 and stopped_at is null and died_at is null and boot_id = $3 and pid_ns = $4`,
    [here.host, selfId, here.bootId, here.pidNs],
  );
  for (const row of rows) {
    const { verdict, why } = judgeSibling(row, here, procStart(row.pid));
    if (verdict !== 'dead') continue;
    const death = `${why}; found by ${selfId}`;
    const tasks = await db.tx(async (tx) => {
      // the row is re-checked under its lock: a worker that heartbeated or stopped meanwhile is left alone
      const n = await tx.exec(
        `update workers set died_at = now(), death = $2
         where id = $1 and stopped_at is null and died_at is null and pid = $3 and proc_start = $4`,
        [row.id, death, row.pid, row.proc_start],
      );
      if (n !== 1) return -1;
      return tx.exec(
        `update tasks set lease_expires_at = clock_timestamp() - interval '1 millisecond'
         where lease_owner = $1 and state = 'running'`,
        [row.id],
      );
    });
    if (tasks >= 0) out.dead.push({ id: row.id, why: death, tasks });
  }
  const silent = await db.query<{ id: string; tasks: string }>(
    `update workers w set died_at = now(),
       death = 'no heartbeat for ' || round(extract(epoch from now() - w.last_heartbeat_at)) || ' s (presumed dead)'
     where stopped_at is null and died_at is null and id <> $1
       and last_heartbeat_at < now() - $2 * interval '1 millisecond'
     returning id, (select count(*) from tasks t where t.lease_owner = w.id and t.state = 'running') as tasks`,
    [selfId, leaseMs * DEAD_AFTER_LEASES],
  );
  for (const s of silent)
    out.dead.push({ id: s.id, why: 'no heartbeat (presumed dead)', tasks: Number(s.tasks) });
  return out;
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
  died_at: Date | null;
  death: string | null;
  running: string;
}

/**
 * Processes not stopped cleanly: those seen within `withinMs` (default 10 min), and those found
 * dead within `deadWithinMs` (default 24 h; null: all). Live ones first, newest heartbeat first.
 */
export async function listProcesses(
  q: Queryable,
  withinMs = 600_000,
  deadWithinMs: number | null = 86_400_000,
): Promise<ProcessRow[]> {
  return q.query<ProcessRow>(
    `select w.*, (select count(*) from tasks t where t.lease_owner = w.id and t.state = 'running') as running
     from workers w
     where w.stopped_at is null
       and (case when w.died_at is null then w.last_heartbeat_at > now() - $1 * interval '1 millisecond'
                 else $2::float8 is null or w.died_at > now() - $2::float8 * interval '1 millisecond' end)
     order by w.died_at is not null, w.last_heartbeat_at desc`,
    [withinMs, deadWithinMs],
  );
}

/** Deletes the rows of workers stopped or dead more than `days` ago. */
/** Worker processes (not web) alive now: a heartbeat within `leaseSeconds`. For the doctor's tag check. */
export async function liveWorkerTags(
  q: Queryable,
  leaseSeconds: number,
): Promise<{ id: string; host: string; tags: string[] }[]> {
  return q.query<{ id: string; host: string; tags: string[] }>(
    `select id, host, tags from workers
     where stopped_at is null and role <> 'web' and last_heartbeat_at > now() - make_interval(secs => $1)`,
    [leaseSeconds],
  );
}

export async function pruneWorkers(q: Queryable, days: number): Promise<number> {
  return q.exec(`delete from workers where coalesce(stopped_at, died_at) < now() - $1 * interval '1 day'`, [
    days,
  ]);
}

/** How many processes are alive: not stopped or dead, with a heartbeat in the last 2 minutes. */
export async function countLiveProcesses(q: Queryable): Promise<number> {
  const r = await q.one<{ n: string }>(
    `select count(*) as n from workers
       where stopped_at is null and died_at is null and last_heartbeat_at > now() - interval '2 minutes'`,
  );
  return Number(r.n);
}

/** Every process not stopped (alive or not), with its last heartbeat, by id. */
export async function unstoppedProcesses(
  q: Queryable,
): Promise<{ id: string; host: string; last_heartbeat_at: Date }[]> {
  return q.query<{ id: string; host: string; last_heartbeat_at: Date }>(
    'select id, host, last_heartbeat_at from workers where stopped_at is null order by id',
  );
}
