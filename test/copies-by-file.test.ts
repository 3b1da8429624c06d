// The files repo's per-file reads and updates of `copies` (src/files/copies-by-file.ts: each file's
// copies probed through `copies_file`, the target / state filters outside) on a real database: each
// statement keeps to its file(s), its target and its state, and a file id given twice counts once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import {
  copyStatesOf,
  earlierBackedUpNamesakes,
  retireVerifiedBackups,
  retireVerifiedCopies,
} from '../src/files/copies.ts';
import { filesWithReleasedBackup, releasedBackup, verifiedBackupsOf } from '../src/files/releases.ts';
import { removalCandidates, unfinishedRemovals } from '../src/files/removal.ts';
import { type FileRow, listFiles, verifiedCopy } from '../src/files/repo.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  // f1: backups replaced, verified and corrupt, a verified tape copy; f2: backup replaced, tape
  // verified; f3: two released backups; f4: released, then backed up again; f5: no copies.
  for (const id of ['f1', 'f2', 'f3', 'f4', 'f5']) await insertFile(db, { id, instrument: 'c1' });
  await copy('f1', 'backup', 'replaced', '/old/f1');
  await copy('f1', 'backup', 'verified', '/b/f1');
  await copy('f1', 'tape', 'verified', '/t/f1');
  await copy('f1', 'backup', 'corrupt', '/bad/f1');
  await copy('f2', 'backup', 'replaced', '/old/f2');
  await copy('f2', 'tape', 'verified', '/t/f2');
  await copy('f3', 'backup', 'released', '/r1/f3');
  await copy('f3', 'backup', 'released', '/r2/f3');
  await copy('f4', 'backup', 'released', '/r/f4');
  await copy('f4', 'backup', 'verified', '/b/f4');
});
afterAll(() => drop());

async function copy(
  fileId: string,
  target: string,
  state: string,
  location: string,
  bytes = 1000,
): Promise<void> {
  await db.exec(
    `insert into copies (file_id, target, location, state, hash_algorithm, manifest, bytes)
     values ($1, $2, $3, $4, 'sha256', '{}'::jsonb, $5)`,
    [fileId, target, location, state, bytes],
  );
}

async function states(fileIds: string[]): Promise<string[]> {
  const rows = await db.query<{ r: string }>(
    `select file_id || ' ' || target || ' ' || location || ' ' || state as r from copies
     where file_id = any($1) order by id`,
    [fileIds],
  );
  return rows.map((x) => x.r);
}

describe('reads of one file', () => {
  it('verifiedCopy: the verified copy on the target asked, else none', async () => {
    expect((await verifiedCopy(db, 'f1'))?.location).toBe('/b/f1');
    expect((await verifiedCopy(db, 'f1', 'tape'))?.location).toBe('/t/f1');
    expect(await verifiedCopy(db, 'f2')).toBeUndefined();
    expect(await verifiedCopy(db, 'f3')).toBeUndefined();
    expect(await verifiedCopy(db, 'f5')).toBeUndefined();
  });

  it("listFiles: each file's newest filesystem backup copy's state, whatever it is", async () => {
    const rows = await listFiles(db, { instrument: 'c1' });
    expect(rows.map((r) => `${r.id} ${r.backup}`).sort()).toEqual([
      'f1 corrupt',
      'f2 replaced',
      'f3 released',
      'f4 verified',
      'f5 null',
    ]);
  });

  it('releasedBackup: the newest released backup, only while no verified one took its place', async () => {
    expect((await releasedBackup(db, 'f3'))?.location).toBe('/r2/f3');
    expect(await releasedBackup(db, 'f4')).toBeUndefined();
    expect(await releasedBackup(db, 'f1')).toBeUndefined();
    expect(await releasedBackup(db, 'f5')).toBeUndefined();
  });
});

describe('reads of a few files', () => {
  it('verifiedBackupsOf: the verified backups, in file id order, each file once', async () => {
    const rows = await verifiedBackupsOf(db, ['f4', 'f1', 'f2', 'f1', 'f5']);
    expect(rows.map((r) => `${r.file_id} ${r.target} ${r.location} ${r.state}`)).toEqual([
      'f1 backup /b/f1 verified',
      'f4 backup /b/f4 verified',
    ]);
    expect(await verifiedBackupsOf(db, [])).toEqual([]);
  });

  it('copyStatesOf: per file and target asked, verified when one is, else the newest state', async () => {
    const rows = await copyStatesOf(db, ['f1', 'f2', 'f3', 'f1', 'f5'], ['backup', 'tape']);
    expect(rows.map((r) => `${r.file_id} ${r.target} ${r.state}`)).toEqual([
      'f1 backup verified',
      'f1 tape verified',
      'f2 backup replaced',
      'f2 tape verified',
      'f3 backup released',
    ]);
    const tapeOnly = await copyStatesOf(db, ['f1', 'f2', 'f3'], ['tape']);
    expect(tapeOnly.map((r) => `${r.file_id} ${r.target} ${r.state}`)).toEqual([
      'f1 tape verified',
      'f2 tape verified',
    ]);
  });

  it('filesWithReleasedBackup: the files released with no verified backup since, each once', async () => {
    expect(await filesWithReleasedBackup(db, ['f3', 'f4', 'f1', 'f3', 'f5'])).toEqual(['f3']);
  });
});

describe('retiring verified copies', () => {
  it("retires only the file's verified copies on that target", async () => {
    for (const id of ['g1', 'g2']) await insertFile(db, { id, instrument: 'c2' });
    await copy('g1', 'backup', 'verified', '/b/g1');
    await copy('g1', 'tape', 'verified', '/t/g1');
    await copy('g1', 'backup', 'corrupt', '/bad/g1');
    await copy('g2', 'backup', 'verified', '/b/g2');
    await copy('g2', 'tape', 'verified', '/t/g2');

    await retireVerifiedCopies(db, 'g1', 'tape');
    expect(await states(['g1', 'g2'])).toEqual([
      'g1 backup /b/g1 verified',
      'g1 tape /t/g1 replaced',
      'g1 backup /bad/g1 corrupt',
      'g2 backup /b/g2 verified',
      'g2 tape /t/g2 verified',
    ]);
    await retireVerifiedBackups(db, 'g1');
    expect(await states(['g1', 'g2'])).toEqual([
      'g1 backup /b/g1 replaced',
      'g1 tape /t/g1 replaced',
      'g1 backup /bad/g1 corrupt',
      'g2 backup /b/g2 verified',
      'g2 tape /t/g2 verified',
    ]);
  });
});

describe('reads joining files to their verified backup', () => {
  it('earlierBackedUpNamesakes: earlier records of the name whose verified backup has the same bytes', async () => {
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) {
      await insertFile(db, { id, name: 'n.raw', instrument: 'c3', createdAt: '2026-01-01T00:00:00Z' });
    }
    await insertFile(db, {
      id: 'n6',
      name: 'other.raw',
      instrument: 'c3',
      createdAt: '2026-01-01T00:00:00Z',
    });
    await copy('n1', 'backup', 'verified', '/b/n1');
    await copy('n2', 'backup', 'verified', '/b/n2', 999); // other size
    await copy('n3', 'tape', 'verified', '/t/n3'); // not the filesystem backup
    await copy('n4', 'backup', 'replaced', '/old/n4'); // no verified backup
    await copy('n5', 'backup', 'verified', '/b/n5'); // the file itself
    await copy('n6', 'backup', 'verified', '/b/n6'); // another name
    const self = await db.one<FileRow>(`select * from files where id = 'n5'`);
    const rows = await earlierBackedUpNamesakes(db, self);
    expect(rows.map((r) => `${r.id} ${r.location}`)).toEqual(['n1 /b/n1']);
  });

  it('unfinishedRemovals: every removal cut short, with its verified backup or nulls', async () => {
    for (const id of ['u1', 'u2', 'u3']) await insertFile(db, { id, instrument: 'c4' });
    await db.exec(
      `update files set instrument_copy = 'removing', current_path = source_path,
         mtime = now() - (case id when 'u1' then 3 when 'u2' then 2 else 1 end) * interval '1 hour'
       where instrument_id = 'c4'`,
    );
    await copy('u1', 'backup', 'replaced', '/old/u1');
    await copy('u1', 'backup', 'verified', '/b/u1');
    await copy('u2', 'backup', 'replaced', '/old/u2');
    await copy('u3', 'tape', 'verified', '/t/u3');
    const rows = await unfinishedRemovals(db, 'c4');
    expect(rows.map((r) => `${r.id} ${r.copy_location}`)).toEqual(['u1 /b/u1', 'u2 null', 'u3 null']);
    expect(rows[0]!.copy_id).not.toBeNull();
    expect(rows[1]!.copy_id).toBeNull();
  });

  it('removalCandidates: only files with a verified filesystem backup', async () => {
    for (const id of ['v1', 'v2', 'v3', 'v4']) await insertFile(db, { id, instrument: 'c5' });
    await db.exec(
      `update files set current_path = source_path, manifest = '{}'::jsonb,
         mtime = now() - (case id when 'v1' then 4 when 'v2' then 3 when 'v3' then 2 else 1 end) * interval '1 day'
       where instrument_id = 'c5'`,
    );
    await copy('v1', 'backup', 'verified', '/b/v1');
    await copy('v2', 'tape', 'verified', '/t/v2');
    await copy('v3', 'backup', 'replaced', '/old/v3');
    await copy('v4', 'backup', 'replaced', '/old/v4');
    await copy('v4', 'backup', 'verified', '/b/v4');
    const rows = await removalCandidates(db, 'c5', ['done'], 0);
    expect(rows.map((r) => `${r.id} ${r.copy_location}`)).toEqual(['v1 /b/v1', 'v4 /b/v4']);
  });
});
