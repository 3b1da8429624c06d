/** The task catalogue on a real database: typed enqueue, the bulk form's de-duplication, payload parsing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/helpers/db.ts';
import type { Db } from '../core/db/db.ts';
import { PermanentError } from '../core/errors.ts';
import { enqueueTask, enqueueTasks, Kind, parsePayload, scheduleOf } from './catalogue.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
});
afterAll(async () => drop());

const tasksOf = (subject: string) =>
  db.query<{
    kind: string;
    pool: string;
    tags: string[];
    max_attempts: number;
    dedupe_key: string | null;
    payload: object;
  }>('select kind, pool, tags, max_attempts, dedupe_key, payload from tasks where subject = $1 order by id', [
    subject,
  ]);

describe('task catalogue', () => {
  it('enqueues with the kind pool, attempts and de-duplication key', async () => {
    const id = await enqueueTask(
      db,
      Kind.backupCopy,
      'f1.raw',
      { acceptOverwrite: true },
      { tags: ['instrument:a'] },
    );
    expect(id).toBeDefined();
    expect(await enqueueTask(db, Kind.backupCopy, 'f1.raw', {})).toBeUndefined();
    expect(await tasksOf('f1.raw')).toEqual([
      {
        kind: 'backup.copy',
        pool: 'copy',
        tags: ['instrument:a'],
        max_attempts: 12,
        dedupe_key: 'backup:f1.raw',
        payload: { acceptOverwrite: true },
      },
    ]);
  });

  it('adds many of a kind in one statement, skipping keys queued already and repeated ones', async () => {
    await enqueueTask(db, Kind.backupCopy, 'f2.raw', {});
    const n = await enqueueTasks(db, Kind.backupCopy, [
      { subject: 'f2.raw', payload: {} },
      { subject: 'f3.raw', payload: {}, opts: { tags: ['t'] } },
      { subject: 'f3.raw', payload: {} },
    ]);
    expect(n).toBe(1);
    expect((await tasksOf('f3.raw')).map((t) => [t.pool, t.tags, t.dedupe_key])).toEqual([
      ['copy', ['t'], 'backup:f3.raw'],
    ]);
  });

  it('refuses a payload that does not fit, at enqueue and when a handler reads it', async () => {
    // @ts-expect-error: keepStatus is a file status
    await expect(enqueueTask(db, Kind.backupCopy, 'f4.raw', { keepStatus: 'nonsense' })).rejects.toThrow();
    expect(() => parsePayload(Kind.cleanupRemove, { instrument: 3 })).toThrow(PermanentError);
    expect(parsePayload(Kind.cleanupRemove, { instrument: 'a', scheduledFor: 'x', other: 1 })).toEqual({
      instrument: 'a',
      scheduledFor: 'x',
    });
  });

  it('gives a schedule its kind and pool', () => {
    expect(
      scheduleOf(Kind.intakeScan, { name: 'scan:a', payload: { instrument: 'a' }, intervalMs: 5 }),
    ).toEqual({
      name: 'scan:a',
      kind: 'intake.scan',
      pool: 'scan',
      payload: { instrument: 'a' },
      intervalMs: 5,
    });
  });
});
