// The archive repository (src/archive/repo.ts) on a real database: items chosen, packed into an
// archive, written, verified; a failed archive gives its items back and counts nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addItems,
  archivedOn,
  archivesOfFile,
  createArchive,
  getArchive,
  itemCounts,
  itemsOfFile,
  lockDueItems,
  markArchived,
  markFailed,
  membersOfFile,
  recordWritten,
  restartWrite,
  startPacking,
} from '../src/archive/repo.ts';
import type { Db } from '../src/core/db/db.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  for (const id of ['a', 'b', 'c']) await insertFile(db, { id });
});
afterAll(() => drop());

const member = (fileId: string, i: number) => ({
  fileId,
  path: `data/astral1/${fileId}/${fileId}`,
  rel: fileId,
  size: 1000,
  sha256: 'ab'.repeat(32),
  headerOffset: i * 2048,
  dataOffset: i * 2048 + 512,
  mode: 0o644,
  mtime: new Date('2026-01-01T00:00:00Z'),
});

describe('archive repo', () => {
  it('adds items once, packs, writes, verifies; a failure gives items back', async () => {
    const past = new Date(Date.now() - 1000);
    const items = ['a', 'b', 'c'].map((fileId) => ({
      fileId,
      target: 'lts',
      policy: 'p',
      dueAt: past,
      bytes: 1000,
    }));
    expect(await addItems(db, items)).toBe(3);
    expect(await addItems(db, items)).toBe(0);
    const due = await db.tx((tx) => lockDueItems(tx, 'lts', 2));
    expect(due.map((d) => d.file_id)).toEqual(['a', 'b']);
    const id = await db.tx(async (tx) => {
      const id = await createArchive(tx, {
        target: 'lts',
        targetKind: 'filesystem',
        key: 'x/1.tar',
        location: '/lts/x/1.tar',
        storageClass: null,
      });
      await startPacking(tx, id, 'lts', ['a', 'b']);
      return id;
    });
    await recordWritten(db, id, {
      sizeBytes: 10240,
      sha256: 'cd'.repeat(32),
      manifestSha256: 'ef'.repeat(32),
      members: [member('a', 0), member('b', 1)],
    });
    expect((await getArchive(db, id))?.state).toBe('written');
    expect(await archivedOn(db, 'a', 'lts')).toBeUndefined();
    await markArchived(db, id);
    expect((await archivedOn(db, 'a', 'lts'))?.id).toBe(id);
    expect((await membersOfFile(db, id, 'b'))[0]?.data_offset).toBe('2560');
    expect((await archivesOfFile(db, 'a')).map((a) => a.id)).toEqual([id]);

    const id2 = await db.tx(async (tx) => {
      const id2 = await createArchive(tx, {
        target: 'lts',
        targetKind: 'filesystem',
        key: 'x/2.tar',
        location: '/lts/x/2.tar',
        storageClass: null,
      });
      await startPacking(tx, id2, 'lts', ['c']);
      return id2;
    });
    await recordWritten(db, id2, {
      sizeBytes: 1,
      sha256: 'x',
      manifestSha256: 'y',
      members: [member('c', 0)],
    });
    await restartWrite(db, id2, 'read back differed');
    expect(await membersOfFile(db, id2, 'c')).toEqual([]);
    await markFailed(db, id2, 'gave up');
    const [c] = await itemsOfFile(db, 'c');
    expect(c).toMatchObject({ state: 'due', archive_id: null, attempts: 1, last_error: 'gave up' });
    expect((await getArchive(db, id2))?.state).toBe('failed');
    const counts = await itemCounts(db);
    expect(counts.find((r) => r.state === 'archived')?.items).toBe(2);
  });
});
