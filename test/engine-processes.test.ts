/**
 * The engine across real processes on real PostgreSQL: pool limits, crash takeover, fencing of a
 * stale worker, draining, schedules, and a database restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../src/core/db/db.ts';
import { freePort, startEmbedded } from '../src/core/db/embedded.ts';
import { migrate } from '../src/core/db/migrate.ts';
import { silentLogger } from '../src/core/log.ts';
import { enqueue, enqueueMany } from '../src/engine/enqueue.ts';
import { setPoolSize, syncPools } from '../src/engine/pools.ts';
import { ensureSchedules } from '../src/engine/schedules.ts';
import { statusSnapshot } from '../src/engine/status.ts';
import { createTestDb } from './helpers/db.ts';
import { spawnTs, waitExit, waitFor } from './helpers/spawn.ts';

const WORKER = 'test/helpers/engine-worker.ts';

async function setupTables(db: Db) {
  await db.exec(
    `create table test_runs (task_id bigint, worker text, token bigint, started_ms bigint, ended_ms bigint)`,
  );
  await db.exec(
    `create table test_ticks (schedule text, scheduled_for text, worker text, at timestamptz default now())`,
  );
}

/** The largest number of [start, end) intervals that overlap at any instant. */
function maxOverlap(runs: { started_ms: string; ended_ms: string }[]): number {
  const points = runs.flatMap((r) => [
    [Number(r.started_ms), 1],
    [Number(r.ended_ms), -1],
  ]);
  points.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!); // ends before starts at the same ms
  let cur = 0;
  let max = 0;
  for (const [, d] of points) {
    cur += d!;
    max = Math.max(max, cur);
  }
  return max;
}

describe('engine across processes', () => {
  let db: Db;
  let url: string;
  let drop: () => Promise<void>;
  const children: Awaited<ReturnType<typeof spawnTs>>[] = [];

  beforeAll(async () => {
    ({ db, url, drop } = await createTestDb());
    await setupTables(db);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
      await waitExit(c);
    }
    await db.exec('delete from test_runs; delete from test_ticks; delete from tasks; delete from schedules');
  });
  afterAll(async () => drop());

  const start = async (env: Record<string, string> = {}) => {
    const c = await spawnTs(WORKER, { DATABASE_URL: url, ...env });
    children.push(c);
    return c;
  };

  it('never runs more tasks at once than the pool allows, across three processes and 1,200 tasks', async () => {
    await syncPools(db, { default: 10, limited: 3 });
    // Each process runs at most 2 at once, so filling the pool of 3 takes two processes: the limit
    // is then enforced across processes, not just inside one.
    const ws = await Promise.all([
      start({ CONCURRENCY: '2' }),
      start({ CONCURRENCY: '2' }),
      start({ CONCURRENCY: '2' }),
    ]);
    await enqueueMany(
      db,
      Array.from({ length: 1200 }, () => ({ kind: 'sleep', pool: 'limited', payload: { ms: 2 } })),
    );
    await waitFor(
      'all 1200 done',
      async () => (await db.one<{ n: string }>('select count(*) as n from test_runs')).n === '1200',
      240_000,
      250,
    );
    const runs = await db.query<{ started_ms: string; ended_ms: string; worker: string }>(
      'select * from test_runs',
    );
    expect(maxOverlap(runs)).toBeLessThanOrEqual(3);
    expect(maxOverlap(runs)).toBe(3); // the limit is reached (which takes two processes), not just respected by starving
    expect(new Set(runs.map((r) => r.worker)).size).toBeGreaterThanOrEqual(2); // several processes took part
    const states = await db.query<{ state: string; n: string }>(
      `select state, count(*) as n from tasks where pool = 'limited' group by state`,
    );
    expect(states).toEqual([{ state: 'succeeded', n: '1200' }]);
    for (const w of ws) {
      w.kill('SIGTERM');
      expect(await waitExit(w)).toBe(0);
    }
    await db.exec('delete from test_runs');
  });

  it('takes over the tasks of a worker killed with SIGKILL once its leases expire', async () => {
    const victim = await start({
      CONCURRENCY: '4',
      LEASE_MS: '1500',
      HEARTBEAT_MS: '300',
      WORKER_ID: 'victim',
    });
    await enqueueMany(
      db,
      Array.from({ length: 4 }, () => ({ kind: 'sleep', pool: 'default', payload: { ms: 60_000 } })),
    );
    await waitFor(
      'victim holds 4 leases',
      async () =>
        (
          await db.one<{ n: string }>(
            `select count(*) as n from tasks where lease_owner = 'victim' and state = 'running'`,
          )
        ).n === '4',
    );
    victim.kill('SIGKILL');
    await waitExit(victim);
    await db.exec(`update tasks set payload = '{"ms": 5}' where kind = 'sleep' and state = 'running'`);
    const rescuer = await start({ CONCURRENCY: '4', WORKER_ID: 'rescuer' });
    await waitFor(
      'rescued tasks done',
      async () =>
        (await db.one<{ n: string }>(`select count(*) as n from test_runs where worker = 'rescuer'`)).n ===
        '4',
      60_000,
    );
    const tasks = await db.query<{ state: string; attempts: number; token: string }>(
      `select state, attempts, token from tasks where kind = 'sleep'`,
    );
    expect(tasks.every((t) => t.state === 'succeeded' && t.attempts === 2 && t.token === '2')).toBe(true);
    rescuer.kill('SIGTERM');
    await waitExit(rescuer);
    await db.exec('delete from test_runs; delete from tasks');
  });

  // Issue 16: a worker restarted on the same host takes over at once. The lease is 300 s, so on a
  // build without the same-host check this test times out waiting for the rescue.
  it("a worker started on the same host takes over a SIGKILLed worker's tasks at once, not after the lease", async () => {
    await syncPools(db, { default: 10 });
    const victim = await start({
      CONCURRENCY: '2',
      LEASE_MS: '300000',
      HEARTBEAT_MS: '1000',
      WORKER_ID: 'victim-long',
    });
    await enqueueMany(
      db,
      Array.from({ length: 2 }, () => ({ kind: 'sleep', pool: 'default', payload: { ms: 600_000 } })),
    );
    await waitFor(
      'victim holds 2 leases',
      async () =>
        (
          await db.one<{ n: string }>(
            `select count(*) as n from tasks where lease_owner = 'victim-long' and state = 'running'`,
          )
        ).n === '2',
    );
    victim.kill('SIGKILL');
    await waitExit(victim);
    await db.exec(`update tasks set payload = '{"ms": 5}' where kind = 'sleep' and state = 'running'`);
    const rescuer = await start({ CONCURRENCY: '2', LEASE_MS: '300000', WORKER_ID: 'rescuer-now' });
    await waitFor(
      'rescued tasks done',
      async () =>
        (await db.one<{ n: string }>(`select count(*) as n from test_runs where worker = 'rescuer-now'`))
          .n === '2',
      120_000,
    );
    const tasks = await db.query<{ attempts: number; taken_over: Record<string, unknown> | null }>(
      `select attempts, taken_over from tasks where kind = 'sleep'`,
    );
    for (const t of tasks) {
      expect(t.attempts).toBe(2);
      expect(t.taken_over).toMatchObject({
        attempt: 1,
        worker: 'victim-long',
        by: 'rescuer-now',
        cause: 'worker_died',
      });
    }
    const snap = await statusSnapshot(db, 60_000);
    const dead = snap.processes.find((p) => p.id === 'victim-long');
    expect(dead).toMatchObject({ alive: false });
    expect(dead!.dead_at).toBeInstanceOf(Date);
    expect(dead!.death).toMatch(/process \d+ on .* is gone; found by rescuer-now/);
    expect(snap.processes.find((p) => p.id === 'rescuer-now')).toMatchObject({ alive: true });
    rescuer.kill('SIGTERM');
    await waitExit(rescuer);
    await db.exec('delete from test_runs; delete from tasks');
  });

  it('a stale worker that wakes after its lease was taken over cannot overwrite the newer result', async () => {
    const stale = await start({
      CONCURRENCY: '1',
      LEASE_MS: '1500',
      HEARTBEAT_MS: '300',
      WORKER_ID: 'stale',
    });
    const id = (await enqueue(db, { kind: 'sleep', payload: { ms: 3000 } }))!;
    await waitFor(
      'stale runs it',
      async () =>
        (await db.maybeOne(`select 1 from tasks where id = $1 and lease_owner = 'stale'`, [id])) !==
        undefined,
    );
    stale.kill('SIGSTOP'); // frozen: no heartbeats, the lease expires
    const fresh = await start({ CONCURRENCY: '1', WORKER_ID: 'fresh' });
    await waitFor(
      'fresh finished it',
      async () => (await db.maybeOne(`select 1 from test_runs where worker = 'fresh'`)) !== undefined,
      60_000,
    );
    stale.kill('SIGCONT'); // its sleep ends and it tries to complete with the old token
    await new Promise((r) => setTimeout(r, 3000));
    const runs = await db.query<{ worker: string; token: string }>(
      'select worker, token from test_runs where task_id = $1',
      [id],
    );
    expect(runs).toEqual([{ worker: 'fresh', token: '2' }]);
    expect(await db.one(`select state, token from tasks where id = $1`, [id])).toEqual({
      state: 'succeeded',
      token: '2',
    });
    for (const c of [stale, fresh]) {
      c.kill('SIGTERM');
      await waitExit(c);
    }
    await db.exec('delete from test_runs; delete from tasks');
  });

  // This test found the claim that took every queued task of a pool at once (one worker ran all 10
  // in a pool of 2; migration 0010): the diagnostics it prints on failure showed it.
  it('a pool set to 0 lets running work finish and starts nothing; set back, work resumes', async () => {
    await syncPools(db, { drainme: 2 });
    const ws = [await start({ CONCURRENCY: '2' }), await start({ CONCURRENCY: '2' })];
    await enqueueMany(
      db,
      // long enough that a machine slowed down by other tests cannot finish all 10 (2 at a time,
      // at least 20 s) before the drain below takes effect
      Array.from({ length: 10 }, () => ({ kind: 'sleep', pool: 'drainme', payload: { ms: 4000 } })),
    );
    const { at: enqueuedAt } = await db.one<{ at: Date }>('select clock_timestamp() as at');
    await waitFor(
      'work running in the pool',
      async () =>
        Number(
          (
            await db.one<{ n: string }>(
              `select count(*) as n from tasks where pool = 'drainme' and state = 'running'`,
            )
          ).n,
        ) >= 1,
      120_000,
      50,
    );
    const { seen_at: runningSeenAt } = await db.one<{ seen_at: Date }>('select clock_timestamp() as seen_at');
    await setPoolSize(db, 'drainme', 0, 'test');
    const { drained_at: drainedAt } = await db.one<{ drained_at: Date }>(
      'select clock_timestamp() as drained_at',
    );
    await waitFor(
      'running ones finished',
      async () =>
        (
          await db.one<{ n: string }>(
            `select count(*) as n from tasks where pool = 'drainme' and state = 'running'`,
          )
        ).n === '0',
      30_000,
    );
    // distinct tasks: under heavy load a lease can expire and a task run twice (at least once)
    const doneAtDrain = Number(
      (await db.one<{ n: string }>(`select count(distinct task_id) as n from test_runs`)).n,
    );
    expect(doneAtDrain).toBeGreaterThanOrEqual(1); // what was running finished
    if (doneAtDrain >= 10) {
      // printed as well as thrown, so a CI log shows them whatever the reporter keeps
      const diagnostics = JSON.stringify({
        enqueuedAt,
        runningSeenAt,
        drainedAt,
        runs: await db.query(
          `select r.task_id, r.worker, r.started_ms, r.ended_ms, t.started_at, t.finished_at from test_runs r join tasks t on t.id = r.task_id order by r.started_ms`,
        ),
        pools: await db.query('select * from pools'),
        audit: await db.query('select * from pool_audit order by id'),
      });
      console.error(`drain test diagnostics: ${diagnostics}`);
      expect.fail(`all 10 tasks finished although the pool was drained: ${diagnostics}`);
    }
    // what finished had been claimed before the drain (both times from the database's clock)
    const lateStarts = await db.query(
      `select r.task_id from test_runs r join tasks t on t.id = r.task_id where t.started_at > $1`,
      [drainedAt],
    );
    expect(lateStarts).toEqual([]);
    await new Promise((r) => setTimeout(r, 2000)); // several poll rounds: nothing may start
    expect(
      Number((await db.one<{ n: string }>(`select count(distinct task_id) as n from test_runs`)).n),
    ).toBe(doneAtDrain);
    expect(
      (
        await db.one<{ n: string }>(
          `select count(*) as n from tasks where pool = 'drainme' and state = 'running'`,
        )
      ).n,
    ).toBe('0');
    await setPoolSize(db, 'drainme', null, 'test');
    await waitFor(
      'all 10 done',
      async () =>
        (await db.one<{ n: string }>(`select count(distinct task_id) as n from test_runs`)).n === '10',
      60_000,
    );
    for (const w of ws) {
      w.kill('SIGTERM');
      await waitExit(w);
    }
    await db.exec('delete from test_runs; delete from tasks');
  });

  it('a periodic task runs exactly once per period with three processes running', async () => {
    await ensureSchedules(db, [{ name: 'every-second', kind: 'tick', intervalMs: 1000 }]);
    const ws = await Promise.all([start(), start(), start()]);
    await waitFor(
      '6 ticks',
      async () => Number((await db.one<{ n: string }>('select count(*) as n from test_ticks')).n) >= 6,
      60_000,
    );
    await db.exec(`update schedules set enabled = false`);
    for (const w of ws) {
      w.kill('SIGTERM');
      await waitExit(w);
    }
    const ticks = await db.query<{ scheduled_for: string }>(
      'select scheduled_for from test_ticks order by scheduled_for',
    );
    const periods = ticks.map((t) => t.scheduled_for);
    expect(new Set(periods).size).toBe(periods.length); // no period ran twice
    const ms = periods.map((p) => Date.parse(p));
    // none was skipped once running (periods missed before the first run are not replayed)
    for (let i = 2; i < ms.length; i++) expect(ms[i]! - ms[i - 1]!).toBe(1000);
    const workers = await db.query<{ worker: string }>('select distinct worker from test_ticks');
    expect(workers.length).toBeGreaterThanOrEqual(1);
  });
});

describe('engine and a PostgreSQL restart', () => {
  it('workers reconnect after the database restarts, and no task is lost', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-restart-'));
    const port = await freePort();
    let server = await startEmbedded({ dataDir: dir, port, log: silentLogger, settings: { fsync: 'off' } });
    const db = createDb(server.url, { max: 4 });
    db.pool.on('error', () => undefined);
    const children: Awaited<ReturnType<typeof spawnTs>>[] = [];
    try {
      await migrate(db);
      await syncPools(db, { default: 10 });
      await setupTables(db);
      for (let i = 0; i < 2; i++)
        children.push(
          await spawnTs(WORKER, {
            DATABASE_URL: server.url,
            CONCURRENCY: '4',
            POLL_MS: '200',
            WORKER_LOG: 'info',
          }),
        );
      await enqueueMany(
        db,
        Array.from({ length: 300 }, () => ({ kind: 'sleep', payload: { ms: 20 } })),
      );
      await waitFor(
        'some done',
        async () => Number((await db.one<{ n: string }>('select count(*) as n from test_runs')).n) > 20,
      );
      await server.stop();
      await new Promise((r) => setTimeout(r, 1500));
      server = await startEmbedded({ dataDir: dir, port, log: silentLogger, settings: { fsync: 'off' } });
      await waitFor(
        'all 300 succeeded after the restart',
        async () => {
          const r = await db
            .one<{ n: string }>(`select count(*) as n from tasks where state = 'succeeded'`)
            .catch(() => ({ n: '0' }));
          return r.n === '300';
        },
        100_000,
        250,
      ).catch((err) => {
        throw new Error(`${err.message}\n${children.map((c) => c.output().slice(-3000)).join('\n---\n')}`);
      });
      // every task completed exactly once (fencing: a completion either committed or was redone)
      const dup = await db.query(`select task_id from test_runs group by task_id having count(*) > 1`);
      expect(dup).toEqual([]);
      expect((await db.one<{ n: string }>('select count(distinct task_id) as n from test_runs')).n).toBe(
        '300',
      );
      for (const c of children) expect(c.exitCode, c.output()).toBeNull(); // nobody crashed
    } finally {
      for (const c of children) {
        c.kill('SIGTERM');
        await waitExit(c);
      }
      await db.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
