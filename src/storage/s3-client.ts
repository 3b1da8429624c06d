/**
 * An S3 client for a configured bucket (AWS or any S3-compatible store: MinIO, Ceph, s3rver in the
 * tests), shared by the database backups (src/ops/db-backup/) and the S3 backup targets
 * (src/backup/s3/). Only the settings both configs have.
 */
import { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientSettings {
  region: string;
  endpoint?: string;
  force_path_style: boolean;
  access_key_id?: string;
  secret_access_key?: string;
  session_token?: string;
}

export function s3Client(
  cfg: S3ClientSettings & Record<string, unknown>,
  opts: { maxAttempts?: number } = {},
): S3Client {
  return new S3Client({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.force_path_style,
    ...(cfg.access_key_id && cfg.secret_access_key
      ? {
          credentials: {
            accessKeyId: cfg.access_key_id,
            secretAccessKey: cfg.secret_access_key,
            ...(cfg.session_token ? { sessionToken: cfg.session_token } : {}),
          },
        }
      : {}),
    ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    // S3-compatible stores (MinIO, Ceph, s3rver) do not all speak the SDK's newer default checksums
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
