/**
 * Where a retrieval reads an archive from: the filesystem target (the tar at its recorded location)
 * or an S3 target (GetObject), and for S3 cold classes the restore (HeadObject's `x-amz-restore`,
 * RestoreObject). Thin I/O; the decisions are in retrieve-rules.ts.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, RestoreObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../core/config/index.ts';
import type { S3ArchiveTarget } from '../core/config/schema/archive.ts';
import { SluiceError } from '../core/errors.ts';
import { s3Client } from '../storage/s3-client.ts';
import type { ArchiveRow } from './repo.ts';
import { COLD_CLASSES, parseRestoreHeader, type RestoreStatus } from './retrieve-rules.ts';

/** The S3 settings of archive target `name` (config `archive.targets`). */
export function archiveS3Settings(config: Config, name: string): S3ArchiveTarget {
  const t = config.archive.targets.find((x) => x.name === name);
  if (t?.type !== 's3')
    throw new SluiceError(
      'retrieve.no_target',
      `archive target '${name}' is not an S3 target in the config`,
      {
        hint: 'an archive can be retrieved only while its target is configured under archive.targets',
      },
    );
  return t;
}

const clients = new Map<string, S3Client>();
function clientOf(s: S3ArchiveTarget): S3Client {
  const key = JSON.stringify([s.name, s.endpoint, s.region, s.access_key_id]);
  let c = clients.get(key);
  if (!c) {
    c = s3Client(s);
    clients.set(key, c);
  }
  return c;
}

/** `s3://bucket/key` → its parts. */
export function splitS3Location(location: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!m)
    throw new SluiceError('retrieve.bad_location', `archive location '${location}' is not s3://bucket/key`);
  return { bucket: m[1]!, key: m[2]! };
}

/** Must the archive be restored before it is read? */
export function isCold(a: Pick<ArchiveRow, 'target_kind' | 'storage_class'>): boolean {
  return a.target_kind === 's3' && COLD_CLASSES.has(a.storage_class ?? '');
}

/** What the store says about the archive's restore now. */
export async function restoreStatus(config: Config, a: ArchiveRow): Promise<RestoreStatus> {
  const { bucket, key } = splitS3Location(a.location);
  const head = await clientOf(archiveS3Settings(config, a.target)).send(
    new HeadObjectCommand({ Bucket: bucket, Key: key }),
  );
  return parseRestoreHeader(head.Restore);
}

/** Asks the store to restore the archive (an answer "already in progress" is as good as accepted). */
export async function askRestore(config: Config, a: ArchiveRow): Promise<void> {
  const s = archiveS3Settings(config, a.target);
  const { bucket, key } = splitS3Location(a.location);
  try {
    await clientOf(s).send(
      new RestoreObjectCommand({
        Bucket: bucket,
        Key: key,
        RestoreRequest: {
          Days: s.restore_days,
          GlacierJobParameters: { Tier: s.restore_tier },
        },
      }),
    );
  } catch (err) {
    if ((err as { name?: string }).name === 'RestoreAlreadyInProgress') return;
    throw err;
  }
}

/** The archive's bytes, from the start. */
export async function openArchive(config: Config, a: ArchiveRow): Promise<Readable> {
  if (a.target_kind === 'filesystem') return createReadStream(a.location, { highWaterMark: 1 << 20 });
  const { bucket, key } = splitS3Location(a.location);
  const r = await clientOf(archiveS3Settings(config, a.target)).send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
  );
  if (!r.Body) throw new SluiceError('retrieve.empty_body', `S3 answered no body for ${a.location}`);
  return r.Body as Readable;
}
