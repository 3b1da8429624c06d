/**
 * An enqueue whose de-duplication key matches a RUNNING task: that task runs once more after it
 * completes (migration 0040), atomically with the completion; one matching a queued task adds
 * nothing. Real workers and PostgreSQL; the handlers wait on gates the test opens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/helpers/db.ts';
import { waitFor } from '../../test/helpers/spawn.ts';
import type { Db } from '../core/db/db.ts';
import { silentLogger } from '../core/log.ts';
import { claimTasks } from './claim.ts';
import { enqueue, enqueueMany, getTask } from './enqueue.ts';
import { setPoolSize, syncPools } from './pools.ts';
import { CompletionBatcher, completeTask, recordFailure } from './task-state.ts';
import type { TaskHandlerDef, TaskRow } from './types.ts';
import { Worker } from './worker.ts';

let db: Db;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  await syncPools(db, { default: 10, held: 0 });
});
afterAll(async () => drop());

/** A handler kind whose runs are recorded (their payloads) and each wait for `open()`. */
function gated(kind: string, opts: { withWrites?: boolean } = {}) {
  const runs: Record<string, unknown>[] = [];
  let release: () => void = () => undefined;
  let gate = new Promise<void>((r) => {
    release = r;
  });
  const def: TaskHandlerDef = {
    kind,
    async run(ctx) {
      runs.push({ ...ctx.task.payload });
      await gate;
      if (opts.withWrites) await ctx.complete(async (tx) => void (await tx.exec('select 1')));
    },
  };
  return {
    def,
    runs,
    /** Lets every run so far (and later ones) finish. */
    open: () => {
      release();
      gate = Promise.resolve();
    },
  };
}

function worker(handlers: TaskHandlerDef[]) {
  return new Worker({ db, log: silentLogger, handlers, pollMs: 100, leaseMs: 5000, heartbeatMs: 500 });
}

const task = async (id: string) => (await getTask(db, id))!;

/** Lock requests in this database not granted yet: who waits for whom is set up. */
const lockWaits = async () =>
  (
    await db.query(
      `select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
       where not l.granted and a.datname = current_database()`,
    )
  ).length;

describe('an enqueue that finds its task running', () => {
  it('runs it exactly once more, with the payload of that enqueue (batched completion)', async () => {
    const g = gated('rerun.batched');
    const w = worker([g.def]);
    await w.start();
    try {
      const id = (await enqueue(db, { kind: 'rerun.batched', dedupeKey: 'rb', payload: { n: 1 } }))!;
      await waitFor('first run', () => g.runs.length === 1);
      expect(
        await enqueue(db, { kind: 'rerun.batched', dedupeKey: 'rb', payload: { n: 2 } }),
      ).toBeUndefined();
      expect((await task(id)).rerun_payload).toEqual({ n: 2 });
      g.open();
      await waitFor('done', async () => (await task(id)).state === 'succeeded');
      expect(g.runs).toEqual([{ n: 1 }, { n: 2 }]);
      const t = await task(id);
      expect(t.rerun_payload).toBeNull();
      expect(t.payload).toEqual({ n: 2 });
      expect(
        Number((await db.one<{ n: string }>(`select count(*) as n from tasks where dedupe_key = 'rb'`)).n),
      ).toBe(1);
    } finally {
      await w.stop();
    }
  });

  it('two enqueues during one run ask for one more run, not two (completion with domain writes)', async () => {
    const g = gated('rerun.writes', { withWrites: true });
    const w = worker([g.def]);
    await w.start();
    try {
      const id = (await enqueue(db, { kind: 'rerun.writes', dedupeKey: 'rw', payload: { n: 1 } }))!;
      await waitFor('first run', () => g.runs.length === 1);
      await enqueue(db, { kind: 'rerun.writes', dedupeKey: 'rw', payload: { n: 2 } });
      expect(await enqueueMany(db, [{ kind: 'rerun.writes', dedupeKey: 'rw', payload: { n: 3 } }])).toBe(0);
      g.open();
      await waitFor('done', async () => (await task(id)).state === 'succeeded');
      expect(g.runs).toEqual([{ n: 1 }, { n: 2 }]);
    } finally {
      await w.stop();
    }
  });

  it('an enqueue that finds the task queued adds nothing and asks for no second run', async () => {
    const g = gated('rerun.queued');
    g.open();
    const w = worker([g.def]);
    await w.start();
    try {
      const id = (await enqueue(db, {
        kind: 'rerun.queued',
        pool: 'held',
        dedupeKey: 'rq',
        payload: { n: 1 },
      }))!;
      expect(
        await enqueue(db, { kind: 'rerun.queued', pool: 'held', dedupeKey: 'rq', payload: { n: 2 } }),
      ).toBeUndefined();
      expect(await enqueueMany(db, [{ kind: 'rerun.queued', pool: 'held', dedupeKey: 'rq' }])).toBe(0);
      expect((await task(id)).rerun_payload).toBeNull();
      await setPoolSize(db, 'held', 1, 'test');
      await waitFor('done', async () => (await task(id)).state === 'succeeded');
      expect(g.runs).toEqual([{ n: 1 }]);
    } finally {
      await setPoolSize(db, 'held', 0, 'test');
      await w.stop();
    }
  });
});

describe('the mark and the completion', () => {
  const claimOne = async (kind: string): Promise<TaskRow> => {
    const [t] = await claimTasks(db, {
      worker: 'w-test',
      kinds: [kind],
      tags: [],
      limit: 1,
      leaseMs: 60_000,
    });
    return t!;
  };

  /** Two tasks of `kind` with keys `keyA`, `keyB` (payload n: 1), claimed: A has the lower id. */
  const twoRunning = async (kind: string, keyA: string, keyB: string) => {
    const a = (await enqueue(db, { kind, dedupeKey: keyA, payload: { n: 1 } }))!;
    const b = (await enqueue(db, { kind, dedupeKey: keyB, payload: { n: 1 } }))!;
    const ta = await claimOne(kind);
    const tb = await claimOne(kind);
    expect([ta.id, tb.id]).toEqual([a, b]);
    return { a, b, ta, tb };
  };

  it('a completion waits for the enqueuer that marked the task, then queues it again with a fresh budget', async () => {
    const id = (await enqueue(db, { kind: 'rerun.tx', dedupeKey: 'rt', payload: { n: 1 } }))!;
    const t = await claimOne('rerun.tx');
    expect(t.id).toBe(id);
    let commit: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      commit = r;
    });
    let marked = false;
    const enqueuer = db.tx(async (tx) => {
      await enqueue(tx, { kind: 'rerun.tx', dedupeKey: 'rt', payload: { n: 2 } });
      marked = true;
      await held;
    });
    await waitFor('marked (not committed yet)', () => marked);
    const completion = completeTask(db, t);
    await waitFor('completion waits for the enqueuer', async () => (await lockWaits()) > 0);
    commit();
    await enqueuer;
    await completion;
    const after = await task(id);
    expect(after.state).toBe('queued');
    expect(after.payload).toEqual({ n: 2 });
    expect(after.attempts).toBe(0);
    expect(after.finished_at).toBeNull();
    expect(after.rerun_payload).toBeNull();
    // the run asked for is claimed and completes for good
    const again = await claimOne('rerun.tx');
    expect(again.id).toBe(id);
    await completeTask(db, again);
    expect((await task(id)).state).toBe('succeeded');
  });

  it('a batch of completions that deadlocks with an enqueue marking two of its tasks is sent again, not failed', async () => {
    const { a, b, ta, tb } = await twoRunning('rerun.dl', 'dl-a', 'dl-b');
    const deadlocks = async () =>
      Number(
        (
          await db.one<{ n: string }>(
            'select deadlocks as n from pg_stat_database where datname = current_database()',
          )
        ).n,
      );
    const before = await deadlocks();
    let step: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      step = r;
    });
    let marked = 0;
    // the enqueuer marks B, then (once the batch holds A and waits for B) A: a lock cycle. Its own
    // deadlock check comes late, so PostgreSQL rolls the batch back, not the enqueuer.
    const enqueuer = db.tx(async (tx) => {
      await tx.exec(`set local deadlock_timeout = '60s'`);
      await enqueue(tx, { kind: 'rerun.dl', dedupeKey: 'dl-b', payload: { n: 2 } });
      marked = 1;
      await gate;
      await enqueue(tx, { kind: 'rerun.dl', dedupeKey: 'dl-a', payload: { n: 2 } });
      marked = 2;
    });
    await waitFor('B marked', () => marked === 1);
    const batch = new CompletionBatcher(db);
    const completions = Promise.all([batch.complete(ta), batch.complete(tb)]);
    await waitFor('the batch waits for B', async () => (await lockWaits()) > 0);
    step();
    await enqueuer;
    await completions; // resolved: the batch went again after the enqueuer committed
    await waitFor('the deadlock counted', async () => (await deadlocks()) > before);
    for (const id of [a, b]) {
      const t = await task(id);
      expect(t.state).toBe('queued'); // completed, and queued again as the marks asked
      expect(t.payload).toEqual({ n: 2 });
      expect(t.last_error).toBeNull();
    }
  });

  it('a run that fails for good keeps its failed row; the run asked for is a new task', async () => {
    const id = (await enqueue(db, { kind: 'rerun.fail', dedupeKey: 'rf', payload: { n: 1 } }))!;
    const t = await claimOne('rerun.fail');
    await enqueue(db, { kind: 'rerun.fail', dedupeKey: 'rf', payload: { n: 2 } });
    await recordFailure(db, { kind: 'rerun.fail', run: async () => undefined }, t, new Error('x'), {
      final: true,
      message: 'x',
      delayMs: 0,
      freshBudget: false,
    });
    expect((await task(id)).state).toBe('failed');
    const next = await db.query<{ id: string; payload: unknown; state: string }>(
      `select id, payload, state from tasks where dedupe_key = 'rf' and id <> $1`,
      [id],
    );
    expect(next).toEqual([{ id: expect.any(String), payload: { n: 2 }, state: 'queued' }]);
  });

  it('one enqueue marking two tasks of a batch of completions locks them in the same order as the batch: no deadlock', async () => {
    // A has the lower id and the later key: marking by key would lock B first
    const { a, b, ta, tb } = await twoRunning('rerun.order', 'ro-z', 'ro-a');
    // the batch stops right after locking A, until the test lets it go on (an advisory lock)
    await db.exec(`create function test_hold() returns trigger language plpgsql as $$
      begin perform pg_advisory_xact_lock(424242); return new; end $$`);
    await db.exec(`create trigger test_hold before update of state on tasks for each row
      when (old.dedupe_key = 'ro-z' and new.state = 'succeeded') execute function test_hold()`);
    let go: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      go = r;
    });
    let holding = false;
    const holder = db.tx(async (tx) => {
      await tx.exec('select pg_advisory_xact_lock(424242)');
      holding = true;
      await gate;
    });
    try {
      await waitFor('the advisory lock held', () => holding);
      const batch = new CompletionBatcher(db);
      const completions = Promise.all([batch.complete(ta), batch.complete(tb)]);
      await waitFor('the batch holds A and waits', async () => (await lockWaits()) === 1);
      const marking = enqueueMany(db, [
        { kind: 'rerun.order', dedupeKey: 'ro-a', payload: { n: 2 } },
        { kind: 'rerun.order', dedupeKey: 'ro-z', payload: { n: 2 } },
      ]);
      await waitFor('the enqueue waits for A', async () => (await lockWaits()) === 2);
      go();
      await holder;
      await completions;
      // the batch finished both first (the enqueue held neither): they are done, and added anew
      expect(await marking).toBe(2);
      for (const id of [a, b]) expect((await task(id)).state).toBe('succeeded');
      const fresh = await db.query<{ payload: unknown }>(
        `select payload from tasks where kind = 'rerun.order' and state = 'queued'`,
      );
      expect(fresh).toEqual([{ payload: { n: 2 } }, { payload: { n: 2 } }]);
    } finally {
      go();
      await holder;
      await db.exec('drop trigger test_hold on tasks; drop function test_hold()');
    }
  });

  it('a run that goes back to the queue (a retry) drops the mark: the next run comes anyway, after the enqueuer', async () => {
    const id = (await enqueue(db, { kind: 'rerun.retry', dedupeKey: 'rr', payload: { n: 1 } }))!;
    const t = await claimOne('rerun.retry');
    await enqueue(db, { kind: 'rerun.retry', dedupeKey: 'rr', payload: { n: 2 } });
    expect((await task(id)).rerun_payload).toEqual({ n: 2 });
    await recordFailure(db, { kind: 'rerun.retry', run: async () => undefined }, t, new Error('x'), {
      final: false,
      message: 'x',
      delayMs: 0,
      freshBudget: false,
    });
    // as if the enqueue had come just after the retry was queued: it finds the task queued
    const after = await task(id);
    expect(after).toMatchObject({ state: 'queued', payload: { n: 1 }, rerun_payload: null, last_error: 'x' });
    expect((await claimOne('rerun.retry')).id).toBe(id);
  });

  it("`whileRunning: 'skip'` (periodic schedules) leaves a running task as it is", async () => {
    const id = (await enqueue(db, { kind: 'rerun.skip', dedupeKey: 'rs' }))!;
    await claimOne('rerun.skip');
    expect(await enqueue(db, { kind: 'rerun.skip', dedupeKey: 'rs', whileRunning: 'skip' })).toBeUndefined();
    expect(await enqueueMany(db, [{ kind: 'rerun.skip', dedupeKey: 'rs', whileRunning: 'skip' }])).toBe(0);
    expect((await task(id)).rerun_payload).toBeNull();
  });

  it('when the running task finished before the mark, the enqueue adds the task after all', async () => {
    const id = (await enqueue(db, { kind: 'rerun.late', dedupeKey: 'rl' }))!;
    const t = await claimOne('rerun.late');
    // the enqueue's insert found the key taken; by the time it marks, the task has finished
    await completeTask(db, t);
    const added = await db.query<{ id: string }>('select sluice_enqueue_taken($1::jsonb) as id', [
      JSON.stringify([
        {
          kind: 'rerun.late',
          payload: { n: 2 },
          pool: 'default',
          tags: [],
          priority: 0,
          max_attempts: 10,
          dedupe_key: 'rl',
          ord: 0,
        },
      ]),
    ]);
    expect(added).toHaveLength(1);
    expect(added[0]!.id).not.toBe(id);
    expect((await task(added[0]!.id)).state).toBe('queued');
  });
});
