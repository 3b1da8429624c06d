/**
 * Claiming tasks (sluice_claim, migrations 0010, 0018 and 0054): what a worker asks for, and the two ways
 * it asks. Alone (`claimTasks`, the claim loop in worker.ts), or together with a batch of
 * completions (`finishAndClaim`, the completion batcher in task-state.ts), so that the slots the
 * finished tasks free are filled in the same statement and commit: one round trip per batch.
 */
import type { Queryable } from '../core/db/db.ts';
import type { TaskRow } from './types.ts';

/** What a worker may claim: its id, the kinds it has handlers for, its tags, how many, the lease. */
export interface ClaimRequest {
  worker: string;
  kinds: string[];
  tags: string[];
  limit: number;
  leaseMs: number;
}

export function claimTasks(q: Queryable, r: ClaimRequest): Promise<TaskRow[]> {
  return q.query<TaskRow>('select * from sluice_claim($1, $2, $3, $4, $5)', [
    r.worker,
    r.kinds,
    r.tags,
    r.limit,
    r.leaseMs,
  ]);
}

/**
 * Completes `tasks` (fenced by their tokens) and claims per `r` in one statement. Returns the ids
 * completed (a task missing lost its lease) and the tasks claimed. A completed row comes back with
 * its id and state only (migration 0047): nothing else of it is read here.
 */
export async function finishAndClaim(
  q: Queryable,
  tasks: TaskRow[],
  r: ClaimRequest,
): Promise<{ done: Set<string>; claimed: TaskRow[] }> {
  const rows = await q.query<TaskRow>('select * from sluice_finish($1, $2, $3, $4, $5, $6, $7)', [
    tasks.map((t) => t.id),
    tasks.map((t) => t.token),
    r.worker,
    r.kinds,
    r.tags,
    r.limit,
    r.leaseMs,
  ]);
  const done = new Set<string>();
  const claimed: TaskRow[] = [];
  for (const row of rows) {
    if (row.state === 'running') claimed.push(row);
    else done.add(row.id);
  }
  return { done, claimed };
}

/**
 * The kinds a worker may claim: all it has handlers for, but when `stuck` (too many stalled
 * attempts on hung shares, stall.ts) only those without a stall limit, which do not touch shares.
 */
export function claimableKinds(
  kinds: string[],
  stallLimit: (kind: string) => number | undefined,
  stuck: boolean,
): string[] {
  return stuck ? kinds.filter((k) => stallLimit(k) === undefined) : kinds;
}
