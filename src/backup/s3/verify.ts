/**
 * Reading an S3 copy back: every member's object fetched in full (GET, streamed: memory stays at a
 * chunk) and hashed with the copy's algorithm against the hashes recorded when the filesystem copy
 * was verified, its size and ETag checked too. This is the "full checksum" of a new copy where the
 * store does not check `x-amz-checksum-sha256` itself, the remover's check of a required S3 target
 * (`cleanup.require`), and the fixity audit of S3 copies (a bit flipped in a stored object shows).
 * The result has the shape of `verifyCopy`'s (../verify.ts) so the callers treat both targets alike.
 *
 * One GET per object, hashed on the event loop as its bytes arrive. A member of 1 MiB or more is
 * received into one reused 256 KiB buffer (raw-get.ts; plain http endpoints): the SDK's Node handler
 * allocates a new 64 KiB buffer per socket read, and right after an upload that made V8 run a full
 * collection every ~60 ms. Measured on 1 GiB read back right after `uploadMember` in the same
 * process (s3rver in its own process, old and new alternating, 4 rounds, load 10–12): client CPU
 * 1.9–3.3 s (median 2.9; main thread 1.5–2.0 s, V8's GC threads 0.3–1.3 s) with the SDK's stream,
 * 0.94–1.13 s (median 0.96; sha256 ~0.6 s of it, GC threads ~0) with the reused buffer; wall
 * 4.5–8.5 s (median 5.9) against 3.3–4.3 s (median 4.1). Ranged GETs, four at once into shared
 * buffers hashed on a thread, were measured slower against s3rver earlier (copying the chunks and
 * collecting them cost more than the hash). Now the event loop is idle most of the GET (profile of
 * a 3.8 s read-back at load 10: 2.9 s idle, sha256 0.78 s, the collector 0.003 s): the store's
 * sending is the limit, so hashing on a thread would not shorten it.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { S3TargetConfig } from '../../core/config/schema/backup-targets.ts';
import { SluiceError } from '../../core/errors.ts';
import type { Manifest } from '../../storage/raw-data.ts';
import { clientFor } from './clients.ts';
import { type S3Manifest, sameEtag } from './keys.ts';
import { RawBody, rawBodyGet } from './raw-get.ts';

/** From this size on, a member's GET is received into a reused buffer (raw-get.ts); smaller ones
 * keep the SDK's pooled keep-alive connections (the raw GET opens a connection per object, and a
 * small body is only a few reads; not measured). */
const RAW_MIN_BYTES = 1024 * 1024;

export interface S3VerifyResult {
  ok: boolean;
  problems: string[];
  /** Always a read from the store (no page cache between us and S3). */
  read: 'direct';
  bytes: number;
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** Whether an error of the store means "the object is not there" (as opposed to "the store is down"). */
export function isMissingObject(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return httpStatus(err) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

/**
 * Reads every member of the copy back and compares. Problems of the data (a hash, a size, an ETag,
 * a missing object) are returned; a store that cannot be reached throws (nothing is concluded).
 */
export async function readBackS3Copy(
  client: S3Client,
  m: S3Manifest,
  opts: { signal?: AbortSignal } = {},
): Promise<S3VerifyResult> {
  const problems: string[] = [];
  let bytes = 0;
  const objects = new Map(m.s3.objects.map((o) => [o.rel, o]));
  for (const e of m.entries) {
    const o = objects.get(e.rel);
    const where = `s3://${m.s3.bucket}/${o?.key ?? e.rel}`;
    if (!o) {
      problems.push(`${e.rel}: no object recorded for this member`);
      continue;
    }
    const h = createHash(m.algorithm); // before the GET: an answer's body is never left unread
    let r: GetObjectCommandOutput;
    try {
      const get = new GetObjectCommand({ Bucket: m.s3.bucket, Key: o.key });
      r = await client.send(e.size >= RAW_MIN_BYTES ? rawBodyGet(get, opts.signal) : get, {
        abortSignal: opts.signal,
      });
    } catch (err) {
      if (!isMissingObject(err)) throw err;
      problems.push(`${where}: missing`);
      continue;
    }
    if (!sameEtag(r.ETag, o.etag)) problems.push(`${where}: ETag ${r.ETag}, recorded ${o.etag}`);
    let n = 0;
    if (r.Body instanceof RawBody) {
      const body = r.Body;
      n = await body.drain((b) => h.update(b)).finally(() => body.destroy());
    } else {
      for await (const chunk of r.Body as Readable) {
        h.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
    }
    bytes += n;
    const got = h.digest('hex');
    if (n !== e.size) problems.push(`${where}: ${n} bytes, recorded ${e.size}`);
    else if (got !== e.hash) problems.push(`${where}: ${m.algorithm} ${got}, recorded ${e.hash}`);
  }
  return { ok: problems.length === 0, problems, read: 'direct', bytes };
}

/**
 * A recorded S3 copy of target `c.target` read back (the fixity audit, the remover). Throws when the
 * target is no longer in the config or the store cannot be reached: nothing is concluded then.
 */
export async function verifyS3Copy(
  targets: readonly S3TargetConfig[],
  c: { target: string; manifest: Manifest },
  opts: { signal?: AbortSignal } = {},
): Promise<S3VerifyResult> {
  const t = targets.find((x) => x.name === c.target);
  if (!t) {
    throw new SluiceError(
      'backup.s3_target_unknown',
      `the copy's target '${c.target}' is not in backup.targets any more; it cannot be read back`,
      {
        hint: 'add the target back to the config (its copies stay recorded), or accept that it is not checked',
      },
    );
  }
  return readBackS3Copy(clientFor(t), c.manifest as S3Manifest, opts);
}
