/**
 * Where database backups go: a local directory or an S3 bucket (any S3-compatible store).
 *
 * A backup becomes visible under its final name only when it is complete:
 * - directory: written to `.<name>.partial-<hex>` beside it (mode 0600: a backup holds password and
 *   token hashes), fsynced, then linked to its final name (never overwriting one) and the directory
 *   fsynced. A temp left by a killed process is removed by a later backup of the same strategy once
 *   it has not changed for an hour.
 * - S3: streamed with a multipart upload; the object appears only when the upload completes, and a
 *   failed upload is aborted.
 * Listing and deleting only ever consider names `sluice-<strategy>-<timestamp>.sluicedump`, so other
 * files in the same place are never touched.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { DbBackupStrategy, S3LocationConfig } from '../../core/config/schema/db-backups.ts';
import { SluiceError } from '../../core/errors.ts';
import { errnoCode, fsyncDir, isMissing } from '../../storage/fsutil.ts';
import { s3Client } from '../../storage/s3-client.ts';

export { s3Client };

import { parseBackupFileName } from './format.ts';
import type { DumpSource } from './restore.ts';

export interface BackupEntry {
  /** File name (the key without the prefix). */
  name: string;
  /** Full path or `s3://bucket/key`. */
  ref: string;
  size: number;
  createdAt: Date;
}

export interface BackupLocation {
  /** `/path/to/dir` or `s3://bucket/prefix`. */
  readonly describe: string;
  /** Writes `name` through `produce`, which must end the stream it is given. */
  write<T>(name: string, produce: (out: Writable) => Promise<T>): Promise<{ result: T; ref: string }>;
  /** The backups of `strategy`, newest first. */
  list(strategy: string): Promise<BackupEntry[]>;
  remove(entry: BackupEntry): Promise<void>;
  source(name: string): Promise<DumpSource>;
}

const STALE_PARTIAL_MS = 3_600_000;

export class DirLocation implements BackupLocation {
  constructor(readonly dir: string) {}

  get describe(): string {
    return this.dir;
  }

  async write<T>(name: string, produce: (out: Writable) => Promise<T>): Promise<{ result: T; ref: string }> {
    await mkdir(this.dir, { recursive: true }).catch((err) => {
      throw this.fsError(err, 'create');
    });
    await this.sweepPartials(name);
    const final = join(this.dir, name);
    const temp = join(this.dir, `.${name}.partial-${randomBytes(6).toString('hex')}`);
    let result: T;
    try {
      // flush: fsync before the descriptor closes; the pipeline in `produce` ends after that
      result = await produce(createWriteStream(temp, { flags: 'wx', mode: 0o600, flush: true }));
      await link(temp, final).catch((err) => {
        if (errnoCode(err) === 'EEXIST') {
          throw new SluiceError('db_backup.exists', `${final} already exists; it was not overwritten`, {
            hint: 'choose another file name',
            exitCode: 2,
          });
        }
        throw err;
      });
      await unlink(temp);
      await fsyncDir(this.dir);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      // errors of the file system name the directory; others (the database's) pass as they are
      throw errnoCode(err) ? this.fsError(err, 'write') : err;
    }
    return { result, ref: final };
  }

  /** Temps of earlier, killed backups of the same strategy (untouched for an hour). */
  private async sweepPartials(name: string): Promise<void> {
    const strategyPrefix = name.replace(/-\d{8}T\d{6}\.\d{3}Z\.sluicedump$/, '-');
    if (strategyPrefix === name) return;
    for (const f of await readdir(this.dir).catch(() => [] as string[])) {
      if (!f.startsWith(`.${strategyPrefix}`) || !/\.sluicedump\.partial-[0-9a-f]{12}$/.test(f)) continue;
      const st = await stat(join(this.dir, f)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_PARTIAL_MS)
        await unlink(join(this.dir, f)).catch(() => undefined);
    }
  }

  async list(strategy: string): Promise<BackupEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isMissing(err)) return [];
      throw this.fsError(err, 'list');
    }
    const out: BackupEntry[] = [];
    for (const name of names) {
      const createdAt = parseBackupFileName(strategy, name);
      if (!createdAt) continue;
      const st = await stat(join(this.dir, name)).catch(() => undefined);
      if (st?.isFile()) out.push({ name, ref: join(this.dir, name), size: st.size, createdAt });
    }
    return newestFirst(out);
  }

  async remove(entry: BackupEntry): Promise<void> {
    await unlink(join(this.dir, entry.name)).catch((err) => {
      if (!isMissing(err)) throw this.fsError(err, 'delete');
    });
  }

  async source(name: string): Promise<DumpSource> {
    return fileSource(join(this.dir, name));
  }

  private fsError(err: unknown, what: string): Error {
    if (err instanceof SluiceError) return err;
    const code = errnoCode(err);
    const hint =
      code === 'ENOSPC' || code === 'EDQUOT'
        ? `free space on ${this.dir} or point the strategy at a bigger volume`
        : `check that ${this.dir} exists (or can be created) and is writable by the user running sluice`;
    return new SluiceError(
      'db_backup.location',
      `cannot ${what} database backups in ${this.dir}: ${code ?? (err as Error).message}`,
      { hint, cause: err },
    );
  }
}

/** A local backup file as a restore source. */
export async function fileSource(path: string): Promise<DumpSource> {
  const st = await stat(path).catch((err) => {
    throw new SluiceError(
      'usage',
      `FILE ${path} ${isMissing(err) ? 'does not exist' : `cannot be read: ${errnoCode(err)}`}`,
      { hint: 'give the path of a .sluicedump file (`sluice db backups` lists them)', exitCode: 2 },
    );
  });
  if (!st.isFile()) {
    throw new SluiceError('usage', `FILE ${path} is not a file`, { exitCode: 2 });
  }
  return { name: path, size: st.size, open: async () => createReadStream(path) };
}

function newestFirst(entries: BackupEntry[]): BackupEntry[] {
  return entries.sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.name.localeCompare(a.name),
  );
}

export class S3Location implements BackupLocation {
  private readonly client: S3Client;
  /** `partSize`: bytes per part of the multipart upload (S3's minimum is 5 MiB). */
  constructor(
    readonly cfg: S3LocationConfig,
    private readonly partSize = 16 * 1024 * 1024,
  ) {
    this.client = s3Client(cfg);
  }

  get describe(): string {
    return `s3://${this.cfg.bucket}/${this.cfg.prefix}`;
  }

  private key(name: string): string {
    return `${this.cfg.prefix}${name}`;
  }

  async write<T>(name: string, produce: (out: Writable) => Promise<T>): Promise<{ result: T; ref: string }> {
    const body = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.cfg.bucket, Key: this.key(name), Body: body, ContentType: 'application/gzip' },
      queueSize: 2,
      partSize: this.partSize,
    });
    let uploadError: unknown;
    const uploaded = upload.done();
    // an upload that fails stops the producer instead of leaving it waiting for a reader
    uploaded.catch((err) => {
      uploadError = err;
      body.destroy(err);
    });
    let result: T;
    try {
      result = await produce(body);
      await uploaded;
    } catch (err) {
      await upload.abort().catch(() => undefined);
      body.destroy();
      // errors of the store name the bucket; others (the database's) pass as they are
      throw uploadError === undefined ? err : this.s3Error(uploadError, 'upload');
    }
    return { result, ref: `s3://${this.cfg.bucket}/${this.key(name)}` };
  }

  async list(strategy: string): Promise<BackupEntry[]> {
    const out: BackupEntry[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.cfg.bucket,
            Prefix: this.key(`sluice-${strategy}-`),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of r.Contents ?? []) {
          if (!o.Key) continue;
          const name = o.Key.slice(this.cfg.prefix.length);
          const createdAt = parseBackupFileName(strategy, name);
          if (createdAt) {
            out.push({ name, ref: `s3://${this.cfg.bucket}/${o.Key}`, size: o.Size ?? 0, createdAt });
          }
        }
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.s3Error(err, 'list');
    }
    return newestFirst(out);
  }

  async remove(entry: BackupEntry): Promise<void> {
    await this.client
      .send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.key(entry.name) }))
      .catch((err) => {
        throw this.s3Error(err, 'delete');
      });
  }

  async source(name: string): Promise<DumpSource> {
    const key = this.key(name);
    const ref = `s3://${this.cfg.bucket}/${key}`;
    const head = await this.client
      .send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key }))
      .catch((err) => {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) {
          throw new SluiceError('usage', `${ref} does not exist`, {
            hint: '`sluice db backups` lists the backups of every strategy',
            exitCode: 2,
          });
        }
        throw this.s3Error(err, 'read');
      });
    return {
      name: ref,
      size: head.ContentLength,
      open: async () => {
        const r = await this.client
          .send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key }))
          .catch((err) => {
            throw this.s3Error(err, 'read');
          });
        return r.Body as Readable;
      },
    };
  }

  private s3Error(err: unknown, what: string): Error {
    if (err instanceof SluiceError) return err;
    return new SluiceError(
      'db_backup.location',
      `cannot ${what} database backups in ${this.describe}: ${(err as Error).name}: ${(err as Error).message}`,
      {
        hint: 'check the bucket, endpoint, region and credentials of the strategy (`sluice config check`), and that the store is reachable',
        cause: err,
      },
    );
  }
}

export function openLocation(strategy: DbBackupStrategy): BackupLocation {
  const { dir, s3 } = strategy.location;
  if (s3) return new S3Location(s3);
  return new DirLocation(dir!);
}

/** `--output FILE`: the directory of FILE as a location, and FILE's name. */
export function outputLocation(file: string): { location: DirLocation; name: string } {
  return { location: new DirLocation(dirname(file)), name: basename(file) };
}
