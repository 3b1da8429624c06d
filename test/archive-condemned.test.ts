// Which corrupt tars may go (src/archive/fixity-repo.ts `condemnedTarsCovered`, used by
// src/archive/condemned.ts) on a real database: only once every member of the corrupt archive is in
// a verified archive of the same target with the same path and sha256 (metrics.json by path).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { condemnedTarsCovered, markArchiveCorrupt, markTarRemoved } from '../src/archive/fixity-repo.ts';
import { createArchive, markArchived, recordWritten } from '../src/archive/repo.ts';
import type { Db } from '../src/core/db/db.ts';
import { insertFile } from './helpers/api.ts';
import { createTestDb } from './helpers/db.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ db, drop } = await createTestDb());
  await insertFile(db, { id: 'f' });
});
afterAll(() => drop());

type Kind = 'raw' | 'output' | 'metrics';
const m = (path: string, kind: Kind, sha: string, i: number) => ({
  fileId: 'f',
  path,
  rel: path.split('/').pop()!,
  size: 10,
  sha256: sha.repeat(64),
  headerOffset: i * 1024,
  dataOffset: i * 1024 + 512,
  mode: 0o644,
  mtime: new Date('2026-01-01T00:00:00Z'),
  kind,
  jobRowId: kind === 'output' ? '7' : null,
});

/** An archive on `target` with `members`, verified; returns its id. */
async function archived(target: string, members: ReturnType<typeof m>[]): Promise<string> {
  return db.tx(async (tx) => {
    const id = await createArchive(tx, {
      target,
      targetKind: 'filesystem',
      key: `k-${Math.random()}`,
      location: `/lts/k-${Math.random()}`,
      storageClass: null,
    });
    await recordWritten(tx, id, { sizeBytes: 4096, sha256: null, manifestSha256: 'x', members });
    await markArchived(tx, id);
    return id;
  });
}

const RAW = 'data/astral1/f/f';
const OUT = 'outputs/astral1/f/7/stat.tsv';
const MET = 'metrics/astral1/f/metrics.json';

describe('condemned tars', () => {
  it('are covered only when every member is verified again on the same target', async () => {
    const bad = await archived('lts', [
      m(RAW, 'raw', 'a', 0),
      m(OUT, 'output', 'b', 1),
      m(MET, 'metrics', 'c', 2),
    ]);
    await db.tx((tx) => markArchiveCorrupt(tx, bad, 'test'));
    const covered = async () => (await condemnedTarsCovered(db)).map((a) => a.id);
    expect(await covered()).toEqual([]);
    // the raw set and metrics again, but the output is missing: the tar stays
    await archived('lts', [m(RAW, 'raw', 'a', 0), m(MET, 'metrics', 'd', 1)]);
    expect(await covered()).toEqual([]);
    // the output on another target does not count; with another sha256 neither
    await archived('other', [m(OUT, 'output', 'b', 0)]);
    await archived('lts', [m(OUT, 'output', 'e', 0)]);
    expect(await covered()).toEqual([]);
    // the same output (path and sha256) verified on the same target: covered (metrics.json by path)
    await archived('lts', [m(OUT, 'output', 'b', 0)]);
    expect(await covered()).toEqual([bad]);
    expect(await condemnedTarsCovered(db, { target: 'other' })).toEqual([]);
    expect((await condemnedTarsCovered(db, { archiveId: bad }))[0]?.id).toBe(bad);
    expect(await markTarRemoved(db, bad)).toEqual(['f']);
    expect(await covered()).toEqual([]);
  });
});
