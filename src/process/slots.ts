/**
 * Cluster slots: at most `pools.cluster` jobs submitted and not finished, counted across all
 * processes and machines (0 drains). A `process.submit` reserves one before it submits; without
 * one it waits, marked as waiting for a slot (`WAITING_FOR_SLOT`), until a job's end wakes it
 * (poll.ts) or its fallback wait runs out.
 */
import { poolSize } from '../engine/pools.ts';
import type { JobRow } from './jobs.ts';
import type { SubmitContext } from './submit.ts';

/**
 * How long a submit without a free cluster slot waits before it looks again. The poll that records
 * a job's end wakes one waiting submit per freed slot at once (poll.ts, engine/waiting.ts), so this
 * is only the fallback for a lost wake-up (a crash; a raised pool): a poll period, at least 5 s.
 */
export function slotWaitMs(pollSeconds: number): number {
  return Math.max(5, pollSeconds) * 1000;
}

/**
 * A submit's step 2: a cluster slot (`pools.cluster`, 30 when unset), counted across all processes
 * and machines. The count and the reservation are one statement under a transaction-scoped lock
 * (held for that statement and the commit only: every submit queues on it); the pool's size is
 * read before. The mark of a wait for a slot is cleared in the same transaction.
 */
export async function reserveSlot(ctx: SubmitContext, job: JobRow): Promise<boolean> {
  const limit = (await poolSize(ctx.db, 'cluster')) ?? 30;
  return ctx.db.tx(async (tx) => {
    await tx.exec(`select pg_advisory_xact_lock(378830, hashtext('cluster-slots'))`);
    const reserved = await tx.exec(
      `update jobs set state = 'submitting', updated_at = now()
       where id = $1 and state in ('new', 'submitting')
         and (select count(*) from jobs where state in ('submitting', 'PENDING', 'RUNNING') and id <> $1) < $2`,
      [job.id, limit],
    );
    if (reserved === 0) return false;
    if (ctx.payload.waitingFor) await ctx.remember({ waitingFor: null }, tx);
    return true;
  });
}
