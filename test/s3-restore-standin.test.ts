/**
 * The restore-aware S3 stand-in (test/helpers/s3-restore.ts) in front of a real s3rver: it is a
 * STAND-IN for S3's Glacier behaviour (no S3 server here implements RestoreObject), checked here
 * through the AWS SDK so the retrieval tests can trust what it answers. What it does not emulate is
 * listed in the helper.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  RestoreObjectCommand,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '../src/storage/s3-client.ts';
import { type RestoreStandIn, startRestoreStandIn } from './helpers/s3-restore.ts';

let dir: string;
let s3: S3rver;
let standIn: RestoreStandIn;
const B = 'cold';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-restore-'));
  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: B, configs: [] }],
  });
  standIn = await startRestoreStandIn((await s3.run()) as AddressInfo, {
    restoreDelayMs: Number.POSITIVE_INFINITY,
  });
});
afterAll(async () => {
  await standIn?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

const client = () =>
  s3Client(
    {
      region: 'us-east-1',
      endpoint: standIn.endpoint,
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
    },
    { maxAttempts: 1 },
  );

async function errorOf(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('restore-aware S3 stand-in', () => {
  it('refuses GET of a cold object until its restore completes, and reports the restore on HEAD', async () => {
    const c = client();
    await c.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'a/x.tar',
        Body: 'archive bytes',
        StorageClass: 'DEEP_ARCHIVE',
      }),
    );
    expect(standIn.isCold(B, 'a/x.tar')).toBe(true);
    expect(await errorOf(c.send(new GetObjectCommand({ Bucket: B, Key: 'a/x.tar' })))).toEqual({
      name: 'InvalidObjectState',
      status: 403,
    });
    let head = await c.send(new HeadObjectCommand({ Bucket: B, Key: 'a/x.tar' }));
    expect(head.StorageClass).toBe('DEEP_ARCHIVE');
    expect(head.Restore).toBeUndefined();

    const asked = await c.send(
      new RestoreObjectCommand({
        Bucket: B,
        Key: 'a/x.tar',
        RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: 'Bulk' } },
      }),
    );
    expect(asked.$metadata.httpStatusCode).toBe(202);
    expect(
      await errorOf(
        c.send(new RestoreObjectCommand({ Bucket: B, Key: 'a/x.tar', RestoreRequest: { Days: 2 } })),
      ),
    ).toMatchObject({ status: 409 });
    head = await c.send(new HeadObjectCommand({ Bucket: B, Key: 'a/x.tar' }));
    expect(head.Restore).toBe('ongoing-request="true"');
    expect(await errorOf(c.send(new GetObjectCommand({ Bucket: B, Key: 'a/x.tar' })))).toMatchObject({
      status: 403,
    });

    standIn.completeRestore(B, 'a/x.tar');
    head = await c.send(new HeadObjectCommand({ Bucket: B, Key: 'a/x.tar' }));
    expect(head.Restore).toMatch(/^ongoing-request="false", expiry-date=".+GMT"$/);
    const got = await c.send(new GetObjectCommand({ Bucket: B, Key: 'a/x.tar', Range: 'bytes=8-12' }));
    expect(await got.Body!.transformToString()).toBe('bytes');
    expect(standIn.restoreRequests(B, 'a/x.tar')).toBe(1);
    const again = await c.send(
      new RestoreObjectCommand({ Bucket: B, Key: 'a/x.tar', RestoreRequest: { Days: 2 } }),
    );
    expect(again.$metadata.httpStatusCode).toBe(200);

    standIn.expireRestore(B, 'a/x.tar');
    expect(await errorOf(c.send(new GetObjectCommand({ Bucket: B, Key: 'a/x.tar' })))).toMatchObject({
      status: 403,
    });
  });

  it('leaves standard objects alone and refuses to restore them', async () => {
    const c = client();
    await c.send(new PutObjectCommand({ Bucket: B, Key: 'warm', Body: 'w' }));
    expect(
      await (await c.send(new GetObjectCommand({ Bucket: B, Key: 'warm' }))).Body!.transformToString(),
    ).toBe('w');
    expect(
      await errorOf(
        c.send(new RestoreObjectCommand({ Bucket: B, Key: 'warm', RestoreRequest: { Days: 1 } })),
      ),
    ).toEqual({ name: 'InvalidObjectState', status: 403 });
  });
});
