/**
 * Archives for the retrieval tests, made without the packer: a pax tar written by GNU tar in the
 * layout the packer writes (`bagit.txt`, members under `data/<instrument>/<file id>/…`,
 * `manifest-sha256.txt` last), recorded as a verified archive through src/archive/repo.ts; and a
 * wait for a file's item to be archived (tests with a real worker).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createArchive, itemsOfFile, markArchived, recordWritten } from '../../src/archive/repo.ts';
import type { Db } from '../../src/core/db/db.ts';
import { waitFor } from './spawn.ts';

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Set contents: file id → relative path → bytes. */
export type Sets = Record<string, Record<string, Buffer>>;

/** Writes the tar of `sets` to `tarPath`; returns its members as recorded. */
export async function writeTar(tarPath: string, sets: Sets, instrument = 'astral1') {
  const src = await mkdtemp(path.join(os.tmpdir(), 'sluice-tar-'));
  const members = [];
  const manifest: string[] = [];
  for (const [fileId, files] of Object.entries(sets))
    for (const [rel, data] of Object.entries(files)) {
      const p = `data/${instrument}/${fileId}/${rel}`;
      await mkdir(path.join(src, path.dirname(p)), { recursive: true });
      await writeFile(path.join(src, p), data);
      manifest.push(`${sha256(data)}  ${p}`);
      members.push({
        fileId,
        path: p,
        rel,
        size: data.length,
        sha256: sha256(data),
        headerOffset: 0,
        dataOffset: 512,
        mode: 0o644,
        mtime: new Date(),
      });
    }
  await writeFile(path.join(src, 'bagit.txt'), 'BagIt-Version: 1.0\n');
  await writeFile(path.join(src, 'manifest-sha256.txt'), `${manifest.join('\n')}\n`);
  await mkdir(path.dirname(tarPath), { recursive: true });
  execFileSync('tar', [
    '--format=pax',
    '-cf',
    tarPath,
    '-C',
    src,
    'bagit.txt',
    'data',
    'manifest-sha256.txt',
  ]);
  await rm(src, { recursive: true, force: true });
  return members;
}

/** Records a verified archive on `target` holding `members` at `location`; returns its id. */
export async function recordArchive(
  db: Db,
  a: {
    target: string;
    kind: 'filesystem' | 's3';
    location: string;
    storageClass?: string | null;
    members: Awaited<ReturnType<typeof writeTar>>;
    tar: Buffer;
  },
): Promise<string> {
  const id = await createArchive(db, {
    target: a.target,
    targetKind: a.kind,
    key: a.location.replace(/^s3:\/\/[^/]+\//, ''),
    location: a.location,
    storageClass: a.storageClass ?? null,
  });
  await recordWritten(db, id, {
    sizeBytes: a.tar.length,
    sha256: sha256(a.tar),
    manifestSha256: 'm',
    members: a.members,
  });
  await markArchived(db, id);
  return id;
}

/** A filesystem archive of `sets` at `tarPath`, recorded as verified. */
export async function fsArchive(db: Db, tarPath: string, sets: Sets, target = 'lts'): Promise<string> {
  const members = await writeTar(tarPath, sets);
  return recordArchive(db, {
    target,
    kind: 'filesystem',
    location: tarPath,
    members,
    tar: await readFile(tarPath),
  });
}

/** Waits until `fileId`'s item on `target` is archived (in an archive other than `notIn`). */
export async function archivedItem(
  db: Db,
  fileId: string,
  o: { notIn?: string; target?: string; ms?: number } = {},
) {
  return waitFor(
    `${fileId} archived on ${o.target ?? 'lts'}`,
    async () => {
      const item = (await itemsOfFile(db, fileId)).find((i) => i.target === (o.target ?? 'lts'));
      return item?.state === 'archived' && item.archive_id !== o.notIn ? item : undefined;
    },
    o.ms ?? 60_000,
  );
}
