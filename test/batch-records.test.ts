// The batch's pre-check for same-content twins (src/files/batch-records.ts `namesWithBackedUpNamesakes`)
// on a real database: only names whose record on the instrument has a verified filesystem backup;
// and the batch's records (`recordBatchBackups`, `recordBatchManifests`): earlier backups replaced,
// the new one verified, the manifest on the record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import {
  namesWithBackedUpNamesakes,
  recordBatchBackups,
  recordBatchManifests,
} from '../src/files/batch-records.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
});
afterAll(() => drop());

async function copy(fileId: string, target: string, state: string): Promise<void> {
  await db.exec(
    `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
     values ($1, $2, '/b/' || $1, $3, 'sha256', '{}'::jsonb, 1000)`,
    [fileId, target, state],
  );
}

describe('namesWithBackedUpNamesakes', () => {
  it('finds the names with a verified backup on the instrument, and no others', async () => {
    await insertFile(db, { id: 'a.raw', instrument: 'i1' });
    await copy('a.raw', 'backup', 'verified');
    // the same name again under a collision id: one verified record is enough
    await insertFile(db, { id: '20260101-a.raw', name: 'a.raw', instrument: 'i1' });
    await insertFile(db, { id: 'b.raw', instrument: 'i1' });
    await copy('b.raw', 'backup', 'replaced');
    await insertFile(db, { id: 'c.raw', instrument: 'i1' });
    await copy('c.raw', 'tape', 'verified');
    await insertFile(db, { id: 'i2-d.raw', name: 'd.raw', instrument: 'i2' });
    await copy('i2-d.raw', 'backup', 'verified');
    await insertFile(db, { id: 'e.raw', instrument: 'i1' });
    await copy('e.raw', 'backup', 'replaced');
    await copy('e.raw', 'backup', 'verified');

    const names = ['a.raw', 'a.raw', 'b.raw', 'c.raw', 'd.raw', 'e.raw', 'none.raw'];
    expect([...(await namesWithBackedUpNamesakes(db, 'i1', names))].sort()).toEqual(['a.raw', 'e.raw']);
    expect([...(await namesWithBackedUpNamesakes(db, 'i2', names))]).toEqual(['d.raw']);
    expect((await namesWithBackedUpNamesakes(db, 'i1', [])).size).toBe(0);
  });
});

describe('recordBatchBackups', () => {
  it("replaces only the files' earlier verified backups, records the new ones and their manifests", async () => {
    for (const id of ['r1.raw', 'r2.raw', 'other.raw']) await insertFile(db, { id, instrument: 'i3' });
    await copy('r1.raw', 'backup', 'verified');
    await copy('r1.raw', 'tape', 'verified');
    await copy('other.raw', 'backup', 'verified');
    const manifest = {
      algorithm: 'sha256',
      entries: [{ rel: 'x', size: 3, mtimeMs: 1, hash: 'ab' }],
      totalBytes: 3,
    };
    const row = (fileId: string) => ({
      fileId,
      location: `/new/${fileId}`,
      manifest,
      seconds: 0.1,
      associated: false,
      fingerprint: null,
    });
    await recordBatchBackups(db, [row('r1.raw'), row('r2.raw')]);
    await recordBatchManifests(db, [row('r1.raw'), row('r2.raw')]);
    const copies = await db.query<{ file_id: string; target: string; state: string; location: string }>(
      `select file_id, target, state, location from copies where file_id in ('r1.raw', 'r2.raw', 'other.raw')
       order by file_id, target, id`,
    );
    expect(copies).toEqual([
      { file_id: 'other.raw', target: 'backup', state: 'verified', location: '/b/other.raw' },
      { file_id: 'r1.raw', target: 'backup', state: 'replaced', location: '/b/r1.raw' },
      { file_id: 'r1.raw', target: 'backup', state: 'verified', location: '/new/r1.raw' },
      { file_id: 'r1.raw', target: 'tape', state: 'verified', location: '/b/r1.raw' },
      { file_id: 'r2.raw', target: 'backup', state: 'verified', location: '/new/r2.raw' },
    ]);
    const files = await db.query<{ id: string; manifest: unknown }>(
      `select id, manifest from files where id in ('r1.raw', 'r2.raw', 'other.raw') order by id`,
    );
    expect(files).toEqual([
      { id: 'other.raw', manifest: null },
      { id: 'r1.raw', manifest },
      { id: 'r2.raw', manifest },
    ]);
  });
});
