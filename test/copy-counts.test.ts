// Copies per (target, state) kept by the database (migration 0048, src/files/copy-counts.ts) on real
// PostgreSQL: after every kind of write (insert, state and target changes, deletes, COPY, a rolled
// back transaction, concurrent writers, a truncate) the counts equal a full count of `copies`;
// compactions racing writes stay exact; a second fold while one runs neither waits nor folds (one
// fold at a time, by an advisory lock: two could deadlock); the baseline is taken once, exactly, on a
// database that had copies before the triggers, and reads count in full while it cannot be taken;
// the periodic fold (task files.copy_counts_fold, run by a real worker from its schedule) folds past
// the threshold without losing a concurrent writer's delta; a read in a read-only or repeatable-read
// transaction answers exactly without folding or taking the baseline (either would fail it); after
// `sluice db restore` (which leaves copy_counts out) the counts equal a full count, from a backup of
// this schema and from one made before migration 0048.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/core/config/index.ts';
import { copyIn } from '../src/core/db/copy.ts';
import { clientQueryable, type Db } from '../src/core/db/db.ts';
import { applyMigrationsInTx, loadMigrations } from '../src/core/db/migrate.ts';
import { silentLogger } from '../src/core/log.ts';
import { Variables } from '../src/core/variables.ts';
import { syncPools } from '../src/engine/pools.ts';
import { ensureSchedules } from '../src/engine/schedules.ts';
import { Worker } from '../src/engine/worker.ts';
import { copiesPerTarget, copiesPerTargetCounted } from '../src/files/copies.ts';
import {
  COMPACT_AT,
  compactCopyCounts,
  copyCounts,
  FOLD_EVERY_MS,
  foldCopyCounts,
  hasBaseline,
} from '../src/files/copy-counts.ts';
import { writeDump } from '../src/ops/db-backup/dump.ts';
import { DirLocation, fileSource } from '../src/ops/db-backup/locations.ts';
import { restoreDump } from '../src/ops/db-backup/restore.ts';
import { collect } from '../src/runtime/handlers.ts';
import { Kind } from '../src/tasks/catalogue.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';
import { waitFor } from './helpers/spawn.ts';

let db: Db;
let drop: () => Promise<void>;

beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  for (let i = 0; i < 40; i++) await insertFile(db, { id: `f${i}`, instrument: 'c1' });
});
afterAll(() => drop());

/** Inserts copies of files `from`..`from+n-1` on `target` in `state`, in one statement. */
async function addCopies(
  q: Pick<Db, 'exec'>,
  from: number,
  n: number,
  target: string,
  state: string,
): Promise<void> {
  await q.exec(
    `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
     select 'f' || i, $3, '/c/' || i || '/' || $3 || '/' || $4, $4, 'sha256', '{}'::jsonb, 1
     from generate_series($1::int, $1::int + $2::int - 1) i`,
    [from, n, target, state],
  );
}

/** The full count of `copies` per "target state", and what the kept counts say. */
async function both(): Promise<{ full: Record<string, number>; kept: Record<string, number> | undefined }> {
  const rows = await db.query<{ target: string; state: string; n: number }>(
    'select target, state, count(*)::int as n from copies group by target, state',
  );
  const full = Object.fromEntries(rows.map((r) => [`${r.target} ${r.state}`, r.n]));
  const counts = await copyCounts(db);
  const kept = counts && Object.fromEntries(counts.map((c) => [`${c.target} ${c.state}`, c.n]));
  return { full, kept };
}

async function expectExact(): Promise<Record<string, number>> {
  const { full, kept } = await both();
  expect(kept).toEqual(full);
  return full;
}

async function deltaRows(q: Pick<Db, 'one'> = db): Promise<number> {
  return (await q.one<{ n: number }>('select count(*)::int as n from copy_counts')).n;
}

/** `n` statements on `q`, each flipping f1's backup copy between two states: one delta row each. */
async function pileDeltas(q: Pick<Db, 'exec'>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await q.exec(`update copies set state = $1 where file_id = 'f1' and target = 'backup'`, [
      i % 2 ? 'replaced' : 'corrupt',
    ]);
  }
}

describe('counts kept by the triggers', () => {
  it('a fresh database takes its (empty) baseline at the first read', async () => {
    expect(await hasBaseline(db)).toBe(false);
    expect(await copyCounts(db)).toEqual([]);
    expect(await hasBaseline(db)).toBe(true);
  });

  it('inserts, state changes, target changes and deletes', async () => {
    await addCopies(db, 0, 10, 'backup', 'verified');
    await addCopies(db, 0, 4, 's3', 'verified');
    await addCopies(db, 10, 3, 'backup', 'corrupt');
    expect(await expectExact()).toEqual({ 'backup verified': 10, 's3 verified': 4, 'backup corrupt': 3 });

    await db.exec(`update copies set state = 'replaced' where target = 'backup' and file_id in ('f0', 'f1')`);
    await db.exec(`update copies set target = 'tape' where target = 's3' and file_id = 'f2'`);
    // an update that changes neither target nor state writes no delta
    const before = await deltaRows();
    await db.exec(`update copies set last_fixity_at = now(), last_fixity_ok = true where state = 'verified'`);
    expect(await deltaRows()).toBe(before);
    // target and state at once
    await db.exec(
      `update copies set target = 'tape', state = 'corrupt' where target = 's3' and file_id = 'f3'`,
    );
    expect(await expectExact()).toEqual({
      'backup verified': 8,
      'backup replaced': 2,
      'backup corrupt': 3,
      's3 verified': 2,
      'tape verified': 1,
      'tape corrupt': 1,
    });

    await db.exec(`delete from copies where state = 'corrupt'`);
    await db.exec(`delete from copies where file_id = 'f0'`);
    expect(await expectExact()).toEqual({
      'backup verified': 8,
      'backup replaced': 1,
      's3 verified': 1,
      'tape verified': 1,
    });
  });

  it('copiesPerTarget reads them and answers as the full count does', async () => {
    const targets = ['tape', 's3', 'nowhere'];
    const kept = await copiesPerTarget(db, targets);
    expect(kept).toEqual([
      { target: 'nowhere', files: 8, copied: 0 },
      { target: 's3', files: 8, copied: 1 },
      { target: 'tape', files: 8, copied: 1 },
    ]);
    expect(kept).toEqual(await copiesPerTargetCounted(db, targets));
  });

  it('COPY into copies counts too', async () => {
    await db.tx((tx) =>
      copyIn(
        tx,
        'copies',
        ['file_id', 'target', 'location', 'state', 'hash_algorithm', 'manifest', 'bytes'],
        [20, 21, 22].map((i) => [`f${i}`, 'backup', `/copy/${i}`, 'verified', 'sha256', '{}', '1']),
      ),
    );
    expect((await expectExact())['backup verified']).toBe(11);
  });

  it('a rolled-back transaction leaves the counts as they were', async () => {
    const before = await expectExact();
    await expect(
      db.tx(async (tx) => {
        await addCopies(tx, 30, 5, 'backup', 'verified');
        await tx.exec(`update copies set state = 'replaced' where target = 'backup' and file_id = 'f5'`);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await expectExact()).toEqual(before);
  });

  it('a truncate of copies empties the counts', async () => {
    const other = await createTestDb();
    try {
      await insertFile(other.db, { id: 'g1', instrument: 'c1' });
      await copyCounts(other.db);
      await other.db.exec(
        `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
         values ('g1', 'backup', '/g1', 'verified', 'sha256', '{}'::jsonb, 1)`,
      );
      expect(await copyCounts(other.db)).toEqual([{ target: 'backup', state: 'verified', n: 1 }]);
      await other.db.exec('truncate copies cascade');
      expect(await copyCounts(other.db)).toEqual([]);
    } finally {
      await other.drop();
    }
  });
});

describe('concurrency', () => {
  it('two writers on two connections, committing in the other order', async () => {
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      await a.query('begin');
      await b.query('begin');
      await addCopies(clientQueryable(a), 30, 3, 'backup', 'verified');
      await addCopies(clientQueryable(b), 33, 2, 'backup', 'verified');
      await addCopies(clientQueryable(a), 30, 3, 's3', 'verified');
      await expectExact(); // neither committed: the counts do not see them either
      await b.query('commit');
      await expectExact();
      await a.query('commit');
      expect((await expectExact())['backup verified']).toBe(16);
    } finally {
      a.release();
      b.release();
    }
  });

  it('a compaction racing a write: the uncommitted delta survives the fold', async () => {
    for (let i = 0; i < 5; i++)
      await db.exec(`update copies set state = 'replaced' where file_id = 'f${30 + i}' and target = 's3'`);
    for (let i = 0; i < 5; i++)
      await db.exec(`update copies set state = 'verified' where file_id = 'f${30 + i}' and target = 's3'`);
    const w = await db.pool.connect();
    const c = await db.pool.connect();
    try {
      await w.query('begin');
      await addCopies(clientQueryable(w), 35, 2, 'backup', 'verified');
      await c.query('begin');
      expect(await compactCopyCounts(clientQueryable(c))).toBeGreaterThan(1);
      await w.query('commit'); // commits while the fold is not committed yet
      await expectExact();
      await c.query('commit');
      await expectExact();
      expect(await deltaRows()).toBeLessThanOrEqual(1 + (await copyCounts(db))!.length);
    } finally {
      w.release();
      c.release();
    }
  });

  it('two folds at once: the second neither waits nor folds; a read meanwhile sums exactly; the next fold folds', async () => {
    await addCopies(db, 37, 2, 'backup', 'verified');
    await addCopies(db, 37, 1, 's3', 'verified');
    await pileDeltas(db, COMPACT_AT + 1); // enough for a read to fold too
    const c1 = await db.pool.connect();
    const c2 = await db.pool.connect();
    try {
      await c1.query('begin');
      expect(await compactCopyCounts(clientQueryable(c1))).toBeGreaterThan(COMPACT_AT);
      await addCopies(db, 39, 1, 'backup', 'verified'); // a write meanwhile, committed
      const before = await deltaRows();
      // Without the fold's lock the second would wait for the first's row locks (and, past several
      // hundred thousand rows, could deadlock with it): a lock wait fails it here instead of hanging.
      await c2.query(`set lock_timeout = '1s'`);
      const q2 = clientQueryable(c2);
      expect(await compactCopyCounts(q2)).toBeUndefined();
      expect(await foldCopyCounts(q2)).toBeUndefined(); // the periodic task: skips this round
      // a read that would fold (its own transaction on c2, past COMPACT_AT rows as it sees them)
      const full = await fullCount(db);
      expect(sorted(await copyCounts(q2))).toEqual(full);
      expect(await deltaRows()).toBe(before); // nothing folded by the second, nothing lost
      await c1.query('commit');
      expect(sorted(await copyCounts(db))).toEqual(full);
      // the lock went with the first's transaction: the next fold folds
      await pileDeltas(db, 2);
      expect(await compactCopyCounts(q2)).toBeGreaterThan(0);
      expect(sorted(await copyCounts(db))).toEqual(await fullCount(db));
    } finally {
      await c1.query('rollback'); // after a failure: not back to the pool inside its transaction
      await c2.query('reset lock_timeout');
      c1.release();
      c2.release();
    }
  });

  it(`a read past ${COMPACT_AT} delta rows folds them`, async () => {
    await pileDeltas(db, COMPACT_AT + 1);
    expect(await deltaRows()).toBeGreaterThan(COMPACT_AT);
    await expectExact(); // the read answers from the deltas, then folds them
    expect(await deltaRows()).toBeLessThanOrEqual((await copyCounts(db))!.length);
    await expectExact();
  });
});

describe('a database with copies from before the triggers', () => {
  let old: { db: Db; drop: () => Promise<void> };
  beforeAll(async () => {
    old = await createTestDb();
    for (let i = 0; i < 6; i++) await insertFile(old.db, { id: `f${i}`, instrument: 'c1' });
    // copies written before migration 0048: no deltas, no baseline
    await old.db.exec('alter table copies disable trigger copies_count_insert');
    await addCopies(old.db, 0, 6, 'backup', 'verified');
    await addCopies(old.db, 0, 2, 's3', 'verified');
    await old.db.exec('alter table copies enable trigger copies_count_insert');
    // writes after the migration, before the first read: deltas without a starting point
    await addCopies(old.db, 2, 1, 's3', 'verified');
    await old.db.exec(`update copies set state = 'corrupt' where file_id = 'f5' and target = 'backup'`);
  });
  afterAll(() => old.drop());

  const full = { 'backup verified': 5, 'backup corrupt': 1, 's3 verified': 3 };

  it('reads count in full while a writer keeps copies locked, and take no baseline', async () => {
    const w = await old.db.pool.connect();
    try {
      await w.query('begin');
      await w.query(`update copies set state = 'replaced' where file_id = 'f4' and target = 'backup'`);
      expect(await copyCounts(old.db)).toBeUndefined(); // waited 1 s for the lock, then gave up
      expect(await hasBaseline(old.db)).toBe(false);
      expect(await copiesPerTarget(old.db, ['s3'])).toEqual([{ target: 's3', files: 5, copied: 3 }]);
      await w.query('rollback');
    } finally {
      w.release();
    }
  });

  it('the first reads (two at once) take one exact baseline', async () => {
    const [a, b] = await Promise.all([copyCounts(old.db), copyCounts(old.db)]);
    const asMap = (cs: typeof a) => Object.fromEntries(cs!.map((c) => [`${c.target} ${c.state}`, c.n]));
    expect(asMap(a)).toEqual(full);
    expect(asMap(b)).toEqual(full);
    expect(await hasBaseline(old.db)).toBe(true);
    expect((await old.db.one<{ n: number }>('select count(*)::int as n from copy_counts_baseline')).n).toBe(
      1,
    );
    expect(await copiesPerTarget(old.db, ['s3'])).toEqual([{ target: 's3', files: 5, copied: 3 }]);
    // and the deltas from then on
    await addCopies(old.db, 3, 2, 's3', 'verified');
    expect(await copiesPerTarget(old.db, ['s3'])).toEqual([{ target: 's3', files: 5, copied: 5 }]);
  });
});

/** A fresh database with copies of f0..f9 on `backup` (verified) and f0..f3 on `s3`, baseline taken. */
async function freshWithCopies(): Promise<{ db: Db; drop: () => Promise<void> }> {
  const t = await createTestDb();
  for (let i = 0; i < 10; i++) await insertFile(t.db, { id: `f${i}`, instrument: 'c1' });
  expect(await copyCounts(t.db)).toEqual([]);
  await addCopies(t.db, 0, 10, 'backup', 'verified');
  await addCopies(t.db, 0, 4, 's3', 'verified');
  return t;
}

/** The full count of `copies` in the form `copyCounts` answers. */
async function fullCount(q: Pick<Db, 'query'>) {
  return q.query<{ target: string; state: string; n: number }>(
    'select target, state, count(*)::int as n from copies group by target, state order by 1, 2',
  );
}

const sorted = (cs: Awaited<ReturnType<typeof copyCounts>>) =>
  cs && [...cs].sort((a, b) => `${a.target} ${a.state}`.localeCompare(`${b.target} ${b.state}`));

describe('the periodic fold (files.copy_counts_fold)', () => {
  let t: { db: Db; drop: () => Promise<void> };
  beforeAll(async () => {
    t = await freshWithCopies();
  });
  afterAll(() => t.drop());

  it(`leaves ${COMPACT_AT} rows or fewer alone, folds more, and the counts stay exact`, async () => {
    await pileDeltas(t.db, 9);
    const few = await deltaRows(t.db);
    expect(few).toBeLessThanOrEqual(COMPACT_AT);
    expect(await foldCopyCounts(t.db)).toBe(0);
    expect(await deltaRows(t.db)).toBe(few);

    await pileDeltas(t.db, COMPACT_AT + 1);
    const before = await deltaRows(t.db);
    expect(before).toBeGreaterThan(COMPACT_AT);
    expect(await foldCopyCounts(t.db)).toBe(before);
    const counts = sorted(await copyCounts(t.db));
    expect(counts).toEqual(await fullCount(t.db));
    expect(await deltaRows(t.db)).toBe(counts!.length); // one row per (target, state)
    expect(await foldCopyCounts(t.db)).toBe(0); // and again: nothing to do
    expect(sorted(await copyCounts(t.db))).toEqual(counts);
  });

  it('writers committing during a fold lose no delta', async () => {
    await pileDeltas(t.db, COMPACT_AT + 1);
    const w = await t.db.pool.connect();
    const f = await t.db.pool.connect();
    const r = await t.db.pool.connect();
    try {
      await w.query('begin');
      await addCopies(clientQueryable(w), 4, 3, 's3', 'verified'); // before the fold, committed after it
      await f.query('begin');
      expect(await foldCopyCounts(clientQueryable(f))).toBeGreaterThan(COMPACT_AT);
      await addCopies(t.db, 7, 2, 's3', 'verified'); // during the fold, committed before it
      await w.query('commit');
      // a reader meanwhile sees the rows before the fold (read-only: it does not fold, so does not
      // wait for the fold's row locks as a read that may write would)
      await r.query('begin read only');
      expect(sorted(await copyCounts(clientQueryable(r)))).toEqual(await fullCount(t.db));
      await r.query('commit');
      await f.query('commit');
      const counts = sorted(await copyCounts(t.db));
      expect(counts).toEqual(await fullCount(t.db));
      expect(counts!.find((c) => c.target === 's3')?.n).toBe(9);
    } finally {
      w.release();
      f.release();
      r.release();
    }
  });

  it('runs from its schedule on a worker, in the default pool, and folds', async () => {
    const config = configSchema.parse({ environment: 'local' });
    // what `sluice start` registers
    const stage = collect(config, new Variables(t.db, {}), {
      baseDir: '.',
      executor: () => Promise.reject(new Error('no executor in this test')),
    });
    const schedule = stage.schedules.filter((s) => s.kind === Kind.copyCountsFold);
    expect(schedule).toEqual([
      expect.objectContaining({ name: Kind.copyCountsFold, intervalMs: FOLD_EVERY_MS, pool: 'default' }),
    ]);
    await pileDeltas(t.db, COMPACT_AT + 1);
    await copyCounts(t.db);
    // the read folded: pile more after it, which only the task folds
    await pileDeltas(t.db, COMPACT_AT + 2);
    expect(await deltaRows(t.db)).toBeGreaterThan(COMPACT_AT);
    await syncPools(t.db, config.pools);
    await ensureSchedules(t.db, schedule);
    const worker = new Worker({
      db: t.db,
      log: silentLogger,
      handlers: stage.handlers.filter((h) => h.kind === Kind.copyCountsFold),
      pollMs: 50,
      scheduleTickMs: 50,
      backoffBaseMs: 10,
    });
    await worker.start();
    try {
      await waitFor('the scheduled fold', async () => {
        const r = await t.db.maybeOne<{ state: string }>(
          `select state from tasks where kind = $1 and state = 'succeeded'`,
          [Kind.copyCountsFold],
        );
        return r !== undefined;
      });
    } finally {
      await worker.stop(2000);
    }
    const groups = (await fullCount(t.db)).length;
    expect(await deltaRows(t.db)).toBeLessThanOrEqual(groups); // folded by the task (reads fold nothing here)
    expect(sorted(await copyCounts(t.db))).toEqual(await fullCount(t.db));
  });
});

describe('reads that may not write', () => {
  let t: { db: Db; drop: () => Promise<void> };
  beforeAll(async () => {
    t = await freshWithCopies();
  });
  afterAll(() => t.drop());

  it(`a read-only transaction past ${COMPACT_AT} delta rows: exact sums, no fold, the transaction still usable`, async () => {
    await pileDeltas(t.db, COMPACT_AT + 1);
    const before = await deltaRows(t.db);
    const c = await t.db.pool.connect();
    try {
      await c.query('begin read only');
      const q = clientQueryable(c);
      expect(sorted(await copyCounts(q))).toEqual(await fullCount(q));
      expect(await deltaRows(q)).toBe(before);
      await c.query('commit');
    } finally {
      await c.query('rollback'); // after a failure: not back to the pool inside its transaction
      c.release();
    }
    expect(await deltaRows(t.db)).toBe(before);
    // the next read that may write folds them
    expect(sorted(await copyCounts(t.db))).toEqual(await fullCount(t.db));
    expect(await deltaRows(t.db)).toBeLessThan(before);
  });

  it('a repeatable-read transaction whose rows a concurrent fold deleted: exact sums, no serialization failure', async () => {
    await pileDeltas(t.db, COMPACT_AT + 1);
    const c = await t.db.pool.connect();
    try {
      await c.query('begin isolation level repeatable read');
      const q = clientQueryable(c);
      const want = await fullCount(q); // the transaction's snapshot, with every delta row in it
      expect(await compactCopyCounts(t.db)).toBeGreaterThan(COMPACT_AT); // committed meanwhile
      expect(sorted(await copyCounts(q))).toEqual(want);
      await c.query('commit');
    } finally {
      await c.query('rollback'); // after a failure: not back to the pool inside its transaction
      c.release();
    }
  });

  it('a read-only transaction on a database without a baseline counts in full, takes none', async () => {
    const o = await createTestDb();
    const c = await o.db.pool.connect();
    try {
      await c.query('begin read only');
      expect(await copyCounts(clientQueryable(c))).toBeUndefined();
      await c.query('commit');
      expect(await hasBaseline(o.db)).toBe(false);
      expect(await copyCounts(o.db)).toEqual([]); // a read that may write takes it
      expect(await hasBaseline(o.db)).toBe(true);
    } finally {
      await c.query('rollback'); // after a failure: not back to the pool inside its transaction
      c.release();
      await o.drop();
    }
  });
});

describe('after a restore (sluice db restore; the backup leaves copy_counts out)', () => {
  let dir: string;
  const dbs: { drop: () => Promise<void> }[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-copy-counts-'));
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** `from` dumped to a file and restored into a new, empty database. */
  async function restoredCopyOf(from: Db, name: string): Promise<Db> {
    await new DirLocation(dir).write(name, (out) => writeDump(from, out, { version: '0.0.9' }));
    const t = await createTestDb({ blank: true });
    dbs.push(t);
    await restoreDump(t.db, await fileSource(path.join(dir, name)));
    return t.db;
  }

  it('a backup of this schema: the load counts the copies again, the first read takes a new baseline', async () => {
    const s = await freshWithCopies(); // with a baseline and deltas
    dbs.push(s);
    await s.db.exec(`update copies set state = 'corrupt' where file_id = 'f9' and target = 'backup'`);
    await pileDeltas(s.db, 3);
    const want = await fullCount(s.db);
    const r = await restoredCopyOf(s.db, 'now.sluicedump');
    expect(await hasBaseline(r)).toBe(false);
    expect(await fullCount(r)).toEqual(want);
    expect(sorted(await copyCounts(r))).toEqual(want);
    expect(await hasBaseline(r)).toBe(true);
    await addCopies(r, 4, 2, 's3', 'verified'); // and the deltas from then on
    expect(sorted(await copyCounts(r))).toEqual(await fullCount(r));
  });

  it('a backup from before migration 0048: restored at its level, migrated, counted in full by the first read', async () => {
    const o = await createTestDb({ blank: true });
    dbs.push(o);
    await o.db.tx((tx) =>
      applyMigrationsInTx(
        tx,
        loadMigrations().filter((m) => m.version < 48),
      ),
    );
    for (let i = 0; i < 3; i++) await insertFile(o.db, { id: `f${i}`, instrument: 'c1' });
    await addCopies(o.db, 0, 3, 'backup', 'verified');
    await addCopies(o.db, 0, 1, 's3', 'verified');
    const r = await restoredCopyOf(o.db, 'before-0048.sluicedump');
    expect(await r.query('select * from copy_counts')).toEqual([]); // 0048 applied after the load
    expect(await hasBaseline(r)).toBe(false);
    expect(sorted(await copyCounts(r))).toEqual([
      { target: 'backup', state: 'verified', n: 3 },
      { target: 's3', state: 'verified', n: 1 },
    ]);
    expect(await hasBaseline(r)).toBe(true);
  });
});
