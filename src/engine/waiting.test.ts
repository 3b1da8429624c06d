/** `wakeWaiting`: only queued tasks of the kind that wait for later, oldest first, at most n. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb } from '../../test/helpers/db.ts';
import type { Db } from '../core/db/db.ts';
import { enqueue } from './enqueue.ts';
import { wakeWaiting } from './waiting.ts';

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
});
