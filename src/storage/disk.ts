/**
 * Facts about the filesystem under a folder (a watch folder, a backup target): is it mounted, how
 * much space is free.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isMountPoint as mountRoot } from '../storage/mount.ts';
import { offlineError } from './offline.ts';

/**
 * True when `dir` is the root of a mounted filesystem (storage/mount.ts); a folder that cannot be
 * read is `intake.offline`.
 */
export async function isMountPoint(dir: string): Promise<boolean> {
  try {
    return await mountRoot(dir);
  } catch (err) {
    throw offlineError(path.resolve(dir), err as NodeJS.ErrnoException, err);
  }
}

/** Free and total bytes on the filesystem holding `dir` (free = available to unprivileged users). */
export async function freeSpace(dir: string): Promise<{ freeBytes: number; totalBytes: number }> {
  try {
    const s = await fsp.statfs(path.resolve(dir));
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch (err) {
    throw offlineError(path.resolve(dir), err as NodeJS.ErrnoException, err);
  }
}
