/**
 * A `backup.batch` (src/backup/batch-task.ts) whose attempt fails or is taken over says so on the
 * timeline of each of its files still waiting for a backup (src/backup/batch-notes.ts), in one
 * statement for the batch; files no longer waiting get nothing. End to end with a real worker: the
 * instrument's backup folder is a symbolic link to itself, so the batch's first step there fails
 * (ELOOP, a thrown error: the attempt is retried); its files are still `acquired` and each says why;
 * once the link is gone the batch's retry backs every file up, itself (no file handed over).
 */
import { symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteBatchRetry, noteBatchTakeover } from '../src/backup/batch-notes.ts';
import type { Db, Queryable } from '../src/core/db/db.ts';
import { SluiceError } from '../src/core/errors.ts';
import { type EventRow, listEvents } from '../src/engine/events.ts';
import type { TakenOver, TaskRow } from '../src/engine/types.ts';
import { Kind } from '../src/tasks/catalogue.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { waitFor } from './helpers/spawn.ts';

/** `q`, counting the statements sent through it. */
function counting(q: Queryable): { q: Queryable; statements: () => number } {
  let n = 0;
  const count =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    (...a: A) => {
      n++;
      return f(...a);
    };
  return {
    q: {
      query: count(q.query.bind(q)) as Queryable['query'],
      one: count(q.one.bind(q)) as Queryable['one'],
      maybeOne: count(q.maybeOne.bind(q)) as Queryable['maybeOne'],
      exec: count(q.exec.bind(q)),
    },
    statements: () => n,
  };
}

describe('a batch’s notes on its files’ timelines', () => {
  let db: Db;
  let drop: () => Promise<void>;
  const statuses = { w1: 'acquired', w2: 'backing_up', d1: 'backed_up', d2: 'error', d3: 'done' };
  const ids = [...Object.keys(statuses), 'gone'];
  const task = {
    id: '77',
    kind: Kind.backupBatch,
    subject: 'astral1',
    attempts: 2,
    payload: { instrument: 'astral1', files: ids },
  } as unknown as TaskRow;
  beforeAll(async () => {
    ({ db, drop } = await createTestDb());
    for (const [id, status] of Object.entries(statuses)) await insertFile(db, { id, status });
  });
  afterAll(() => drop());

  const notes = async (id: string, like: string): Promise<EventRow[]> =>
    (await listEvents(db, 'file', id)).filter((e) => e.reason?.includes(like));

  it('a retry: one note on each file still waiting, in one statement; the others get nothing', async () => {
    const c = await db.tx(async (tx) => {
      const c = counting(tx);
      await noteBatchRetry(
        c.q,
        task,
        new SluiceError('backup.stalled', 'no progress reading /x for 2 s'),
        4000,
      );
      return c.statements();
    });
    expect(c).toBe(1);
    for (const id of ['w1', 'w2']) {
      const e = await notes(id, 'backup attempt');
      expect(e.map((x) => x.reason)).toEqual([
        'backup attempt 2 (batch of 6 files) failed: no progress reading /x for 2 s; retrying in 4 s',
      ]);
      expect(e[0]!.actor).toBe('backup');
      expect(e[0]!.data).toEqual({ code: 'backup.stalled', task: '77' });
      expect(e[0]!.from_state).toBeNull();
      expect(e[0]!.to_state).toBeNull();
    }
    for (const id of ['d1', 'd2', 'd3', 'gone']) expect(await notes(id, 'backup attempt')).toEqual([]);
  });

  it('a takeover: noted on each file still waiting, in one statement', async () => {
    const cut: TakenOver = {
      attempt: 1,
      worker: 'w-old',
      by: 'w-new',
      cause: 'lease_expired',
      death: null,
      lease_expired_at: null,
      last_heartbeat_at: null,
    };
    const c = await db.tx(async (tx) => {
      const c = counting(tx);
      await noteBatchTakeover(c.q, task, cut);
      return c.statements();
    });
    expect(c).toBe(1);
    for (const id of ['w1', 'w2']) {
      const e = await notes(id, 'cut short');
      expect(e.map((x) => x.reason)).toEqual([
        'backup.batch: attempt 1 on w-old was cut short (its lease expired); taken over by w-new',
      ]);
      expect(e[0]!.data).toEqual({ task: '77', takenOver: cut });
    }
    for (const id of ['d1', 'd2', 'd3', 'gone']) expect(await notes(id, 'cut short')).toEqual([]);
  });
});

describe('a batch whose attempt fails, on a real worker', () => {
  let p: Pipeline | undefined;
  afterAll(async () => {
    await p?.stop();
    await p?.close();
  });

  it('each waiting file’s timeline says why; the retry backs them all up', async () => {
    p = await createPipeline(standardConfig());
    const pipe = p;
    expect(pipe.config.backup.layout.startsWith('{instrument}/')).toBe(true);
    const watch = path.join(pipe.root, 'astral1');
    const names = Array.from({ length: 6 }, (_, i) => `batch_${i}.raw`);
    for (const n of names) await writeFile(path.join(watch, n), `content of ${n}`);
    // astral1's backup folder, a link to itself: every path below it fails with ELOOP
    const blocked = path.join(pipe.config.backup.path!, 'astral1');
    await symlink('astral1', blocked);
    await pipe.start();

    const failed = await waitFor('a backup.batch attempt failed', () =>
      pipe.db.maybeOne<{ id: string; files: string[]; last_error: string }>(
        `select id::text as id, payload->'files' as files, last_error from tasks
         where kind = $1 and last_error is not null order by id limit 1`,
        [Kind.backupBatch],
      ),
    );
    expect(failed.last_error).toMatch(/ELOOP/);
    expect(failed.files.length).toBeGreaterThanOrEqual(4);
    for (const id of failed.files) {
      const f = (await pipe.file(id))!;
      // noted in the transaction that put the batch back in the queue: there now, for every file
      const note = (await listEvents(pipe.db, 'file', id)).find((e) =>
        e.reason?.startsWith(`backup attempt 1 (batch of ${failed.files.length} files) failed: `),
      );
      expect(note, `${id}: ${(await pipe.timeline(id)).join('\n')}`).toBeDefined();
      expect(note!.reason).toMatch(/ELOOP.*; retrying in \d+ s$/);
      expect(note!.data).toEqual({ code: 'unknown', task: failed.id });
      expect(f.status).toBe('acquired');
    }

    await unlink(blocked);
    for (const id of failed.files) await pipe.waitStatus(id, 'done_not_processed', 120_000);
    const batch = await pipe.db.one<{ state: string; attempts: number }>(
      'select state, attempts from tasks where id = $1',
      [failed.id],
    );
    expect(batch.state).toBe('succeeded');
    expect(batch.attempts).toBeGreaterThanOrEqual(2);
    // backed up by the batch's retry itself, none handed to a task of its own
    const own = await pipe.db.query('select 1 from tasks where kind = $1 and subject = any($2::text[])', [
      Kind.backupCopy,
      failed.files,
    ]);
    expect(own).toEqual([]);
  });
});
