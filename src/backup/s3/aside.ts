/**
 * Keeping an object aside in the store, the S3 side of an accepted overwrite: when an operator
 * accepted overwriting a file's differing filesystem backup (`sluice files accept-overwrite`, kept
 * renamed there), the object in the way of its S3 copy is kept the same way — copied to
 * `<key>.replaced-<time>` in the same bucket (server side, metadata kept) and checked there (size,
 * and the ETag when it is a plain MD5), before the copy task writes the new content at the key.
 *
 * The time is the task's creation, so an attempt after a kill finds the object it already kept
 * (same size and ETag) and does not keep it twice. An object of more than 5 GiB cannot be copied in
 * one request (S3's limit for CopyObject) and is refused with a hint instead.
 */
import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PermanentError, SluiceError } from '../../core/errors.ts';
import { sameEtag } from './keys.ts';
import { isMissingObject } from './verify.ts';

/** CopyObject's limit for one request. */
const COPY_LIMIT = 5 * 1024 ** 3;

export interface InTheWay {
  client: S3Client;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** When the task was enqueued (part of the name kept aside). */
  stamp: Date;
  storageClass: string;
  signal?: AbortSignal;
}

/** The key an object at `key` is kept under (pure). */
export function asideKey(key: string, stamp: Date): string {
  return `${key}.replaced-${stamp.toISOString().replaceAll(':', '-')}`;
}

/** Whether the object at `aside` is the one kept (same size; same ETag when that is a plain MD5). */
function isKept(o: InTheWay, head: { ContentLength?: number; ETag?: string }): boolean {
  const plain = /^[0-9a-f]{32}$/i.test(o.etag);
  return head.ContentLength === o.size && (!plain || sameEtag(head.ETag, o.etag));
}

async function head(o: InTheWay, key: string) {
  try {
    return await o.client.send(new HeadObjectCommand({ Bucket: o.bucket, Key: key }), {
      abortSignal: o.signal,
    });
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    throw err;
  }
}

/** Copies the object in the way aside and returns where it is kept (see the module comment). */
export async function keepAside(o: InTheWay): Promise<string> {
  const aside = asideKey(o.key, o.stamp);
  const there = await head(o, aside);
  if (there && isKept(o, there)) return aside; // an earlier attempt of this task kept it
  if (there) {
    throw new PermanentError(
      'backup.s3_aside_taken',
      `cannot keep s3://${o.bucket}/${o.key} aside: s3://${o.bucket}/${aside} holds another object`,
      'move one of them away in the store, then `sluice files retry` the file',
    );
  }
  if (o.size > COPY_LIMIT) {
    throw new PermanentError(
      'backup.s3_aside_too_large',
      `cannot keep s3://${o.bucket}/${o.key} aside: ${o.size} bytes, more than one copy request moves (5 GiB)`,
      `copy or move it to another key in the store yourself, then \`sluice files retry\` the file`,
    );
  }
  const source = `${o.bucket}/${o.key.split('/').map(encodeURIComponent).join('/')}`;
  await o.client.send(
    new CopyObjectCommand({
      Bucket: o.bucket,
      Key: aside,
      CopySource: source,
      MetadataDirective: 'COPY',
      StorageClass: o.storageClass as never,
    }),
    { abortSignal: o.signal },
  );
  const kept = await head(o, aside);
  if (!kept || !isKept(o, kept)) {
    throw new SluiceError(
      'backup.s3_aside',
      `s3://${o.bucket}/${aside} does not hold the object copied aside (${kept ? `${kept.ContentLength} bytes, ETag ${kept.ETag}` : 'missing'}; expected ${o.size} bytes, ETag ${o.etag})`,
      { hint: 'the copy is tried again; nothing at the key was overwritten' },
    );
  }
  return aside;
}
