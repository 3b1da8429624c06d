/**
 * `wakeWaiting`: only queued tasks of the kind that wait for later, oldest first, at most n; with a
 * reason, only those marked as waiting for it. `wakeTask`: one queued task, with its notification.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/helpers/db.ts';
import { waitFor } from '../../test/helpers/spawn.ts';
import type { Db } from '../core/db/db.ts';
import { enqueue } from './enqueue.ts';
import { wakeTask, wakeWaiting } from './waiting.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
});
afterAll(async () => {
  await drop();
});

const later = () => new Date(Date.now() + 3_600_000);

async function runnable(ids: (string | undefined)[]): Promise<boolean[]> {
  const rows = await db.query<{ id: string; now: boolean }>(
    `select id, run_after <= now() as now from tasks where id = any($1::bigint[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r.now]));
  return ids.map((id) => byId.get(id!)!);
}

describe('wakeWaiting', () => {
  it('makes the oldest n waiting tasks of the kind runnable now, and nothing else', async () => {
    const w1 = await enqueue(db, { kind: 'wait.a', runAfter: later() });
    const w2 = await enqueue(db, { kind: 'wait.a', runAfter: later() });
    const w3 = await enqueue(db, { kind: 'wait.a', runAfter: later() });
    const other = await enqueue(db, { kind: 'wait.b', runAfter: later() });
    const done = await enqueue(db, { kind: 'wait.a', runAfter: later() });
    await db.exec(`update tasks set state = 'cancelled' where id = $1`, [done]);

    expect(await wakeWaiting(db, 'wait.a', 2)).toBe(2);
    expect(await runnable([w1, w2, w3, other, done])).toEqual([true, true, false, false, false]);

    expect(await wakeWaiting(db, 'wait.a', 0)).toBe(0);
    expect(await wakeWaiting(db, 'wait.a', 5)).toBe(1); // only w3 still waited
    expect(await runnable([w3, other, done])).toEqual([true, false, false]);
  });

  it('with a reason, wakes only the tasks waiting for it (not one in a retry backoff)', async () => {
    const backoff = await enqueue(db, { kind: 'wait.c', runAfter: later() });
    const slot = await enqueue(db, { kind: 'wait.c', runAfter: later(), payload: { waitingFor: 'slot' } });
    const other = await enqueue(db, { kind: 'wait.c', runAfter: later(), payload: { waitingFor: 'x' } });
    expect(await wakeWaiting(db, 'wait.c', 5, 'slot')).toBe(1);
    expect(await runnable([backoff, slot, other])).toEqual([false, true, false]);
  });
});

describe('wakeTask', () => {
  it('makes one queued task runnable now and notifies the workers; nothing for a task not queued', async () => {
    const listener = await db.pool.connect();
    const notes: { channel: string; payload?: string }[] = [];
    // Notifications reach a listener in commit order: once a fence notified after some statements has
    // arrived, every notification of theirs has too. So the count below neither takes in the
    // enqueues' own notifications (they may arrive late) nor stops before the wakes' have arrived.
    const fence = async (name: string) => {
      await db.exec(`select pg_notify('sluice_tasks', $1)`, [name]);
      await waitFor(`notification ${name}`, () => notes.some((n) => n.payload === name));
    };
    try {
      listener.on('notification', (n) => notes.push({ channel: n.channel, payload: n.payload }));
      await listener.query('listen sluice_tasks');
      const t = await enqueue(db, { kind: 'wake.one', runAfter: later() });
      const due = await enqueue(db, { kind: 'wake.one' }); // already due: still a notification
      const done = await enqueue(db, { kind: 'wake.one', runAfter: later() });
      await db.exec(`update tasks set state = 'cancelled' where id = $1`, [done]);
      await fence('fence-before');
      notes.length = 0;
      expect(await wakeTask(db, t!)).toBe(true);
      expect(await wakeTask(db, due!)).toBe(true);
      expect(await wakeTask(db, done!)).toBe(false);
      expect(await runnable([t, due, done])).toEqual([true, true, false]);
      await fence('fence-after');
      expect(notes.filter((n) => n.payload !== 'fence-after').map((n) => n.channel)).toEqual([
        'sluice_tasks',
        'sluice_tasks',
      ]);
    } finally {
      listener.release();
    }
  });
});
