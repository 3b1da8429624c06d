/**
 * One S3 client per target for the life of the process (the SDK keeps its connections in it).
 * Its own retries are kept short (3 attempts): a store that is down fails the task's attempt, and
 * the engine's backoff decides when to try again.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3TargetConfig } from '../../core/config/schema/backup-targets.ts';
import { s3Client } from '../../storage/s3-client.ts';

const clients = new Map<string, { cfg: S3TargetConfig; client: S3Client }>();

export function clientFor(t: S3TargetConfig): S3Client {
  const had = clients.get(t.name);
  if (had && had.cfg === t) return had.client;
  const client = s3Client(t, { maxAttempts: 3 });
  clients.set(t.name, { cfg: t, client });
  return client;
}
