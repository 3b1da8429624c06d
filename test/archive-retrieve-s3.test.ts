/**
 * Retrieval of a cold S3 archive (DEEP_ARCHIVE) through a restore-aware STAND-IN in front of a real
 * s3rver (test/helpers/s3-restore.ts: no S3 server that runs here implements RestoreObject; what the
 * stand-in does not emulate is listed there). Shown here: the fetch asks for one restore however many
 * requests join it, waits in `restoring` while the store says the restore is ongoing, never GETs the
 * object before it is restored, then downloads it once and verifies every member.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRetrieval } from '../src/archive/retrieve.ts';
import { getFetch } from '../src/archive/retrieve-repo.ts';
import { s3Client } from '../src/storage/s3-client.ts';
import { insertFile } from './helpers/api.ts';
import { recordArchive, writeTar } from './helpers/archive-fixture.ts';
import { createPipeline, type Pipeline, standardConfig } from './helpers/pipeline.ts';
import { type RestoreStandIn, startRestoreStandIn } from './helpers/s3-restore.ts';
import { waitFor } from './helpers/spawn.ts';

const BUCKET = 'lts-cold';
let p: Pipeline;
let s3: S3rver;
let standIn: RestoreStandIn;

let s3Dir: string;
beforeAll(async () => {
  s3Dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-cold-'));
  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: s3Dir,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  standIn = await startRestoreStandIn((await s3.run()) as AddressInfo, {
    restoreDelayMs: Number.POSITIVE_INFINITY,
  });
  p = await createPipeline(
    standardConfig(`retrieval:
  poll_seconds: 0.05
  poll_max_seconds: 0.2
archive:
  targets:
    - name: glacier
      type: s3
      endpoint: ${standIn.endpoint}
      bucket: ${BUCKET}
      force_path_style: true
      access_key_id: S3RVER
      secret_access_key: S3RVER
      storage_class: DEEP_ARCHIVE
      restore_tier: Bulk
`),
  );
  for (const id of ['g1', 'g2']) await insertFile(p.db, { id });
  await p.start();
});
afterAll(async () => {
  await p?.stop();
  await standIn?.close();
  await s3?.close();
  await p?.close();
  await rm(s3Dir, { recursive: true, force: true });
});

describe('retrieval of a cold S3 archive (restore-aware stand-in)', () => {
  it('restores once for every request, waits, then downloads once and verifies every member', async () => {
    const tarPath = path.join(p.root, 'g.tar');
    const members = await writeTar(tarPath, {
      g1: { 'a.raw': Buffer.alloc(200_000, 3) },
      g2: { 'b.raw': Buffer.from('bee') },
    });
    const tar = await readFile(tarPath);
    const key = 'sluice/archives/g.tar';
    const client = s3Client({
      region: 'us-east-1',
      endpoint: standIn.endpoint,
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
    });
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: tar, StorageClass: 'DEEP_ARCHIVE' }),
    );
    await rm(tarPath);
    await recordArchive(p.db, {
      target: 'glacier',
      kind: 's3',
      location: `s3://${BUCKET}/${key}`,
      storageClass: 'DEEP_ARCHIVE',
      members,
      tar,
    });

    const [a, b] = await Promise.all([
      requestRetrieval(p.db, p.config, { files: ['g1'], by: 'alice' }),
      requestRetrieval(p.db, p.config, { files: ['g2'], by: 'bob' }),
    ]);
    const id = a.retrievals[0]!.fetch_id;
    expect(b.retrievals[0]!.fetch_id).toBe(id);
    await waitFor('the fetch restoring', async () => (await getFetch(p.db, id))?.state === 'restoring');
    // polled a few times while the store says ongoing: still one restore, no GET
    await waitFor('a few restore polls', async () => {
      const t = await p.db.maybeOne<{ polls: number }>(
        `select (payload->>'polls')::int as polls from tasks where kind = 'archive.retrieve' and subject = $1`,
        [id],
      );
      return (t?.polls ?? 0) >= 3;
    });
    expect(standIn.restoreRequests(BUCKET, key)).toBe(1);
    expect(standIn.gets(BUCKET, key)).toBe(0);
    // a third request while restoring joins the same fetch
    const c = await requestRetrieval(p.db, p.config, { files: ['g1'], by: 'carol' });
    expect(c.retrievals[0]!.fetch_id).toBe(id);

    standIn.completeRestore(BUCKET, key);
    const done = await waitFor('the fetch verified', async () => {
      const f = await getFetch(p.db, id);
      if (f?.state === 'failed') throw new Error(`failed: ${f.why}`);
      return f?.state === 'verified' ? f : undefined;
    });
    expect(standIn.restoreRequests(BUCKET, key)).toBe(1);
    expect(standIn.gets(BUCKET, key)).toBe(1);
    expect(done.members_done).toBe(2);
    expect(await readFile(path.join(done.path!, 'data/astral1/g2/b.raw'), 'utf8')).toBe('bee');
  });
});
