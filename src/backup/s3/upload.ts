/**
 * One member of a file uploaded to S3 from the verified filesystem copy, checked as it goes: each
 * part's MD5 is sent as Content-MD5 (the server refuses a part that arrived different) and compared
 * with the part's ETag; the object's ETag (single PUT: its MD5; multipart: md5 of the parts' MD5s,
 * `-N`) is computed locally and compared with what the server answers on completion; and the
 * member's hash (`backup.hash`) is computed over the bytes read and compared with the hash recorded
 * when the filesystem copy was verified — what was sent is what was verified.
 *
 * Memory: at most `partsInFlight` parts are uploading while one more is being read, each a buffer of
 * `partSize` bytes: `partSize × (partsInFlight + 1)` (defaults 16 MiB × 5 = 80 MiB), whatever the
 * file's size. A failed or cancelled upload is aborted; uploads of the same key left by a killed
 * process are aborted before a new one starts (a restart, not a resume: parts are cheap to resend
 * compared with trusting parts whose sender died).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SluiceError } from '../../core/errors.ts';
import { expectedEtag, sameEtag } from './keys.ts';

export interface MemberUpload {
  client: S3Client;
  bucket: string;
  key: string;
  /** The member in the filesystem copy. */
  path: string;
  size: number;
  /** `backup.hash` and the member's hash recorded with the filesystem copy. */
  algorithm: string;
  hash: string;
  partSize: number;
  partsInFlight: number;
  storageClass: string;
  metadata: Record<string, string>;
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
}

/** The object's ETag as computed here (and confirmed by the server). */
export interface UploadedMember {
  etag: string;
  parts: number;
}

function mismatch(what: string, u: MemberUpload, detail: string): SluiceError {
  return new SluiceError('backup.s3_mismatch', `${what} for s3://${u.bucket}/${u.key}: ${detail}`, {
    hint: 'the upload was aborted and is tried again; if it repeats, check the filesystem copy (`sluice files show`) and the store',
  });
}

/** Reads the next `len` bytes at `pos` into a fresh buffer (a short read: the file shrank). */
async function readPart(
  fh: import('node:fs/promises').FileHandle,
  pos: number,
  len: number,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === len ? buf : buf.subarray(0, got);
}

/**
 * The multipart uploads under `prefix`; undefined when the store does not list them (501: s3rver,
 * some gateways) — what a killed attempt left there then stays until the store expires it.
 */
export async function listUploads(client: S3Client, bucket: string, prefix: string | undefined) {
  try {
    return await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 501)
      return undefined;
    throw err;
  }
}

/** Aborts the multipart uploads of exactly this key (left by a killed attempt); returns how many. */
export async function abortUploadsOf(client: S3Client, bucket: string, key: string): Promise<number> {
  const r = await listUploads(client, bucket, key);
  if (!r) return 0;
  let n = 0;
  for (const up of r.Uploads ?? []) {
    if (up.Key !== key || !up.UploadId) continue;
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId }));
    n++;
  }
  return n;
}

/** Uploads one member (see the module comment); throws `backup.s3_mismatch` when anything differs. */
export async function uploadMember(u: MemberUpload): Promise<UploadedMember> {
  const fh = await open(u.path, 'r');
  try {
    if (u.size <= u.partSize) return await putWhole(u, fh);
    return await putMultipart(u, fh);
  } finally {
    await fh.close();
  }
}

async function putWhole(u: MemberUpload, fh: import('node:fs/promises').FileHandle): Promise<UploadedMember> {
  const body = await readPart(fh, 0, u.size);
  const md5 = createHash('md5').update(body).digest();
  checkHash(u, createHash(u.algorithm).update(body).digest('hex'), body.length);
  const r = await u.client.send(
    new PutObjectCommand({
      Bucket: u.bucket,
      Key: u.key,
      Body: body,
      ContentLength: body.length,
      ContentMD5: md5.toString('base64'),
      StorageClass: u.storageClass as never,
      Metadata: u.metadata,
    }),
    { abortSignal: u.signal },
  );
  const etag = expectedEtag([md5], false);
  if (!sameEtag(r.ETag, etag)) throw mismatch('ETag differs', u, `server ${r.ETag}, computed ${etag}`);
  u.onBytes?.(body.length);
  return { etag, parts: 1 };
}

function checkHash(u: MemberUpload, got: string, bytes: number): void {
  if (bytes !== u.size)
    throw mismatch('size differs', u, `read ${bytes} bytes of ${u.path}, recorded ${u.size}`);
  if (got !== u.hash) {
    throw mismatch(
      `${u.algorithm} differs`,
      u,
      `${u.path} read as ${got}, recorded ${u.hash} when the filesystem copy was verified`,
    );
  }
}

async function putMultipart(
  u: MemberUpload,
  fh: import('node:fs/promises').FileHandle,
): Promise<UploadedMember> {
  await abortUploadsOf(u.client, u.bucket, u.key);
  const created = await u.client.send(
    new CreateMultipartUploadCommand({
      Bucket: u.bucket,
      Key: u.key,
      StorageClass: u.storageClass as never,
      Metadata: u.metadata,
    }),
    { abortSignal: u.signal },
  );
  const uploadId = created.UploadId!;
  try {
    const { md5s, etags, wholeMd5 } = await sendParts(u, fh, uploadId);
    const done = await u.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: u.bucket,
        Key: u.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
      { abortSignal: u.signal },
    );
    // S3 (and MinIO, Ceph): md5 of the parts' md5s, `-N`; some stores (s3rver) the whole object's md5.
    // A completed object whose ETag differs stays; the read-back after the upload judges it.
    const etag = expectedEtag(md5s, true);
    if (sameEtag(done.ETag, etag)) return { etag, parts: md5s.length };
    if (sameEtag(done.ETag, wholeMd5)) return { etag: wholeMd5, parts: md5s.length };
    throw mismatch('multipart ETag differs', u, `server ${done.ETag}, computed ${etag} (or ${wholeMd5})`);
  } catch (err) {
    await u.client
      .send(new AbortMultipartUploadCommand({ Bucket: u.bucket, Key: u.key, UploadId: uploadId }))
      .catch(() => undefined); // the target's upkeep (upkeep.ts) aborts it later when the store is down now
    throw err;
  }
}

/**
 * Reads the member part by part (the whole-file hash in order), each part sent with its MD5 while
 * the next is read; at most `partsInFlight` parts travel at once (the memory bound).
 */
async function sendParts(
  u: MemberUpload,
  fh: import('node:fs/promises').FileHandle,
  uploadId: string,
): Promise<{ md5s: Buffer[]; etags: string[]; wholeMd5: string }> {
  const whole = createHash(u.algorithm);
  const wholeMd5 = createHash('md5');
  const md5s: Buffer[] = [];
  const etags: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let pos = 0;
  for (let part = 1; pos < u.size; part++) {
    while (inFlight.size >= u.partsInFlight) await Promise.race(inFlight);
    if (failure) throw failure;
    const body = await readPart(fh, pos, Math.min(u.partSize, u.size - pos));
    if (body.length === 0) break;
    pos += body.length;
    whole.update(body);
    wholeMd5.update(body);
    const md5 = createHash('md5').update(body).digest();
    md5s.push(md5);
    const n = part;
    const p: Promise<void> = u.client
      .send(
        new UploadPartCommand({
          Bucket: u.bucket,
          Key: u.key,
          UploadId: uploadId,
          PartNumber: n,
          Body: body,
          ContentLength: body.length,
          ContentMD5: md5.toString('base64'),
        }),
        { abortSignal: u.signal },
      )
      .then((r) => {
        if (!sameEtag(r.ETag, md5.toString('hex'))) {
          throw mismatch(`part ${n} ETag differs`, u, `server ${r.ETag}, computed ${md5.toString('hex')}`);
        }
        etags[n - 1] = r.ETag!;
        u.onBytes?.(body.length);
      })
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  checkHash(u, whole.digest('hex'), pos);
  return { md5s, etags, wholeMd5: wholeMd5.digest('hex') };
}
