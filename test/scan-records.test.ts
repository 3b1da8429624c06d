// `latestRecordsByName` (src/files/scan-records.ts) reads the records' times as milliseconds since
// the epoch: they must be exactly what `Date#getTime` of the columns gives (the merge compares them
// with the listing's whole-millisecond mtimes, src/intake/merge.ts), sub-millisecond and pre-1970
// times included, and each name's latest record is the one read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { latestRecordsByName } from '../src/files/scan-records.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
});
afterAll(() => drop());

describe('latestRecordsByName', () => {
  it('reads times as Date#getTime gives them, and the latest record of each name', async () => {
    const times = [
      '2025-01-10 12:00:00.1239+00', // sub-millisecond: floored, as Date parsing does
      '1969-12-31 23:59:59.0005+00', // before 1970: floored too (Date gives -1000)
      '2026-12-07 20:45:04.999999+02',
    ];
    for (const [i, t] of times.entries()) {
      await insertFile(db, { id: `t${i}.raw` });
      await db.exec(
        `update files set mtime = $2::timestamptz, first_seen_at = $2::timestamptz - interval '1 ms',
           last_change_at = $2::timestamptz + interval '0.4 ms' where id = $1`,
        [`t${i}.raw`, t],
      );
    }
    await insertFile(db, { id: 'old.raw', name: 'same.raw', createdAt: '2025-01-01T00:00:00Z' });
    await insertFile(db, { id: 'new.raw', name: 'same.raw', createdAt: '2025-01-02T00:00:00Z' });
    await insertFile(db, { id: 'other.raw', instrument: 'elsewhere' });

    const dates = await db.query<{ id: string; mtime: Date; first_seen_at: Date; last_change_at: Date }>(
      `select id, mtime, first_seen_at, last_change_at from files where instrument_id = 'astral1'`,
    );
    const want = new Map(dates.map((d) => [d.id, d]));
    const rows = await latestRecordsByName(db, 'astral1');
    expect(rows.map((r) => r.id).sort()).toEqual(['new.raw', 't0.raw', 't1.raw', 't2.raw']);
    for (const r of rows) {
      const d = want.get(r.id)!;
      expect([r.mtime_ms, r.first_seen_ms, r.last_change_ms]).toEqual([
        d.mtime.getTime(),
        d.first_seen_at.getTime(),
        d.last_change_at.getTime(),
      ]);
    }
    expect(rows.find((r) => r.id === 't1.raw')?.mtime_ms).toBe(-1000);
    expect(rows.find((r) => r.id === 't0.raw')?.mtime_ms).toBe(Date.UTC(2025, 0, 10, 12, 0, 0, 123));
  });
});
