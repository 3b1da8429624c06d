/**
 * One member of a file uploaded to S3 from the verified filesystem copy, checked as it goes: each
 * part's MD5 is sent as Content-MD5 (the server refuses a part that arrived different) and compared
 * with the part's ETag; the object's ETag (single PUT: its MD5; multipart: md5 of the parts' MD5s,
 * `-N`) is computed locally and compared with what the server answers on completion (a store that
 * answers a plain MD5 for a multipart upload, as s3rver does, is judged by the read-back); and the
 * member's hash (`backup.hash`) is computed over the bytes read and compared with the hash recorded
 * when the filesystem copy was verified — what was sent is what was verified.
 *
 * Memory: at most `partsInFlight` parts are uploading while one more is being read, each in one of
 * `partsInFlight + 1` reused buffers of `partSize` bytes (parts.ts; defaults 16 MiB × 5 = 80 MiB),
 * whatever the file's size. Part MD5s and the member's hash are computed on threads (parts.ts); the
 * SDK does not hash the parts again for its signature (`unsignedPayload`). A failed or cancelled upload is aborted; uploads of the same key left by a killed
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
import { ObjectHashes, PartBuffers } from './parts.ts';

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
  /** A multipart upload was created, before any part is sent (the task remembers its id). */
  onUploadStarted?: (uploadId: string) => Promise<void>;
}

/** The object's ETag as computed here (and confirmed by the server). */
export interface UploadedMember {
  etag: string;
  parts: number;
}

/**
 * The request's body is not hashed into its signature (`x-amz-content-sha256: UNSIGNED-PAYLOAD`,
 * which S3 and the S3-compatible stores accept): the SDK would otherwise hash every part with
 * sha256 on the event loop for the signature alone. The body is protected by its Content-MD5,
 * which the store checks (and refuses a part that arrived different), and the whole object is
 * read back and hashed after the upload.
 */
function unsignedPayload<C extends { middlewareStack: { add: (...a: never[]) => void } }>(cmd: C): C {
  const stack = cmd.middlewareStack as unknown as {
    add(
      mw: (next: (args: { request: unknown }) => unknown) => (args: { request: unknown }) => unknown,
      opts: { step: 'build'; name: string },
    ): void;
  };
  stack.add(
    (next) => (args) => {
      const req = args.request as { headers?: Record<string, string> };
      if (req.headers) req.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'sluiceUnsignedPayload' },
  );
  return cmd;
}

function mismatch(what: string, u: MemberUpload, detail: string): SluiceError {
  return new SluiceError('backup.s3_mismatch', `${what} for s3://${u.bucket}/${u.key}: ${detail}`, {
    hint: 'the upload was aborted and is tried again; if it repeats, check the filesystem copy (`sluice files show`) and the store',
  });
}

/** Reads up to `len` bytes at `pos` into `buf`; fewer only when the file ends (it shrank). */
async function readInto(
  fh: import('node:fs/promises').FileHandle,
  buf: Buffer,
  pos: number,
  len: number,
): Promise<number> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Reads the next `len` bytes at `pos` into a fresh buffer (a short read: the file shrank). */
async function readPart(
  fh: import('node:fs/promises').FileHandle,
  pos: number,
  len: number,
): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  const got = await readInto(fh, buf, pos, len);
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

/**
 * Aborts one multipart upload by its id (one a killed attempt started): 'aborted', 'gone' (completed
 * or aborted already), or what the store answered when it cannot abort (s3rver: 405).
 */
export async function abortUpload(
  client: S3Client,
  up: { bucket: string; key: string; uploadId: string },
): Promise<string> {
  try {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: up.bucket, Key: up.key, UploadId: up.uploadId }),
    );
    return 'aborted';
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404) return 'gone';
    return `not aborted: the store answered ${e.$metadata?.httpStatusCode ?? '?'} ${e.name ?? String(err)}`;
  }
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
    unsignedPayload(
      new PutObjectCommand({
        Bucket: u.bucket,
        Key: u.key,
        Body: body,
        ContentLength: body.length,
        ContentMD5: md5.toString('base64'),
        StorageClass: u.storageClass as never,
        Metadata: u.metadata,
      }),
    ),
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
    await u.onUploadStarted?.(uploadId);
    const { md5s, etags } = await sendParts(u, fh, uploadId);
    const done = await u.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: u.bucket,
        Key: u.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
      { abortSignal: u.signal },
    );
    // S3 (and MinIO, Ceph): md5 of the parts' md5s, `-N`, computed here and compared. Some stores
    // (s3rver) answer the whole object's md5 instead: not recomputed here (a second MD5 pass over the
    // member, the costliest hash of the upload); recorded as the store gave it, and the read-back
    // after the upload judges the object: every byte hashed with `backup.hash` against the recorded
    // hash, and the GET's ETag compared with this one.
    const etag = expectedEtag(md5s, true);
    if (sameEtag(done.ETag, etag)) return { etag, parts: md5s.length };
    const theirs = (done.ETag ?? '').replace(/"/g, '');
    if (/^[0-9a-f]{32}$/i.test(theirs)) return { etag: theirs, parts: md5s.length };
    throw mismatch('multipart ETag differs', u, `server ${done.ETag}, computed ${etag}`);
  } catch (err) {
    await u.client
      .send(new AbortMultipartUploadCommand({ Bucket: u.bucket, Key: u.key, UploadId: uploadId }))
      .catch(() => undefined); // the target's upkeep (upkeep.ts) aborts it later when the store is down now
    throw err;
  }
}

/**
 * Reads the member part by part into the reused part buffers (parts.ts), each part's MD5 computed on
 * a thread and sent as its Content-MD5 while the next part is read and the member's hash takes it
 * in order on another thread; at most `partsInFlight` parts travel at once (the memory
 * bound: `partsInFlight + 1` buffers).
 */
async function sendParts(
  u: MemberUpload,
  fh: import('node:fs/promises').FileHandle,
  uploadId: string,
): Promise<{ md5s: Buffer[]; etags: string[] }> {
  const buffers = new PartBuffers(u.partSize, u.partsInFlight + 1);
  const hashes = new ObjectHashes(u.algorithm);
  const md5s: Buffer[] = [];
  const etags: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let pos = 0;
  try {
    for (let part = 1; pos < u.size; part++) {
      while (inFlight.size >= u.partsInFlight) await Promise.race(inFlight);
      if (failure) throw failure;
      const buf = await buffers.take();
      const len = await readInto(fh, buf, pos, Math.min(u.partSize, u.size - pos));
      if (len === 0) {
        buffers.give(buf);
        break;
      }
      pos += len;
      const h = hashes.part(buf, len);
      const n = part;
      const one = async () => {
        try {
          const md5 = await h.md5;
          etags[n - 1] = await sendPart(u, uploadId, n, buf.subarray(0, len), md5);
          md5s[n - 1] = md5;
        } catch (err) {
          failure ??= err;
        } finally {
          await h.taken.catch((err) => {
            failure ??= err;
          });
          buffers.give(buf);
        }
      };
      const p: Promise<void> = one().finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    if (failure) throw failure;
    checkHash(u, await hashes.digest(), pos);
    return { md5s, etags };
  } finally {
    await Promise.allSettled([...inFlight]);
    await hashes.close();
  }
}

/** One part sent with its MD5; its ETag, checked against that MD5. */
async function sendPart(u: MemberUpload, uploadId: string, n: number, body: Buffer, md5: Buffer) {
  const r = await u.client.send(
    unsignedPayload(
      new UploadPartCommand({
        Bucket: u.bucket,
        Key: u.key,
        UploadId: uploadId,
        PartNumber: n,
        Body: body,
        ContentLength: body.length,
        ContentMD5: md5.toString('base64'),
      }),
    ),
    { abortSignal: u.signal },
  );
  if (!sameEtag(r.ETag, md5.toString('hex'))) {
    throw mismatch(`part ${n} ETag differs`, u, `server ${r.ETag}, computed ${md5.toString('hex')}`);
  }
  u.onBytes?.(body.length);
  return r.ETag!;
}
