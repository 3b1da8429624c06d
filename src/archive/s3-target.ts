/**
 * The S3 archive target: the packed tar streamed into one multipart upload (parts of
 * `part_size_mb`, at most `parts_in_flight` in flight, each with its Content-MD5: memory is bounded
 * by part size × (in flight + 1), nothing staged on disk), read back with GetObject for verification.
 *
 * Cold classes (GLACIER, DEEP_ARCHIVE) cannot be read without a restore: such an archive is written
 * in STANDARD, read back and verified, and only then moved into its class by a server-side copy onto
 * itself (`toColdClass`, objects up to 5 GiB). Its fixity is therefore verified at write time only.
 *
 * Crash safety: the upload's id is remembered in the task's payload before any part is sent; the
 * next attempt aborts the uploads remembered before it starts again (a store that cannot list
 * uploads, like s3rver, would keep their parts otherwise).
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { COLD_CLASSES, type S3ArchiveTarget } from '../core/config/schema/archive.ts';
import { s3Client } from '../storage/s3-client.ts';
import type { Kind, KindContext } from '../tasks/catalogue.ts';

const clients = new Map<S3ArchiveTarget, S3Client>();

export function archiveClient(t: S3ArchiveTarget): S3Client {
  let c = clients.get(t);
  if (!c) {
    c = s3Client(t, { maxAttempts: 3 });
    clients.set(t, c);
  }
  return c;
}

export function s3ArchiveKey(t: S3ArchiveTarget, key: string): string {
  return `${t.prefix}${key}`;
}

export function s3ArchiveLocation(t: S3ArchiveTarget, key: string): string {
  return `s3://${t.bucket}/${s3ArchiveKey(t, key)}`;
}

/** The class an archive is uploaded in (a cold one only after its verification). */
export function uploadClass(t: S3ArchiveTarget): string {
  return COLD_CLASSES.includes(t.storage_class) ? 'STANDARD' : t.storage_class;
}

async function abortRemembered(ctx: KindContext<typeof Kind.archivePack>, client: S3Client): Promise<void> {
  const left = [];
  for (const up of ctx.payload.uploads ?? []) {
    try {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: up.bucket, Key: up.key, UploadId: up.uploadId }),
      );
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name !== 'NoSuchUpload' && e.$metadata?.httpStatusCode !== 404) left.push(up);
    }
  }
  await ctx.remember({ uploads: left });
}

/** Writes the tar `produce` pushes into one multipart upload at `key`. */
export async function writeS3Archive<T>(
  ctx: KindContext<typeof Kind.archivePack>,
  t: S3ArchiveTarget,
  key: string,
  produce: (sink: (chunk: Buffer) => Promise<void>) => Promise<T>,
): Promise<T> {
  const client = archiveClient(t);
  await abortRemembered(ctx, client);
  const Key = s3ArchiveKey(t, key);
  const created = await client.send(
    new CreateMultipartUploadCommand({ Bucket: t.bucket, Key, StorageClass: uploadClass(t) as never }),
    { abortSignal: ctx.signal },
  );
  const UploadId = created.UploadId!;
  await ctx.remember({
    uploads: [...(ctx.payload.uploads ?? []), { bucket: t.bucket, key: Key, uploadId: UploadId }],
  });
  const partSize = t.part_size_mb * 1024 * 1024;
  const parts: { ETag: string; PartNumber: number }[] = [];
  const inFlight = new Set<Promise<void>>();
  let buf: Buffer[] = [];
  let held = 0;
  const send = (body: Buffer) => {
    const PartNumber = parts.length + inFlight.size + 1;
    const p = client
      .send(
        new UploadPartCommand({
          Bucket: t.bucket,
          Key,
          UploadId,
          PartNumber,
          Body: body,
          ContentLength: body.length,
          ContentMD5: createHash('md5').update(body).digest('base64'),
        }),
        { abortSignal: ctx.signal },
      )
      .then((r) => {
        parts.push({ ETag: r.ETag!, PartNumber });
        ctx.progress();
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const flush = async (force: boolean) => {
    while (held >= partSize || (force && held > 0)) {
      const all = Buffer.concat(buf);
      const body = all.subarray(0, Math.min(partSize, all.length));
      buf = body.length < all.length ? [all.subarray(body.length)] : [];
      held = all.length - body.length;
      while (inFlight.size >= t.parts_in_flight) await Promise.race(inFlight);
      send(Buffer.from(body));
    }
  };
  try {
    const result = await produce(async (chunk) => {
      buf.push(chunk);
      held += chunk.length;
      if (held >= partSize) await flush(false);
    });
    await flush(true);
    await Promise.all(inFlight);
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: t.bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: ctx.signal },
    );
    await ctx.remember({ uploads: (ctx.payload.uploads ?? []).filter((u) => u.uploadId !== UploadId) });
    return result;
  } catch (err) {
    await Promise.allSettled(inFlight);
    await client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key, UploadId })).catch(() => {});
    throw err;
  }
}

/** The archive's bytes as stored (GetObject, streamed). */
export async function* readS3Archive(
  t: S3ArchiveTarget,
  key: string,
  signal?: AbortSignal,
): AsyncIterable<Uint8Array> {
  const r = await archiveClient(t).send(
    new GetObjectCommand({ Bucket: t.bucket, Key: s3ArchiveKey(t, key) }),
    {
      abortSignal: signal,
    },
  );
  for await (const c of r.Body as AsyncIterable<Uint8Array>) yield c;
}

export async function removeS3Archive(t: S3ArchiveTarget, key: string): Promise<void> {
  await archiveClient(t).send(new DeleteObjectCommand({ Bucket: t.bucket, Key: s3ArchiveKey(t, key) }));
}

/** After verification: a cold class's archive moved into its class (a copy onto itself). */
export async function toColdClass(t: S3ArchiveTarget, key: string): Promise<boolean> {
  if (!COLD_CLASSES.includes(t.storage_class)) return false;
  const Key = s3ArchiveKey(t, key);
  await archiveClient(t).send(
    new CopyObjectCommand({
      Bucket: t.bucket,
      Key,
      CopySource: `${t.bucket}/${encodeURIComponent(Key).replace(/%2F/g, '/')}`,
      StorageClass: t.storage_class as never,
      MetadataDirective: 'COPY',
    }),
  );
  return true;
}
