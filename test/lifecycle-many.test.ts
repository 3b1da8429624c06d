// `transitionMany` (src/files/lifecycle.ts) with `acquired` (the acquired fingerprint and
// `acquired_at`) and `backedUp` (the manifest, and the fingerprint where there was none): set in the
// transition's own row update, only on the files that moved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { transitionMany } from '../src/files/lifecycle.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
});
afterAll(() => drop());

describe('transitionMany with acquired fingerprints', () => {
  it('sets acquired_at and the fingerprint of each file that moves, and nothing on the others', async () => {
    await insertFile(db, { id: 'm1.raw', status: 'discovered' });
    await insertFile(db, { id: 'm2.raw', status: 'acquiring' });
    await insertFile(db, { id: 'stay.raw', status: 'backed_up' });
    await insertFile(db, { id: 'plain.raw', status: 'discovered' });
    const fp = (size: number) => ({ size, mtimeMs: 1765000000000 });
    const moved = await db.tx((tx) =>
      transitionMany(tx, ['m1.raw', 'stay.raw', 'm2.raw'], 'acquired', {
        actor: 'test',
        from: ['discovered', 'acquiring'],
        reason: 'stable',
        acquired: [fp(1), fp(2), fp(3)],
      }),
    );
    expect(moved).toEqual(['m1.raw', 'm2.raw']);
    await db.tx((tx) =>
      transitionMany(tx, ['plain.raw'], 'acquiring', { actor: 'test', from: ['discovered'] }),
    );
    const rows = await db.query<{ id: string; status: string; fp: unknown; at: boolean }>(
      `select id, status, acquired_fingerprint as fp, acquired_at is not null as at from files order by id`,
    );
    expect(rows).toEqual([
      { id: 'm1.raw', status: 'acquired', fp: fp(1), at: true },
      { id: 'm2.raw', status: 'acquired', fp: fp(3), at: true },
      { id: 'plain.raw', status: 'acquiring', fp: null, at: false },
      { id: 'stay.raw', status: 'backed_up', fp: null, at: false },
    ]);
    const events = await db.query<{ subject_id: string; to_state: string }>(
      `select subject_id, to_state from events where subject_type = 'file' order by id`,
    );
    expect(events).toEqual([
      { subject_id: 'm1.raw', to_state: 'acquired' },
      { subject_id: 'm2.raw', to_state: 'acquired' },
      { subject_id: 'plain.raw', to_state: 'acquiring' },
    ]);
  });

  it('sets the manifest of each file that moves to backed_up, and a fingerprint only where there was none', async () => {
    await insertFile(db, { id: 'b1.raw', status: 'acquired' });
    await insertFile(db, { id: 'b2.raw', status: 'backing_up' });
    await insertFile(db, { id: 'b3.raw', status: 'done' });
    await insertFile(db, { id: 'b4.raw', status: 'acquired' });
    await db.exec(`update files set acquired_fingerprint = '{"size": 7}' where id = 'b2.raw'`);
    const manifest = (n: number) => ({
      algorithm: 'sha256',
      entries: [{ rel: `b${n}.raw`, size: n, mtimeMs: 1, hash: 'ab' }],
      totalBytes: n,
    });
    const moved = await db.tx((tx) =>
      transitionMany(tx, ['b1.raw', 'b2.raw', 'b3.raw', 'b4.raw'], 'backed_up', {
        actor: 'test',
        from: ['acquired', 'backing_up'],
        backedUp: [
          { manifest: manifest(1), fingerprint: { size: 1 } },
          { manifest: manifest(2), fingerprint: { size: 2 } },
          { manifest: manifest(3), fingerprint: null },
          { manifest: manifest(4), fingerprint: null },
        ],
      }),
    );
    expect(moved).toEqual(['b1.raw', 'b2.raw', 'b4.raw']);
    const rows = await db.query<{
      id: string;
      manifest: unknown;
      hash_algorithm: string | null;
      fp: unknown;
    }>(
      `select id, manifest, hash_algorithm, acquired_fingerprint as fp from files where id like 'b%' order by id`,
    );
    expect(rows).toEqual([
      { id: 'b1.raw', manifest: manifest(1), hash_algorithm: 'sha256', fp: { size: 1 } },
      { id: 'b2.raw', manifest: manifest(2), hash_algorithm: 'sha256', fp: { size: 7 } },
      { id: 'b3.raw', manifest: null, hash_algorithm: null, fp: null },
      { id: 'b4.raw', manifest: manifest(4), hash_algorithm: 'sha256', fp: null },
    ]);
  });
});
