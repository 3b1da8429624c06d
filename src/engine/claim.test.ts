/**
 * The claim (sluice_claim, sluice_finish: migration 0018): two claims on one pool do not wait for
 * each other, and together never take more than the pool's size; after a pool shrinks, claims
 * stay within the new size while older tasks still run outside it; a batch of completions claims
 * the next tasks in the same statement, fenced, and a worker doing so keeps to its concurrency; so
 * does a completion with domain writes, whose transaction claims the task taking its place.
 */
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/helpers/db.ts';
import { waitFor } from '../../test/helpers/spawn.ts';
import type { Db } from '../core/db/db.ts';
import { silentLogger } from '../core/log.ts';
import { enqueueMany } from './enqueue.ts';
import { setPoolSize, syncPools } from './pools.ts';
import type { TaskContext } from './types.ts';
import { Worker } from './worker.ts';

let db: Db;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
});
afterAll(async () => drop());
afterEach(async () => {
  await db.exec('delete from tasks');
});

/** Pool `name` of `size` slots, with `tasks` tasks of kind `c` queued in it. */
async function poolWith(name: string, size: number, tasks: number): Promise<void> {
  await syncPools(db, { [name]: size });
  await enqueueMany(
    db,
    Array.from({ length: tasks }, () => ({ kind: 'c', pool: name })),
  );
}

/**
 * Runs a worker of concurrency 3 on `wdb` over kind `c` until `tasks` handlers have returned; each
 * handler runs `body` (then yields once, its tail). Returns how many handlers ran at most at once,
 * and how many ran.
 */
async function runCounted(
  wdb: Db,
  tasks: number,
  body: (ctx: TaskContext) => Promise<void>,
): Promise<{ most: number; ran: number }> {
  let now = 0;
  let most = 0;
  let ran = 0;
  const w = new Worker({
    db: wdb,
    log: silentLogger,
    concurrency: 3,
    handlers: [
      {
        kind: 'c',
        async run(ctx) {
          now++;
          most = Math.max(most, now);
          await body(ctx);
          await new Promise((r) => setImmediate(r));
          now--;
          ran++;
        },
      },
    ],
  });
  await w.start();
  try {
    await waitFor(`${tasks} tasks done`, async () => ran >= tasks, 120_000, 50);
  } finally {
    await w.stop();
  }
  return { most, ran };
}

/** Runs `body` with a client of the pool to itself (released after). */
async function withClient(body: (c: pg.PoolClient) => Promise<void>): Promise<void> {
  const c = await db.pool.connect();
  try {
    await body(c);
  } finally {
    c.release();
  }
}

const claim = async (c: pg.ClientBase, worker: string, limit: number) =>
  (
    await c.query<{ id: string; slot: number }>(
      `select id, slot from sluice_claim($1, array['c'], array[]::text[], $2, 60000)`,
      [worker, limit],
    )
  ).rows;

const live = async (pool: string) =>
  (
    await db.one<{ n: number }>(
      `select count(*)::int as n from tasks where pool = $1 and state = 'running' and lease_expires_at >= now()`,
      [pool],
    )
  ).n;

const queued = async (pool: string) =>
  (
    await db.one<{ n: number }>(`select count(*)::int as n from tasks where pool = $1 and state = 'queued'`, [
      pool,
    ])
  ).n;

const finish = (ids: string[]) =>
  db.exec(`update tasks set state = 'succeeded', finished_at = now() where id = any($1::bigint[])`, [ids]);

describe('claim', () => {
  it('two claims on one pool proceed together and share its slots, never more than its size', async () => {
    await poolWith('both', 4, 10);
    const c1 = await db.pool.connect();
    const c2 = await db.pool.connect();
    try {
      // A claim waiting for the other's commit would fail here instead of hanging.
      await c2.query(`set lock_timeout = '10s'`);
      await c1.query('begin');
      const first = await claim(c1, 'w1', 3);
      expect(first).toHaveLength(3);
      // c1 has not committed: c2 neither waits for it nor takes its slots
      const second = await claim(c2, 'w2', 3);
      expect(second).toHaveLength(1);
      const slots = [...first, ...second].map((r) => r.slot).sort();
      expect(slots).toEqual([0, 1, 2, 3]);
      await c1.query('commit');
      // c2 locked three queued tasks before it found one slot free: the other two stayed queued
      expect(await queued('both')).toBe(6);
      expect(await claim(c2, 'w2', 3)).toHaveLength(0);
      expect(await live('both')).toBe(4);
      // a freed slot is taken again, by one claim only
      await finish([first[0]!.id]);
      await c1.query('begin');
      expect(await claim(c1, 'w1', 3)).toEqual([expect.objectContaining({ slot: first[0]!.slot })]);
      expect(await claim(c2, 'w2', 3)).toHaveLength(0);
      await c1.query('commit');
      expect(await live('both')).toBe(4);
    } finally {
      await c1.query('rollback').catch(() => undefined);
      await c2.query('reset all');
      c1.release();
      c2.release();
    }
  });

  it('after a pool shrinks, claims wait until fewer than its new size run, whatever slots they hold', async () => {
    await poolWith('shrink', 4, 10);
    await withClient(async (c) => {
      const running = await claim(c, 'w1', 4);
      expect(running.map((r) => r.slot).sort()).toEqual([0, 1, 2, 3]);
      await setPoolSize(db, 'shrink', 2, 'test');
      const bySlot = (s: number) => running.find((r) => r.slot === s)!.id;
      // slots 0 and 1 free up, but 2 and 3 still run: the pool of 2 is full
      await finish([bySlot(0), bySlot(1)]);
      expect(await claim(c, 'w1', 4)).toHaveLength(0);
      // one left, outside the slots (3): one more may start
      await finish([bySlot(2)]);
      expect(await claim(c, 'w1', 4)).toHaveLength(1);
      expect(await claim(c, 'w1', 4)).toHaveLength(0);
      expect(await live('shrink')).toBe(2);
      // a task running without a slot (claimed before migration 0018) counts too
      await db.exec(`update tasks set slot = null where id = $1`, [bySlot(3)]);
      await finish(
        (
          await c.query(
            `select id from tasks where pool = 'shrink' and state = 'running' and slot is not null`,
          )
        ).rows.map((r) => r.id as string),
      );
      expect(await claim(c, 'w1', 4)).toHaveLength(1);
      expect(await live('shrink')).toBe(2);
    });
  });

  it('takes over an expired lease first, then fills the other free slots from the queue, a slot each', async () => {
    await poolWith('expiry', 3, 4);
    await withClient(async (c) => {
      const [cut] = await claim(c, 'w1', 1);
      await db.exec(`update tasks set lease_expires_at = now() - interval '1 s' where id = $1`, [cut!.id]);
      const got = await claim(c, 'w2', 3);
      expect(got).toHaveLength(3);
      expect(got.map((r) => r.id)).toContain(cut!.id);
      expect(got.map((r) => r.slot).sort()).toEqual([0, 1, 2]);
      expect(await live('expiry')).toBe(3);
      expect(await queued('expiry')).toBe(1);
      expect(await claim(c, 'w2', 3)).toHaveLength(0);
    });
  });

  it('a drained pool starts nothing, though its slots are free', async () => {
    await poolWith('drained', 3, 1);
    await setPoolSize(db, 'drained', 0, 'test');
    await withClient(async (c) => {
      expect(await claim(c, 'w1', 3)).toHaveLength(0);
      await setPoolSize(db, 'drained', null, 'test');
      expect(await claim(c, 'w1', 3)).toHaveLength(1);
    });
  });

  it('completing a batch claims the next tasks in the same statement, fenced by the token', async () => {
    await poolWith('refill', 2, 3);
    await withClient(async (c) => {
      const [a, b] = (
        await c.query<{ id: string; token: string }>(
          `select id, token from sluice_claim('w1', array['c'], array[]::text[], 2, 60000)`,
        )
      ).rows;
      const finish = `select id, state, slot from sluice_finish($1, $2, 'w1', array['c'], array[]::text[], 2, 60000)`;
      // b with a stale token: not completed, and its slot stays taken
      const rows = (
        await c.query(finish, [
          [a!.id, b!.id],
          [a!.token, String(Number(b!.token) - 1)],
        ])
      ).rows;
      expect(rows.filter((r) => r.state === 'succeeded').map((r) => r.id)).toEqual([a!.id]);
      expect(rows.filter((r) => r.state === 'running')).toHaveLength(1);
      expect(await live('refill')).toBe(2);
    });
  });

  it('a completed row comes back with its id and state only; a claimed row whole (migration 0047)', async () => {
    await poolWith('slim', 1, 2);
    await withClient(async (c) => {
      const [a] = (await c.query(`select * from sluice_claim('w1', array['c'], array[]::text[], 1, 60000)`))
        .rows;
      const rows = (
        await c.query(`select * from sluice_finish($1, $2, 'w1', array['c'], array[]::text[], 1, 60000)`, [
          [a.id],
          [a.token],
        ])
      ).rows;
      const done = rows.find((r) => r.id === a.id);
      const next = rows.find((r) => r.state === 'running');
      expect(done).toMatchObject({ id: a.id, state: 'succeeded', kind: null, payload: null, token: null });
      expect(next).toMatchObject({ kind: 'c', pool: 'slim', lease_owner: 'w1', slot: 0 });
      expect(next.token).not.toBeNull();
      expect(next.payload).toEqual({});
    });
  });

  it('plans its statements once per connection (migration 0052: plan_cache_mode on the function)', async () => {
    // The setting is lost silently if a later migration replaces sluice_claim without it.
    const r = await db.one<{ config: string[] | null }>(
      `select proconfig as config from pg_proc where proname = 'sluice_claim'`,
    );
    expect(r.config).toContain('plan_cache_mode=force_generic_plan');
    // and a claim under it still takes what is queued, up to the limit
    await poolWith('g', 4, 6);
    const got = await db.query<{ id: string }>('select id from sluice_claim($1, $2, $3, $4, $5)', [
      'w',
      ['c'],
      [],
      3,
      60_000,
    ]);
    expect(got).toHaveLength(3);
  });

  it('a takeover is recorded on the task, a completion keeps it, a claim from the queue clears it', async () => {
    await poolWith('over', 2, 2);
    const takenOver = async (id: string) =>
      (
        await db.one<{ t: { worker?: string; by?: string } | null }>(
          `select taken_over as t from tasks where id = $1`,
          [id],
        )
      ).t;
    await withClient(async (c) => {
      const lease = (worker: string, ms: number, limit = 1) =>
        c.query<{ id: string; token: string }>(
          `select id, token from sluice_claim($1, array['c'], array[]::text[], $2, $3)`,
          [worker, limit, ms],
        );
      // w1's leases run out at once; w2 takes the two tasks over
      const first = (await lease('w1', 0, 2)).rows;
      expect(first).toHaveLength(2);
      const [x, y] = (await lease('w2', 60000, 2)).rows;
      expect([x!.id, y!.id].sort()).toEqual(first.map((t) => t.id).sort());
      expect(await takenOver(x!.id)).toMatchObject({ worker: 'w1', by: 'w2' });
      // x completes (the record stays, the history of that attempt); y goes back to the queue
      await c.query(`select * from sluice_finish($1, $2, 'w2', array['c'], array[]::text[], 0, 60000)`, [
        [x!.id],
        [x!.token],
      ]);
      expect(await takenOver(x!.id)).toMatchObject({ worker: 'w1', by: 'w2' });
      await db.exec(
        `update tasks set state = 'queued', lease_owner = null, lease_expires_at = null where id = $1`,
        [y!.id],
      );
      expect(await takenOver(y!.id)).toMatchObject({ worker: 'w1', by: 'w2' });
      // claimed from the queue: a fresh attempt, nothing taken over
      expect((await lease('w3', 60000)).rows.map((t) => t.id)).toEqual([y!.id]);
      expect(await takenOver(y!.id)).toBeNull();
    });
  });

  it('a worker refilling its slots from completions never runs more than its concurrency', async () => {
    await poolWith('wide', 20, 200);
    const { most, ran } = await runCounted(db, 200, async () => undefined);
    expect(most).toBe(3);
    expect(ran).toBe(200);
  });

  it('a task completing with domain writes claims its successor in that transaction; no more handlers run than the concurrency', async () => {
    await poolWith('tx', 20, 100);
    // claims sent outside a transaction: the worker's loop (a completing transaction's go through its client)
    let loopClaims = 0;
    const counted = new Proxy(db, {
      get(target, prop) {
        if (prop === 'query') {
          return (sql: string, params?: unknown[]) => {
            if (sql.includes('sluice_claim')) loopClaims++;
            return target.query(sql, params);
          };
        }
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const { most, ran } = await runCounted(counted, 100, async (ctx) => {
      await ctx.complete(async (tx) => {
        await tx.exec(`select 1`);
      });
    });
    expect(most).toBe(3);
    expect(ran).toBe(100);
    expect(
      (await db.one<{ n: number }>(`select count(*)::int as n from tasks where state = 'succeeded'`)).n,
    ).toBe(100);
    // each completion refilled its own slot; the loop claimed at the start (and polled at the end)
    expect(loopClaims).toBeLessThan(15);
  });
});
