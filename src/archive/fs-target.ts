/**
 * The filesystem archive target (a long-term-storage mount): the checks before each write
 * (`require_mount`; at least `min_free_share` of the filesystem free after the write, the pure
 * `freeShareAfter`), the write (to `<key>.partial`, fsync, rename to the key, fsync of the folder:
 * a tar at its final name is always whole) and the read-back stream.
 *
 * Crash points: killed mid-write → a `.partial` stays, which the next attempt truncates and writes
 * again (the archive is still `writing`; nothing of it counts). Killed after the rename but before
 * the database recorded the write → the next attempt writes it again over the same key (the key
 * holds the archive's id, no other archive uses it).
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FsArchiveTarget } from '../core/config/schema/archive.ts';
import { SluiceError } from '../core/errors.ts';
import { freeSpace, isMountPoint } from '../storage/disk.ts';
import { fsyncDir } from '../storage/fsutil.ts';

/** Pure: the share of the filesystem that stays free after writing `bytes`. */
export function freeShareAfter(s: { freeBytes: number; totalBytes: number }, bytes: number): number {
  return s.totalBytes > 0 ? (s.freeBytes - bytes) / s.totalBytes : 0;
}

/** Refuses a write that the target's checks forbid (retried later: the mount may come back). */
export async function checkFsTarget(t: FsArchiveTarget, bytes: number): Promise<void> {
  if (t.require_mount && !(await isMountPoint(t.path))) {
    throw new SluiceError('archive.not_mounted', `archive target ${t.name}: ${t.path} is not a mount point`, {
      hint: 'mount the long-term storage there (require_mount is set); the archive is tried again',
    });
  }
  const s = await freeSpace(t.path);
  const after = freeShareAfter(s, bytes);
  if (after < t.min_free_share) {
    throw new SluiceError(
      'archive.target_full',
      `archive target ${t.name}: writing ${bytes} bytes would leave ${(after * 100).toFixed(1)} % of ${t.path} free; min_free_share is ${(t.min_free_share * 100).toFixed(0)} %`,
      { hint: 'free space on the long-term storage (or lower min_free_share); the archive is tried again' },
    );
  }
}

/** The full path of `key` on the target. */
export function fsLocation(t: FsArchiveTarget, key: string): string {
  return path.join(t.path, key);
}

/**
 * Writes the tar produced by `produce` (which pushes chunks into the sink it is given) to `key`,
 * whole or not at all (see the module comment). Returns what `produce` returned.
 */
export async function writeFsArchive<T>(
  t: FsArchiveTarget,
  key: string,
  produce: (sink: (chunk: Buffer) => Promise<void>) => Promise<T>,
): Promise<T> {
  const final = fsLocation(t, key);
  const partial = `${final}.partial`;
  await mkdir(path.dirname(final), { recursive: true });
  const fh = await open(partial, 'w');
  let result: T;
  try {
    result = await produce(async (chunk) => {
      let at = 0;
      while (at < chunk.length) at += (await fh.write(chunk, at, chunk.length - at)).bytesWritten;
    });
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(partial, { force: true });
    throw err;
  }
  await fh.close();
  await rename(partial, final);
  await fsyncDir(path.dirname(final));
  return result;
}

/** The archive's bytes as stored, in order. */
export function readFsArchive(t: FsArchiveTarget, key: string, signal?: AbortSignal): AsyncIterable<Buffer> {
  return createReadStream(fsLocation(t, key), { highWaterMark: 1024 * 1024, signal });
}

/** Removes a written archive (one that did not verify, before it is written again). */
export async function removeFsArchive(t: FsArchiveTarget, key: string): Promise<void> {
  await rm(fsLocation(t, key), { force: true });
  await rm(`${fsLocation(t, key)}.partial`, { force: true });
}
