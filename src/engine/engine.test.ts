import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/helpers/db.ts';
import { waitFor } from '../../test/helpers/spawn.ts';
import type { Db } from '../core/db/db.ts';
import { PermanentError, type SluiceError } from '../core/errors.ts';
import { silentLogger } from '../core/log.ts';
import { backoffMs } from './backoff.ts';
import { enqueue, getTask } from './enqueue.ts';
import { listEvents, recordEvent } from './events.ts';
import { listPools, setPoolSize, syncPools } from './pools.ts';
import { ensureSchedules, runDueSchedules } from './schedules.ts';
import type { TaskHandlerDef } from './types.ts';
import { Worker } from './worker.ts';

let db: Db;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  await syncPools(db, { default: 10, copy: 2 });
  await db.exec('create table domain (id text primary key, state text)');
});
afterAll(async () => drop());

function worker(handlers: TaskHandlerDef[], extra: Partial<ConstructorParameters<typeof Worker>[0]> = {}) {
  return new Worker({
    db,
    log: silentLogger,
    handlers,
    pollMs: 100,
    leaseMs: 3000,
    heartbeatMs: 500,
    backoffBaseMs: 20,
    ...extra,
  });
}

const state = async (id: string) => (await getTask(db, id))!.state;

describe('engine, in one process', () => {
  it('runs a task and commits its domain write in the same transaction as completion', async () => {
    const w = worker([
      {
        kind: 'mark',
        async run(ctx) {
          await ctx.complete(async (tx) => {
            await tx.exec('insert into domain values ($1, $2)', [ctx.task.subject, 'done']);
          });
        },
      },
    ]);
    await w.start();
    const id = (await enqueue(db, { kind: 'mark', subject: 'f1' }))!;
    await waitFor('task done', async () => (await state(id)) === 'succeeded');
    await w.stop();
    expect(await db.one('select state from domain where id = $1', ['f1'])).toEqual({ state: 'done' });
  });

  it('retries a transient error with backoff, then succeeds', async () => {
    let calls = 0;
    const w = worker([
      {
        kind: 'flaky',
        async run() {
          calls++;
          if (calls < 3) throw new Error('network blip');
        },
      },
    ]);
    await w.start();
    const id = (await enqueue(db, { kind: 'flaky' }))!;
    await waitFor('flaky succeeded', async () => (await state(id)) === 'succeeded');
    await w.stop();
    const t = (await getTask(db, id))!;
    expect(calls).toBe(3);
    expect(t.attempts).toBe(3);
  });

  it('stops at a permanent error and lets the domain record it in the same transaction', async () => {
    const w = worker([
      {
        kind: 'doomed',
        async run() {
          throw new PermanentError('x.bad', 'the file is not raw data', 'ignore it');
        },
        async onFailed(tx, task, err) {
          await tx.exec('insert into domain values ($1, $2)', [
            task.subject,
            `error: ${(err as Error).message}`,
          ]);
        },
      },
    ]);
    await w.start();
    const id = (await enqueue(db, { kind: 'doomed', subject: 'f2' }))!;
    await waitFor('doomed failed', async () => (await state(id)) === 'failed');
    await w.stop();
    const t = (await getTask(db, id))!;
    expect(t.attempts).toBe(1);
    expect(t.last_error).toContain('not raw data');
    expect(await db.one('select state from domain where id = $1', ['f2'])).toEqual({
      state: 'error: the file is not raw data',
    });
  });

  it('gives up after max_attempts transient failures', async () => {
    const w = worker([
      {
        kind: 'always',
        async run() {
          throw new Error('still broken');
        },
      },
    ]);
    await w.start();
    const id = (await enqueue(db, { kind: 'always', maxAttempts: 3 }))!;
    await waitFor('always failed', async () => (await state(id)) === 'failed');
    await w.stop();
    expect((await getTask(db, id))!.attempts).toBe(3);
  });

  it('a task whose attempts were all cut short is paused, then runs again with a fresh budget; never failed for good', async () => {
    let runs = 0;
    const said: string[] = [];
    const w = worker([
      {
        kind: 'cut-short',
        async run() {
          runs++;
        },
        async onRetry(_tx, _task, err) {
          said.push((err as Error).message);
        },
      },
    ]);
    const id = (await enqueue(db, { kind: 'cut-short', maxAttempts: 3 }))!;
    // three attempts began and were cut short (their workers killed): running, lease expired
    await db.exec(
      `update tasks set state = 'running', attempts = 3, token = 3, lease_owner = 'gone',
         lease_expires_at = now() - interval '1 second' where id = $1`,
      [id],
    );
    await w.start();
    await waitFor('the task done after its pause', async () => (await state(id)) === 'succeeded');
    await w.stop();
    const t = (await getTask(db, id))!;
    expect(runs).toBe(1); // the fourth start only paused it; the fifth ran it
    expect(t.attempts).toBe(1); // counted afresh after the pause
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/started 3 times without finishing .*trying again after a pause/);
  });

  it('`again` re-queues without counting an attempt', async () => {
    let calls = 0;
    const w = worker([
      {
        kind: 'poll',
        async run(ctx) {
          calls++;
          if (calls < 4) return ctx.again(10);
        },
      },
    ]);
    await w.start();
    const id = (await enqueue(db, { kind: 'poll', maxAttempts: 2 }))!;
    await waitFor('poll done', async () => (await state(id)) === 'succeeded');
    await w.stop();
    expect(calls).toBe(4);
  });

  it('`remember` keeps a choice in the payload for the next attempt, also when the attempt fails', async () => {
    const seen: unknown[] = [];
    const w = worker([
      {
        kind: 'choose',
        async run(ctx) {
          seen.push(ctx.task.payload.choice);
          if (ctx.task.payload.choice === undefined) {
            await ctx.remember({ choice: 'b' });
            throw new Error('died after choosing');
          }
        },
      },
    ]);
    await w.start();
    const id = (await enqueue(db, { kind: 'choose', payload: { keep: 1 }, maxAttempts: 3 }))!;
    await waitFor('choose done', async () => (await state(id)) === 'succeeded');
    await w.stop();
    expect(seen).toEqual([undefined, 'b']);
    expect((await getTask(db, id))!.payload).toEqual({ keep: 1, choice: 'b' });
  });

  it('deduplicates by key while a task is queued or running, not after', async () => {
    const a = await enqueue(db, { kind: 'none', dedupeKey: 'k1' });
    const b = await enqueue(db, { kind: 'none', dedupeKey: 'k1' });
    expect(a).toBeDefined();
    expect(b).toBeUndefined();
    await db.exec(`update tasks set state = 'succeeded' where id = $1`, [a]);
    expect(await enqueue(db, { kind: 'none', dedupeKey: 'k1' })).toBeDefined();
  });

  it('runs only tasks whose tags the worker has', async () => {
    const seen: string[] = [];
    const w = worker(
      [
        {
          kind: 'tagged',
          async run(ctx) {
            seen.push(ctx.task.subject!);
          },
        },
      ],
      { tags: ['instrument:a'] },
    );
    await w.start();
    const mine = (await enqueue(db, { kind: 'tagged', subject: 'a', tags: ['instrument:a'] }))!;
    const other = (await enqueue(db, { kind: 'tagged', subject: 'b', tags: ['instrument:b'] }))!;
    await waitFor('tagged done', async () => (await state(mine)) === 'succeeded');
    await new Promise((r) => setTimeout(r, 300));
    await w.stop();
    expect(seen).toEqual(['a']);
    expect(await state(other)).toBe('queued');
  });

  it('a pool of size 0 starts nothing; setting it back resumes', async () => {
    await setPoolSize(db, 'copy', 0, 'test');
    const w = worker([{ kind: 'copyish', async run() {} }]);
    await w.start();
    const id = (await enqueue(db, { kind: 'copyish', pool: 'copy' }))!;
    await new Promise((r) => setTimeout(r, 500));
    expect(await state(id)).toBe('queued');
    await setPoolSize(db, 'copy', null, 'test');
    await waitFor('copyish done', async () => (await state(id)) === 'succeeded');
    await w.stop();
    const pools = await listPools(db);
    expect(pools.find((p) => p.name === 'copy')).toMatchObject({ size: 2, override: null });
    const audit = await db.query<{ new_size: number }>(
      `select new_size from pool_audit where pool = 'copy' order by id`,
    );
    expect(audit.map((a) => a.new_size)).toEqual([0, 2]);
  });

  it('a claim takes at most its limit whatever plan PostgreSQL picks, new tasks and expired leases alike', async () => {
    await syncPools(db, { burst: 5 });
    await db.exec(`delete from tasks where pool = 'burst'`);
    const client = await db.pool.connect();
    try {
      // the plan that once let one claim take every queued task: a nested-loop semi join that runs
      // the locking subquery again for each row (seen in CI with the default settings)
      for (const s of [
        'enable_hashagg',
        'enable_hashjoin',
        'enable_mergejoin',
        'enable_material',
        'enable_sort',
      ])
        await client.query(`set ${s} = off`);
      for (let i = 0; i < 10; i++) await enqueue(db, { kind: 'burst', pool: 'burst' });
      const claim = async () =>
        (await client.query(`select id from sluice_claim('w1', array['burst'], array[]::text[], 2, 60000)`))
          .rowCount;
      expect(await claim()).toBe(2);
      expect(await claim()).toBe(2);
      expect(await claim()).toBe(1); // the pool's size (5) is the limit now
      const running = `select count(*)::int as n from tasks where pool = 'burst' and state = 'running'`;
      expect((await db.one<{ n: number }>(running)).n).toBe(5);
      // every lease expires: a takeover is limited the same way
      await db.exec(`update tasks set lease_expires_at = now() - interval '1 s' where pool = 'burst'`);
      const taken = await client.query(
        `select id from sluice_claim('w2', array['burst'], array[]::text[], 2, 60000)`,
      );
      expect(taken.rowCount).toBe(2);
      expect(
        (await db.one<{ n: number }>(`select count(*)::int as n from tasks where lease_owner = 'w2'`)).n,
      ).toBe(2);
    } finally {
      await client.query('reset all');
      client.release();
      await db.exec(`delete from tasks where pool = 'burst'`);
    }
  });

  it('rejects a negative or unknown pool size change with a clear message', async () => {
    await expect(setPoolSize(db, 'copy', -1, 'test')).rejects.toThrow(/whole number ≥ 0/);
    await expect(setPoolSize(db, 'nope', 1, 'test')).rejects.toThrow(/unknown pool 'nope'.*/);
  });

  it('on stop past the grace period, aborts running work and releases the lease for others', async () => {
    const w = worker([
      {
        kind: 'slow',
        async run(ctx) {
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
          throw new Error('aborted');
        },
      },
    ]);
    await w.start();
    const id = (await enqueue(db, { kind: 'slow' }))!;
    await waitFor('slow running', async () => (await state(id)) === 'running');
    await w.stop(200);
    const t = (await getTask(db, id))!;
    expect(t.state).toBe('queued');
    expect(t.lease_owner).toBeNull();
    expect(t.attempts).toBe(0);
  });

  it('gives up an attempt that stalls, frees its slot at once, and retries it later without counting an attempt', async () => {
    let runs = 0;
    let release: (() => void) | undefined;
    const retries: { code: string; message: string; retryInMs: number }[] = [];
    const ran: string[] = [];
    const w = worker(
      [
        {
          kind: 'share.read',
          stallMs: 300,
          async run(ctx) {
            runs++;
            ctx.progress('reading /share/a.raw');
            // the first attempt hangs like a read from a hung share: it ignores its signal
            if (runs === 1) await new Promise<void>((r) => (release = r));
          },
          async onRetry(_tx, _task, err, retryInMs) {
            const e = err as SluiceError;
            retries.push({ code: e.code, message: e.message, retryInMs });
          },
        },
        {
          kind: 'local',
          async run(ctx) {
            ran.push(ctx.task.subject!);
          },
        },
      ],
      { concurrency: 1, maxStuck: 1, stallCheckMs: 50, backoffBaseMs: 400 },
    );
    await w.start();
    try {
      const id = (await enqueue(db, { kind: 'share.read', subject: 'a' }))!;
      await waitFor('the attempt given up', async () => retries.length === 1);
      expect(retries[0]).toMatchObject({ code: 'task.stalled' });
      expect(retries[0]!.message).toMatch(
        /^no progress reading \/share\/a\.raw for 0\.3 s: the share may be hung/,
      );
      const t = (await getTask(db, id))!;
      expect(t.last_error).toMatch(/no progress reading/);
      expect(t.attempts).toBe(0); // a stall is not an attempt
      expect(t.payload.stalls).toBe(1);
      expect(w.stuckTasks).toMatchObject([{ taskId: id, kind: 'share.read', doing: 'reading /share/a.raw' }]);
      // The only slot is free again: other work runs while the first attempt is still stuck; work
      // that reads shares waits while this worker has maxStuck stuck tasks.
      const other = (await enqueue(db, { kind: 'share.read', subject: 'b' }))!;
      await enqueue(db, { kind: 'local', subject: 'l1' });
      await waitFor('local work done meanwhile', async () => ran.includes('l1'));
      expect(runs).toBe(1);
      expect(await state(other)).toBe('queued');
      // the share answers: the stuck attempt returns (its late completion is fenced off), the retry succeeds
      release!();
      await waitFor('retried and succeeded', async () => (await state(id)) === 'succeeded');
      await waitFor('the other share task ran', async () => (await state(other)) === 'succeeded');
      expect(w.stuckTasks).toEqual([]);
      expect(runs).toBe(3);
    } finally {
      release?.();
      await w.stop();
    }
  });

  it('records events in order for a subject', async () => {
    await recordEvent(db, {
      subjectType: 'file',
      subjectId: 'x',
      actor: 'test',
      from: null,
      to: 'discovered',
    });
    await recordEvent(db, {
      subjectType: 'file',
      subjectId: 'x',
      actor: 'test',
      from: 'discovered',
      to: 'acquiring',
      reason: 'growing',
    });
    const ev = await listEvents(db, 'file', 'x');
    expect(ev.map((e) => e.to_state)).toEqual(['discovered', 'acquiring']);
    expect(ev[1]!.reason).toBe('growing');
  });

  it('a due schedule is enqueued once per period, however often it is ticked', async () => {
    await ensureSchedules(db, [{ name: 'scan:x', kind: 'scan', intervalMs: 60_000 }]);
    const n1 = await runDueSchedules(db);
    const n2 = await runDueSchedules(db);
    expect(n1).toBe(1);
    expect(n2).toBe(0);
    const next = await db.one<{ next_run_at: Date }>(
      `select next_run_at from schedules where name = 'scan:x'`,
    );
    expect(next.next_run_at.getTime()).toBeGreaterThan(Date.now() + 50_000);
  });

  it('backoff grows exponentially with jitter and is capped', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
