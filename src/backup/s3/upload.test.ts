/**
 * `uploadMember` against a real S3 API server (s3rver, loopback): a multipart upload from the reused
 * part buffers with part MD5s and the member's hash computed on threads, the body not hashed again
 * for the signature (UNSIGNED-PAYLOAD, which s3rver accepts as S3 does); a member whose bytes differ
 * from the recorded hash is refused and its upload aborted (no object); at most `partsInFlight` parts
 * are sent at once, and none after one the store refused; a whole PUT for a small one.
 * s3rver answers a multipart upload's ETag as the whole object's MD5 (S3: md5 of the part MD5s, `-N`):
 * the upload records it as given, the read-back judges the object (s3-backup.test.ts).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '../../storage/s3-client.ts';
import { type MemberUpload, uploadMember } from './upload.ts';

let dir: string;
let s3: S3rver;
let client: S3Client;
let port: number;
const MiB = 1024 * 1024;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-s3-upload-'));
  await mkdir(path.join(dir, 's3'));
  s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: path.join(dir, 's3'),
    configureBuckets: [{ name: 'b', configs: [] }],
  });
  ({ port } = (await s3.run()) as AddressInfo);
  client = s3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    force_path_style: true,
    access_key_id: 'S3RVER',
    secret_access_key: 'S3RVER',
  });
});

afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

async function member(name: string, bytes: number): Promise<{ file: string; data: Buffer }> {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i + 4 <= bytes; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  const file = path.join(dir, name);
  await writeFile(file, data);
  return { file, data };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function upload(key: string, file: string, data: Buffer, over: Partial<MemberUpload> = {}): MemberUpload {
  return {
    client,
    bucket: 'b',
    key,
    path: file,
    size: data.length,
    algorithm: 'sha256',
    hash: sha256(data),
    partSize: 5 * MiB,
    partsInFlight: 2,
    storageClass: 'STANDARD',
    metadata: { 'sluice-sha256': sha256(data) },
    ...over,
  };
}

async function stored(key: string): Promise<Buffer | undefined> {
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: 'b', Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch {
    return undefined;
  }
}

describe('uploadMember', () => {
  it('sends a large member in parts from reused buffers; the stored object is the member', async () => {
    const { file, data } = await member('big.bin', 23 * MiB + 7); // 5 parts, the last one short
    let sent = 0;
    const up = await uploadMember({ ...upload('k/big.bin', file, data), onBytes: (n) => (sent += n) });
    expect(up.parts).toBe(5);
    expect(sent).toBe(data.length);
    expect(sha256((await stored('k/big.bin'))!)).toBe(sha256(data));
    const head = await client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k/big.bin' }));
    expect(up.etag).toBe(head.ETag!.replace(/"/g, ''));
    expect(head.Metadata?.['sluice-sha256']).toBe(sha256(data));
  });

  it('refuses a member whose bytes are not the recorded ones, and aborts its upload', async () => {
    const { file, data } = await member('changed.bin', 11 * MiB);
    const wrong = upload('k/changed.bin', file, data, { hash: sha256(Buffer.from('other')) });
    await expect(uploadMember(wrong)).rejects.toMatchObject({
      code: 'backup.s3_mismatch',
      message: expect.stringMatching(/sha256 differs .*recorded/),
    });
    expect(await stored('k/changed.bin')).toBeUndefined();
    const short = upload('k/short.bin', file, data, { size: data.length + 1 });
    await expect(uploadMember(short)).rejects.toMatchObject({ message: /size differs/ });
    expect(await stored('k/short.bin')).toBeUndefined();
  });

  it('sends at most partsInFlight parts at once, and no part after one failed', async () => {
    const { file, data } = await member('bounded.bin', 31 * MiB); // 7 parts of 5 MiB
    // the UploadPart requests as they happen: how many at once, and a refused part on demand
    const watched = s3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
    });
    let now = 0;
    let most = 0;
    const sent: number[] = [];
    let refuse = 0;
    watched.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'UploadPartCommand') return next(args);
        const n = (args.input as { PartNumber: number }).PartNumber;
        sent.push(n);
        if (n === refuse) throw Object.assign(new Error('refused by the test'), { name: 'InternalError' });
        most = Math.max(most, ++now);
        try {
          return await next(args);
        } finally {
          now--;
        }
      },
      { step: 'initialize', name: 'testWatchParts' },
    );
    try {
      const up = await uploadMember({ ...upload('k/bounded.bin', file, data), client: watched });
      expect(up.parts).toBe(7);
      expect(most).toBe(2); // partsInFlight, with 3 buffers
      expect(sha256((await stored('k/bounded.bin'))!)).toBe(sha256(data));

      sent.length = 0;
      refuse = 1;
      const one = { ...upload('k/refused.bin', file, data), client: watched, partsInFlight: 1 };
      await expect(uploadMember(one)).rejects.toThrow(/refused by the test/);
      expect(sent).toEqual([1]); // no part sent after the refused one
      expect(await stored('k/refused.bin')).toBeUndefined();
    } finally {
      watched.destroy();
    }
  });

  it('puts a member no larger than a part in one request, its ETag its MD5', async () => {
    const { file, data } = await member('small.bin', 4096);
    const up = await uploadMember(upload('k/small.bin', file, data));
    expect(up).toEqual({ etag: createHash('md5').update(data).digest('hex'), parts: 1 });
    expect((await stored('k/small.bin'))?.equals(data)).toBe(true);
  });
});
